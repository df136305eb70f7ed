//! How records are stored (format 3): the records one transaction writes go into one row of
//! `event_chunks`, their JSON one per line, deflated together; each record's row in `events` keeps
//! only the columns queries filter on and where its JSON is (`chunk`, `pos`).
//!
//! Why: each commit rewrites whole 4 KB pages in the WAL (and later in the database) for every
//! B-tree it touches, and every page costs two `pwrite`s and its share of the fsync. With a
//! record's ~1 KB of JSON inline and three indexes beside it, a group of ~12 records wrote ~18
//! pages and the writer thread was a third of the server's CPU under `--data-dir` (BENCHMARKS.md).
//! Records of one group are alike (same key, caller, region), so deflate shrinks them several
//! times over, and the group fits in a page or two.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::StorageError;

/// Most records in one chunk: a reader decompresses a whole chunk to read one record, so a burst
/// of thousands of records in one transaction is split (a 256-record chunk is ~256 KB of JSON).
pub(crate) const MAX_RECORDS: usize = 256;

/// A chunk's stored body: the records' JSON joined by `\n`, deflated (level 1: the gain is in
/// fewer pages; stronger levels cost CPU on the commit path for a few bytes more).
pub(crate) fn encode<'a>(records: impl IntoIterator<Item = &'a str>) -> Result<Vec<u8>, StorageError> {
    let mut out = DeflateEncoder::new(Vec::with_capacity(2048), Compression::fast());
    for (i, json) in records.into_iter().enumerate() {
        // Records are compact JSON, which escapes every newline inside a string; a raw one would
        // shift every later record of the chunk, so it is refused rather than stored.
        if json.as_bytes().contains(&b'\n') {
            return Err(StorageError::new("a record's JSON holds a raw newline; not stored"));
        }
        if i > 0 {
            out.write_all(b"\n").map_err(deflate_error)?;
        }
        out.write_all(json.as_bytes()).map_err(deflate_error)?;
    }
    out.finish().map_err(deflate_error)
}

fn deflate_error(e: std::io::Error) -> StorageError {
    StorageError::new(format!("cannot compress records: {e}"))
}

/// A chunk read back: its text and where each record starts.
pub(crate) struct Chunk {
    text: String,
    starts: Vec<usize>,
}

impl Chunk {
    /// Inflates a stored body.
    pub(crate) fn decode(body: &[u8]) -> Result<Chunk, StorageError> {
        let mut text = String::with_capacity(body.len() * 6);
        DeflateDecoder::new(body)
            .read_to_string(&mut text)
            .map_err(|e| StorageError::new(format!("a stored chunk does not inflate: {e}")))?;
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Ok(Chunk { text, starts })
    }

    /// The JSON of the record at `pos` (0-based), if the chunk has one there.
    pub(crate) fn record(&self, pos: usize) -> Option<&str> {
        let start = *self.starts.get(pos)?;
        let end = self.starts.get(pos + 1).map_or(self.text.len(), |next| next - 1);
        Some(&self.text[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_exactly_and_by_position() {
        let records = [r#"{"eventName":"Encrypt","n":1}"#, r#"{"msg":"two\nlines escaped"}"#, "{}"];
        let body = encode(records).unwrap();
        let chunk = Chunk::decode(&body).unwrap();
        for (pos, json) in records.iter().enumerate() {
            assert_eq!(chunk.record(pos), Some(*json));
        }
        assert_eq!(chunk.record(3), None);
    }

    #[test]
    fn alike_records_shrink_and_raw_newlines_are_refused() {
        let record = r#"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"eventSource":"kms.amazonaws.com","eventName":"Encrypt","resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#;
        let body = encode(std::iter::repeat_n(record, 12)).unwrap();
        assert!(body.len() < record.len() * 2, "12 alike records took {} bytes", body.len());
        assert!(encode(["{\"a\":\"raw\nnewline\"}"]).is_err());
        assert!(Chunk::decode(b"not deflate at all").is_err());
    }
}
