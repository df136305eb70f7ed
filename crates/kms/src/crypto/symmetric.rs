//! AES-256-GCM encryption under a key's material, producing and consuming ciphertext blobs.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};

use super::blob::{BlobHeader, CiphertextBlob, NONCE_LEN};
use super::context::{canonical_encryption_context, EncryptionContext};
use crate::KmsError;

/// `n` bytes from the system CSPRNG.
///
/// Drawn from a per-thread pool the OS fills 4 KiB at a time: a `getrandom` system call per
/// nonce was the last per-call system call keytrail added to an Encrypt (profile in
/// BENCHMARKS.md). Every byte still comes from the OS generator, is handed out once, and is
/// zeroed in the pool as it is taken.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    RANDOM_POOL.with(|pool| pool.borrow_mut().fill(&mut v));
    v
}

const RANDOM_POOL_BYTES: usize = 4096;

thread_local! {
    static RANDOM_POOL: std::cell::RefCell<RandomPool> = std::cell::RefCell::new(RandomPool {
        bytes: zeroize::Zeroizing::new(vec![0u8; RANDOM_POOL_BYTES]),
        taken: RANDOM_POOL_BYTES,
    });
}

struct RandomPool {
    bytes: zeroize::Zeroizing<Vec<u8>>,
    /// Bytes already handed out (zeroed); the pool is refilled when all are.
    taken: usize,
}

impl RandomPool {
    fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            if self.taken == self.bytes.len() {
                SystemRandom::new().fill(&mut self.bytes).expect("system random number generator failed");
                self.taken = 0;
            }
            let n = (out.len() - done).min(self.bytes.len() - self.taken);
            let source = &mut self.bytes[self.taken..self.taken + n];
            out[done..done + n].copy_from_slice(source);
            source.fill(0);
            self.taken += n;
            done += n;
        }
    }
}

fn aad(header_bytes: &[u8], ctx: &EncryptionContext) -> Vec<u8> {
    let context = canonical_encryption_context(ctx);
    let mut aad = Vec::with_capacity(header_bytes.len() + context.len());
    aad.extend_from_slice(header_bytes);
    aad.extend_from_slice(&context);
    aad
}

fn aes_key(secret: &[u8]) -> Result<LessSafeKey, KmsError> {
    UnboundKey::new(&AES_256_GCM, secret)
        .map(LessSafeKey::new)
        .map_err(|_| KmsError::new(crate::ErrorCode::KmsInternal, "The key material is unusable."))
}

/// Encrypts `plaintext` under `secret` (the material `header` names), binding `ctx`.
pub fn encrypt(header: &BlobHeader, secret: &[u8], plaintext: &[u8], ctx: &EncryptionContext) -> Result<Vec<u8>, KmsError> {
    let key = aes_key(secret)?;
    let header_bytes = header.encode();
    let nonce_bytes = random_bytes(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes).expect("nonce length is fixed");
    let aad = aad(&header_bytes, ctx);
    // The blob is built in one buffer of its final size: header, nonce, then the plaintext sealed
    // in place and the tag after it.
    let mut blob = Vec::with_capacity(header_bytes.len() + NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    blob.extend_from_slice(&header_bytes);
    blob.extend_from_slice(&nonce_bytes);
    let sealed_from = blob.len();
    blob.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut blob[sealed_from..])
        .map_err(|_| KmsError::new(crate::ErrorCode::KmsInternal, "Encryption failed."))?;
    blob.extend_from_slice(tag.as_ref());
    Ok(blob)
}

/// Decrypts a parsed blob with `secret`; a wrong key, context or damaged blob is
/// `InvalidCiphertextException`.
pub fn decrypt(blob: &CiphertextBlob<'_>, secret: &[u8], ctx: &EncryptionContext) -> Result<Vec<u8>, KmsError> {
    let key = aes_key(secret)?;
    let nonce = Nonce::try_assume_unique_for_key(blob.nonce).map_err(|_| KmsError::invalid_ciphertext())?;
    let mut buf = blob.sealed.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad(blob.header_bytes, ctx)), &mut buf).map_err(|_| KmsError::invalid_ciphertext())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_bytes_never_repeat_across_pool_refills() {
        let mut seen = std::collections::HashSet::new();
        // 12-byte nonces over three refills, plus odd sizes that straddle a refill.
        for i in 0..1100 {
            let n = if i % 100 == 99 { 4000 } else { 12 };
            let bytes = super::random_bytes(n);
            assert_eq!(bytes.len(), n);
            assert!(bytes.iter().any(|b| *b != 0), "zeroed pool bytes are never handed out");
            assert!(seen.insert(bytes), "no value handed out twice");
        }
    }
    use super::*;

    fn header(v: u32) -> BlobHeader {
        BlobHeader { key_id: "k".into(), account: "111122223333".into(), region: "us-east-1".into(), material_version: v }
    }

    #[test]
    fn binds_context_and_detects_tampering() {
        let secret = random_bytes(32);
        let ctx: EncryptionContext = [("ab".to_string(), "c".to_string())].into();
        let blob = encrypt(&header(0), &secret, b"hello", &ctx).unwrap();
        let parsed = CiphertextBlob::parse(&blob).unwrap();
        assert_eq!(decrypt(&parsed, &secret, &ctx).unwrap(), b"hello");
        let other: EncryptionContext = [("a".to_string(), "bc".to_string())].into();
        assert!(decrypt(&parsed, &secret, &other).is_err());
        assert!(decrypt(&parsed, &random_bytes(32), &ctx).is_err());
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            let ok = CiphertextBlob::parse(&t).and_then(|p| decrypt(&p, &secret, &ctx));
            assert!(ok.is_err(), "flipping byte {i} went unnoticed");
        }
    }
}
