//! HMAC keys (`HMAC_224` … `HMAC_512`): GenerateMac and VerifyMac.
//!
//! The key is raw bytes of the spec's length (HMAC_256: 32 bytes; AWS: "the key length is the
//! same as the digest length"). ring computes HMAC-SHA256/384/512; SHA-224, which ring lacks,
//! goes through RustCrypto's `hmac` + `sha2`. Comparison is in constant time either way.

use hmac::{KeyInit, Mac};

use super::asymmetric::internal;
use crate::KmsError;

/// The key length in bytes of an `HMAC_<bits>` key.
pub(crate) fn key_len(bits: usize) -> usize {
    bits / 8
}

fn ring_algorithm(algorithm: &str) -> Option<ring::hmac::Algorithm> {
    match algorithm {
        "HMAC_SHA_256" => Some(ring::hmac::HMAC_SHA256),
        "HMAC_SHA_384" => Some(ring::hmac::HMAC_SHA384),
        "HMAC_SHA_512" => Some(ring::hmac::HMAC_SHA512),
        _ => None,
    }
}

/// The MAC of `message` under `key` with `algorithm` (one of the key spec's).
pub(crate) fn generate(algorithm: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, KmsError> {
    match ring_algorithm(algorithm) {
        Some(alg) => Ok(ring::hmac::sign(&ring::hmac::Key::new(alg, key), message).as_ref().to_vec()),
        None if algorithm == "HMAC_SHA_224" => {
            let mut mac = hmac::Hmac::<sha2::Sha224>::new_from_slice(key).map_err(|_| internal("HMAC key"))?;
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
        None => Err(internal("unknown MAC algorithm")),
    }
}

/// Whether `tag` is the MAC of `message` (compared in constant time).
pub(crate) fn verify(algorithm: &str, key: &[u8], message: &[u8], tag: &[u8]) -> Result<bool, KmsError> {
    match ring_algorithm(algorithm) {
        Some(alg) => Ok(ring::hmac::verify(&ring::hmac::Key::new(alg, key), message, tag).is_ok()),
        None if algorithm == "HMAC_SHA_224" => {
            let mut mac = hmac::Hmac::<sha2::Sha224>::new_from_slice(key).map_err(|_| internal("HMAC key"))?;
            mac.update(message);
            Ok(mac.verify_slice(tag).is_ok())
        }
        None => Err(internal("unknown MAC algorithm")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let (key, data) = (b"Jefe", b"what do ya want for nothing?");
        let expect = [
            ("HMAC_SHA_224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
            ("HMAC_SHA_256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ];
        for (alg, hex_mac) in expect {
            let mac = super::generate(alg, key, data).unwrap();
            assert_eq!(hex::encode(&mac), hex_mac, "{alg}");
            assert!(super::verify(alg, key, data, &mac).unwrap());
            assert!(!super::verify(alg, key, b"other", &mac).unwrap());
        }
    }
}
