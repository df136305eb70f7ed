//! RSA keys (`RSA_2048`, `RSA_3072`, `RSA_4096`): RSASSA-PKCS1-v1_5 and RSASSA-PSS signatures,
//! RSAES-OAEP encryption.
//!
//! ring signs RAW messages (constant-time, and several times faster than the bigint crate); the
//! RustCrypto `rsa` crate generates keys, signs DIGEST messages (ring has no prehashed API),
//! verifies, and does OAEP, which ring lacks.
//!
//! RUSTSEC-2023-0071 (the Marvin timing attack on `rsa`'s private-key operation): the advisory
//! was written against the 0.9 line's non-constant-time bigint code; 0.10 moved to `crypto-bigint`
//! with constant-time modular exponentiation, and keeps blinding on (the `SysRng` calls below).
//! It is acceptable here in any case: keytrail is a local test fixture, its RSA keys protect test
//! data, and the attack needs a remote attacker timing many decryptions of a real secret with a
//! precision a loopback test run does not offer anyone but the machine's own user.

use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::asymmetric::{internal, invalid_key_material, MessageType};
use crate::KmsError;

/// A parsed RSA private key, with ring's form of it when ring accepts the key.
pub(crate) struct RsaKey {
    key: PrivateKey,
    ring: Option<ring::signature::RsaKeyPair>,
}

/// A new key of `bits` as PKCS#8 DER. Seconds in a debug build for 4096 bits: callers run it off
/// the request runtime (see `Operation::may_block`).
pub(crate) fn generate(bits: usize) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let key = PrivateKey::new(&mut getrandom::SysRng, bits).map_err(|_| internal("RSA key generation failed."))?;
    let der = key.to_pkcs8_der().map_err(|_| internal("RSA key encoding failed."))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

impl RsaKey {
    /// Parses PKCS#8 DER, checking the modulus is `bits` long.
    pub(crate) fn from_pkcs8(der: &[u8], bits: usize) -> Result<RsaKey, KmsError> {
        let key = PrivateKey::from_pkcs8_der(der).map_err(|_| invalid_key_material())?;
        if key.n().bit_width() as usize != bits {
            return Err(invalid_key_material());
        }
        let ring = ring::signature::RsaKeyPair::from_pkcs8(der).ok();
        Ok(RsaKey { key, ring })
    }

    /// SubjectPublicKeyInfo DER.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        let public: &PublicKey = self.key.as_ref();
        public.to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| internal("RSA public key encoding failed."))
    }

    /// The modulus length in bytes.
    pub(crate) fn size(&self) -> usize {
        self.key.size()
    }

    /// Signs `message` (or its digest) with one of the six RSASSA algorithms.
    pub(crate) fn sign(&self, algorithm: &str, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        if message_type == MessageType::Raw {
            if let Some(ring_key) = &self.ring {
                let encoding: &'static dyn ring::signature::RsaEncoding = match algorithm {
                    "RSASSA_PKCS1_V1_5_SHA_256" => &ring::signature::RSA_PKCS1_SHA256,
                    "RSASSA_PKCS1_V1_5_SHA_384" => &ring::signature::RSA_PKCS1_SHA384,
                    "RSASSA_PKCS1_V1_5_SHA_512" => &ring::signature::RSA_PKCS1_SHA512,
                    "RSASSA_PSS_SHA_256" => &ring::signature::RSA_PSS_SHA256,
                    "RSASSA_PSS_SHA_384" => &ring::signature::RSA_PSS_SHA384,
                    "RSASSA_PSS_SHA_512" => &ring::signature::RSA_PSS_SHA512,
                    _ => return Err(internal("unknown RSA signing algorithm")),
                };
                let mut signature = vec![0u8; ring_key.public().modulus_len()];
                ring_key
                    .sign(encoding, &ring::rand::SystemRandom::new(), message, &mut signature)
                    .map_err(|_| internal("RSA signing failed."))?;
                return Ok(signature);
            }
        }
        let digest = super::asymmetric::digest_for(algorithm, message_type, message)?;
        let k = &self.key;
        let signed = match algorithm {
            "RSASSA_PKCS1_V1_5_SHA_256" => k.pkcs1v15_sign_prehash::<Sha256>(&digest),
            "RSASSA_PKCS1_V1_5_SHA_384" => k.pkcs1v15_sign_prehash::<Sha384>(&digest),
            "RSASSA_PKCS1_V1_5_SHA_512" => k.pkcs1v15_sign_prehash::<Sha512>(&digest),
            "RSASSA_PSS_SHA_256" => k.pss_sign_prehash::<Sha256>(&digest),
            "RSASSA_PSS_SHA_384" => k.pss_sign_prehash::<Sha384>(&digest),
            "RSASSA_PSS_SHA_512" => k.pss_sign_prehash::<Sha512>(&digest),
            _ => return Err(internal("unknown RSA signing algorithm")),
        };
        signed.map_err(|_| internal("RSA signing failed."))
    }

    /// Whether `signature` is valid for `message` (or its digest). PSS signatures of any salt
    /// length verify, as OpenSSL's default (`-1`, auto) does.
    pub(crate) fn verify(&self, algorithm: &str, message_type: MessageType, message: &[u8], signature: &[u8]) -> Result<bool, KmsError> {
        let digest = super::asymmetric::digest_for(algorithm, message_type, message)?;
        let public: &PublicKey = self.key.as_ref();
        let ok = match algorithm {
            "RSASSA_PKCS1_V1_5_SHA_256" => public.pkcs1v15_verify_prehash::<Sha256>(&digest, signature),
            "RSASSA_PKCS1_V1_5_SHA_384" => public.pkcs1v15_verify_prehash::<Sha384>(&digest, signature),
            "RSASSA_PKCS1_V1_5_SHA_512" => public.pkcs1v15_verify_prehash::<Sha512>(&digest, signature),
            "RSASSA_PSS_SHA_256" => public.pss_verify_prehash::<Sha256>(&digest, signature),
            "RSASSA_PSS_SHA_384" => public.pss_verify_prehash::<Sha384>(&digest, signature),
            "RSASSA_PSS_SHA_512" => public.pss_verify_prehash::<Sha512>(&digest, signature),
            _ => return Err(internal("unknown RSA signing algorithm")),
        };
        Ok(ok.is_ok())
    }

    /// RSAES-OAEP with SHA-1 or SHA-256 (the same hash for MGF1, an empty label: what AWS and
    /// OpenSSL's `rsa_oaep_md` default to).
    pub(crate) fn encrypt(&self, algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        let public: &PublicKey = self.key.as_ref();
        let sealed = match algorithm {
            "RSAES_OAEP_SHA_1" => public.oaep_encrypt::<sha1::Sha1>(plaintext),
            "RSAES_OAEP_SHA_256" => public.oaep_encrypt::<Sha256>(plaintext),
            _ => return Err(internal("unknown RSA encryption algorithm")),
        };
        sealed.map_err(|_| internal("RSA encryption failed."))
    }

    /// Decrypts an OAEP ciphertext; anything that does not decrypt is `InvalidCiphertextException`.
    pub(crate) fn decrypt(&self, algorithm: &str, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let opened = match algorithm {
            "RSAES_OAEP_SHA_1" => self.key.oaep_decrypt::<sha1::Sha1>(ciphertext),
            "RSAES_OAEP_SHA_256" => self.key.oaep_decrypt::<Sha256>(ciphertext),
            _ => return Err(internal("unknown RSA encryption algorithm")),
        };
        opened.map(Zeroizing::new).map_err(|_| KmsError::invalid_ciphertext())
    }
}

/// The largest plaintext RSAES-OAEP takes under a key of `modulus_bytes` with `algorithm`:
/// k − 2·hLen − 2 (RFC 8017 §7.1.1), which is AWS's table (RSA_2048: 214 / 190 bytes).
pub(crate) fn max_plaintext(modulus_bytes: usize, algorithm: &str) -> usize {
    let h = if algorithm == "RSAES_OAEP_SHA_1" { 20 } else { 32 };
    modulus_bytes.saturating_sub(2 * h + 2)
}
