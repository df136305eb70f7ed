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

use std::io::Read;

use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};

use crate::StorageError;

/// Most records in one chunk: a reader decompresses a whole chunk to read one record, so a burst
/// of thousands of records in one transaction is split (a 256-record chunk is ~256 KB of JSON).
pub(crate) const MAX_RECORDS: usize = 256;

/// Encodes chunks: the records' JSON joined by `\n`, deflated (level 1: the gain is in fewer
/// pages; stronger levels cost CPU on the commit path for a few bytes more). The writer thread
/// keeps one: setting up a compressor (its window and hash tables) cost as much as compressing a
/// dozen records (perf: 8% of the writer thread), so it is reset between chunks, not rebuilt.
pub(crate) struct ChunkEncoder {
    deflate: Compress,
    joined: Vec<u8>,
}

impl ChunkEncoder {
    pub(crate) fn new() -> ChunkEncoder {
        ChunkEncoder { deflate: Compress::new(Compression::fast(), false), joined: Vec::with_capacity(64 * 1024) }
    }

    /// The stored body of a chunk holding `records`, in order.
    pub(crate) fn encode<'a>(&mut self, records: impl IntoIterator<Item = &'a str>) -> Result<Vec<u8>, StorageError> {
        self.joined.clear();
        for (i, json) in records.into_iter().enumerate() {
            // Records are compact JSON, which escapes every newline inside a string; a raw one
            // would shift every later record of the chunk, so it is refused rather than stored.
            if json.as_bytes().contains(&b'\n') {
                return Err(StorageError::new("a record's JSON holds a raw newline; not stored"));
            }
            if i > 0 {
                self.joined.push(b'\n');
            }
            self.joined.extend_from_slice(json.as_bytes());
        }
        self.deflate.reset();
        let mut out = Vec::with_capacity(self.joined.len() / 4 + 64);
        loop {
            let consumed = self.deflate.total_in() as usize;
            let status = self
                .deflate
                .compress_vec(&self.joined[consumed..], &mut out, FlushCompress::Finish)
                .map_err(|e| StorageError::new(format!("cannot compress records: {e}")))?;
            if status == Status::StreamEnd {
                break;
            }
            out.reserve(out.capacity().max(1024));
        }
        // A big burst leaves a big buffer: don't keep more than a usual chunk's worth.
        if self.joined.capacity() > 1 << 20 {
            self.joined = Vec::with_capacity(64 * 1024);
        }
        Ok(out)
    }
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
        let mut encoder = ChunkEncoder::new();
        // The same encoder, reset between chunks, gives each chunk back whole.
        for n in 1..=records.len() {
            let chunk = Chunk::decode(&encoder.encode(records[..n].iter().copied()).unwrap()).unwrap();
            for (pos, json) in records[..n].iter().enumerate() {
                assert_eq!(chunk.record(pos), Some(*json));
            }
            assert_eq!(chunk.record(n), None);
        }
        // Incompressible input larger than the first output buffer still comes back whole.
        let noise: String = (0..100_000u32).map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) >> 25) as u8 % 90)).collect();
        let chunk = Chunk::decode(&encoder.encode([noise.as_str(), "{}"]).unwrap()).unwrap();
        assert_eq!(chunk.record(0), Some(noise.as_str()));
        assert_eq!(chunk.record(1), Some("{}"));
    }

    #[test]
    fn alike_records_shrink_and_raw_newlines_are_refused() {
        let record = r#"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"eventSource":"kms.amazonaws.com","eventName":"Encrypt","resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#;
        let mut encoder = ChunkEncoder::new();
        let body = encoder.encode(std::iter::repeat_n(record, 12)).unwrap();
        assert!(body.len() < record.len() * 2, "12 alike records took {} bytes", body.len());
        assert!(encoder.encode(["{\"a\":\"raw\nnewline\"}"]).is_err());
        assert!(Chunk::decode(b"not deflate at all").is_err());
    }
}
