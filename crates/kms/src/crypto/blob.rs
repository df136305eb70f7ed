//! The ciphertext blob: self-describing, so Decrypt needs no KeyId.
//!
//! Format, version 1 (all integers big-endian):
//!
//! | bytes      | field                                                        |
//! |------------|--------------------------------------------------------------|
//! | 2          | magic `KT`                                                   |
//! | 1          | format version, `0x01`                                       |
//! | 1          | length L of the key id (1..=64)                              |
//! | L          | key id, ASCII (UUID or `mrk-…`)                              |
//! | 12         | owning account id, ASCII digits                              |
//! | 1          | length R of the region (1..=32)                              |
//! | R          | region, ASCII                                                |
//! | 4          | key material version (index into the key's materials)        |
//! | 12         | AES-GCM nonce, random per encryption                         |
//! | rest (≥16) | AES-256-GCM ciphertext followed by its 16-byte tag           |
//!
//! Everything before the nonce is the header. The authenticated data is
//! `header ‖ canonical_encryption_context(ctx)`, so changing any header byte (another key or
//! version) or the encryption context makes decryption fail; so does any change to the body.
//! A blob that does not parse, or names a key or version that does not exist, is
//! `InvalidCiphertextException` — never a panic.

use crate::KmsError;

const MAGIC: &[u8; 2] = b"KT";
const VERSION: u8 = 1;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// Which key and which material version a ciphertext was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobHeader {
    /// Key id.
    pub key_id: String,
    /// Owning account.
    pub account: String,
    /// Key region.
    pub region: String,
    /// Material version.
    pub material_version: u32,
}

impl BlobHeader {
    /// The header bytes (also the first part of the authenticated data).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.key_id.len() + 12 + 1 + self.region.len() + 4);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(self.account.as_bytes());
        out.push(self.region.len() as u8);
        out.extend_from_slice(self.region.as_bytes());
        out.extend_from_slice(&self.material_version.to_be_bytes());
        out
    }

    /// The key ARN the blob names.
    pub fn key_arn(&self) -> String {
        crate::key::key_arn(&self.region, &self.account, &self.key_id)
    }
}

/// A parsed ciphertext blob, borrowing the input.
#[derive(Debug)]
pub struct CiphertextBlob<'a> {
    /// The header.
    pub header: BlobHeader,
    /// The header's encoded bytes.
    pub header_bytes: &'a [u8],
    /// The nonce.
    pub nonce: &'a [u8],
    /// Ciphertext and tag.
    pub sealed: &'a [u8],
}

impl<'a> CiphertextBlob<'a> {
    /// Parses a blob; any malformation is `InvalidCiphertextException`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, KmsError> {
        let bad = KmsError::invalid_ciphertext;
        let mut r = Reader { bytes, pos: 0 };
        if r.take(2)? != MAGIC || r.take(1)?[0] != VERSION {
            return Err(bad());
        }
        let id_len = r.take(1)?[0] as usize;
        if id_len == 0 || id_len > 64 {
            return Err(bad());
        }
        let key_id = ascii(r.take(id_len)?, |b| b.is_ascii_alphanumeric() || b == b'-')?;
        let account = ascii(r.take(12)?, |b| b.is_ascii_digit())?;
        let region_len = r.take(1)?[0] as usize;
        if region_len == 0 || region_len > 32 {
            return Err(bad());
        }
        let region = ascii(r.take(region_len)?, |b| b.is_ascii_alphanumeric() || b == b'-')?;
        let v = r.take(4)?;
        let material_version = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        let header_end = r.pos;
        let nonce = r.take(NONCE_LEN)?;
        let sealed = &bytes[r.pos..];
        if sealed.len() < TAG_LEN {
            return Err(bad());
        }
        Ok(CiphertextBlob {
            header: BlobHeader { key_id, account, region, material_version },
            header_bytes: &bytes[..header_end],
            nonce,
            sealed,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KmsError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(KmsError::invalid_ciphertext)?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

fn ascii(bytes: &[u8], ok: impl Fn(u8) -> bool) -> Result<String, KmsError> {
    if bytes.iter().all(|&b| ok(b)) {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    } else {
        Err(KmsError::invalid_ciphertext())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BlobHeader {
        BlobHeader {
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            material_version: 3,
        }
    }

    #[test]
    fn round_trips_and_rejects_every_truncation() {
        let mut blob = header().encode();
        blob.extend_from_slice(&[7u8; NONCE_LEN]);
        blob.extend_from_slice(&[9u8; TAG_LEN + 5]);
        let parsed = CiphertextBlob::parse(&blob).unwrap();
        assert_eq!(parsed.header, header());
        assert_eq!(parsed.sealed.len(), TAG_LEN + 5);
        let min = blob.len() - 5;
        for cut in 0..min {
            assert!(CiphertextBlob::parse(&blob[..cut]).is_err(), "truncated to {cut} parsed");
        }
    }

    #[test]
    fn rejects_foreign_blobs() {
        assert!(CiphertextBlob::parse(b"").is_err());
        assert!(CiphertextBlob::parse(&[0x01, 0x02, 0x02, 0x00, 0x78]).is_err());
        let mut blob = header().encode();
        blob[4] = b'/';
        blob.extend_from_slice(&[0u8; 40]);
        assert!(CiphertextBlob::parse(&blob).is_err());
    }
}
