//! How records are stored (formats 3 and 4): the records one transaction writes go into one row
//! of `event_chunks`, their JSON one per line, compressed together; each record's row in `events`
//! keeps only the columns queries filter on and where its JSON is (`chunk`, `pos`).
//!
//! Why: each commit rewrites whole 4 KB pages in the WAL (and later in the database) for every
//! B-tree it touches, and every page costs two `pwrite`s and its share of the fsync. With a
//! record's ~1 KB of JSON inline and three indexes beside it, a group of ~12 records wrote ~18
//! pages and the writer thread was a third of the server's CPU under `--data-dir` (BENCHMARKS.md).
//! Records of one group are alike (same key, caller, region), so they shrink several times over
//! and the group fits in a page or two.
//!
//! Format 3 deflated chunks; format 4 writes LZ4 blocks and still reads deflate (each chunk's
//! `codec` says which). Measured on groups of ten Encrypt records: LZ4 158 bytes a record in
//! 1.0 µs, deflate level 1 153 bytes in 3.8 µs. The sizes are alike because what repeats is
//! whole records, which LZ4 finds as well as deflate; deflate's entropy coding is what costs,
//! and it costs on the writer thread, which every call under `--data-dir` waits for.

use std::io::Read;

use flate2::read::DeflateDecoder;

use crate::StorageError;

/// Most records in one chunk: a reader decompresses a whole chunk to read one record, so a burst
/// of thousands of records in one transaction is split (a 256-record chunk is ~256 KB of JSON).
pub(crate) const MAX_RECORDS: usize = 256;

/// Largest text a stored chunk may claim to hold: an LZ4 body states its size up front, and a
/// damaged one must not make a reader allocate gigabytes. 256 records of 1 MiB each.
const MAX_TEXT: usize = MAX_RECORDS << 20;

/// How a chunk's body is compressed; stored beside it (`event_chunks.codec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Raw deflate, written by format 3 (the column's default, so format-3 rows read as this).
    Deflate = 0,
    /// An LZ4 block after its text's length (4 bytes, little-endian), written since format 4.
    Lz4 = 1,
}

impl Codec {
    /// The codec stored as `code`.
    pub(crate) fn from_code(code: i64) -> Result<Codec, StorageError> {
        match code {
            0 => Ok(Codec::Deflate),
            1 => Ok(Codec::Lz4),
            _ => Err(StorageError::new(format!("a stored chunk has an unknown codec ({code})"))),
        }
    }
}

/// Encodes chunks: the records' JSON joined by `\n`, as an LZ4 block. The writer thread keeps
/// one, so the joining buffer is reused from chunk to chunk.
pub(crate) struct ChunkEncoder {
    joined: Vec<u8>,
}

impl ChunkEncoder {
    /// The codec of every body this encoder makes.
    pub(crate) const CODEC: Codec = Codec::Lz4;

    pub(crate) fn new() -> ChunkEncoder {
        ChunkEncoder { joined: Vec::with_capacity(64 * 1024) }
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
        if self.joined.len() > MAX_TEXT {
            return Err(StorageError::new(format!("a chunk of {} bytes of records is too large to store", self.joined.len())));
        }
        let body = lz4_flex::block::compress_prepend_size(&self.joined);
        // A big burst leaves a big buffer: don't keep more than a usual chunk's worth.
        if self.joined.capacity() > 1 << 20 {
            self.joined = Vec::with_capacity(64 * 1024);
        }
        Ok(body)
    }
}

/// A chunk read back: its text and where each record starts.
pub(crate) struct Chunk {
    text: String,
    starts: Vec<usize>,
}

impl Chunk {
    /// Decompresses a stored body.
    pub(crate) fn decode(body: &[u8], codec: Codec) -> Result<Chunk, StorageError> {
        let text = match codec {
            Codec::Deflate => {
                let mut text = String::with_capacity(body.len() * 6);
                DeflateDecoder::new(body)
                    .read_to_string(&mut text)
                    .map_err(|e| StorageError::new(format!("a stored chunk does not inflate: {e}")))?;
                text
            }
            Codec::Lz4 => {
                let size = body.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
                if size.is_none_or(|size| size > MAX_TEXT) {
                    return Err(StorageError::new("a stored chunk has no plausible size"));
                }
                let bytes = lz4_flex::block::decompress_size_prepended(body)
                    .map_err(|e| StorageError::new(format!("a stored chunk does not decompress: {e}")))?;
                String::from_utf8(bytes).map_err(|_| StorageError::new("a stored chunk is not UTF-8"))?
            }
        };
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
pub(crate) mod tests {
    use super::*;

    #[test]
    fn records_come_back_exactly_and_by_position() {
        let records = [r#"{"eventName":"Encrypt","n":1}"#, r#"{"msg":"two\nlines escaped"}"#, "{}"];
        let mut encoder = ChunkEncoder::new();
        // The same encoder, reset between chunks, gives each chunk back whole.
        for n in 1..=records.len() {
            let chunk = Chunk::decode(&encoder.encode(records[..n].iter().copied()).unwrap(), ChunkEncoder::CODEC).unwrap();
            for (pos, json) in records[..n].iter().enumerate() {
                assert_eq!(chunk.record(pos), Some(*json));
            }
            assert_eq!(chunk.record(n), None);
        }
        // Incompressible input larger than the first output buffer still comes back whole.
        let noise: String = (0..100_000u32).map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) >> 25) as u8 % 90)).collect();
        let chunk = Chunk::decode(&encoder.encode([noise.as_str(), "{}"]).unwrap(), ChunkEncoder::CODEC).unwrap();
        assert_eq!(chunk.record(0), Some(noise.as_str()));
        assert_eq!(chunk.record(1), Some("{}"));
        // A chunk format 3 deflated reads back the same.
        let chunk = Chunk::decode(&deflated(&records.join("\n")), Codec::Deflate).unwrap();
        for (pos, json) in records.iter().enumerate() {
            assert_eq!(chunk.record(pos), Some(*json));
        }
    }

    /// A chunk body as format 3 wrote it.
    pub(crate) fn deflated(text: &str) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn alike_records_shrink_and_raw_newlines_are_refused() {
        let record = r#"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"eventSource":"kms.amazonaws.com","eventName":"Encrypt","resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#;
        let mut encoder = ChunkEncoder::new();
        let body = encoder.encode(std::iter::repeat_n(record, 12)).unwrap();
        assert!(body.len() < record.len() * 2, "12 alike records took {} bytes", body.len());
        assert!(encoder.encode(["{\"a\":\"raw\nnewline\"}"]).is_err());
        assert!(Chunk::decode(b"not deflate at all", Codec::Deflate).is_err());
        // Damaged LZ4 bodies are refused, not trusted: a size claiming gigabytes, a truncated
        // block, no size at all.
        let mut huge = body.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Chunk::decode(&huge, Codec::Lz4).is_err());
        assert!(Chunk::decode(&body[..body.len() / 2], Codec::Lz4).is_err());
        assert!(Chunk::decode(&body[..3], Codec::Lz4).is_err());
        assert_eq!(Codec::from_code(ChunkEncoder::CODEC as i64).ok(), Some(ChunkEncoder::CODEC));
        assert!(Codec::from_code(7).is_err());
    }
}
