//! Ed25519 keys (`ECC_NIST_EDWARDS25519`): `ED25519_SHA_512` (pure Ed25519, RFC 8032) over RAW
//! messages and `ED25519_PH_SHA_512` (Ed25519ph, empty context) over DIGEST messages.
//!
//! AWS (botocore `SignRequest.MessageType`): ED25519_PH_SHA_512 "requires MessageType:DIGEST",
//! and KMS "still performs the SHA-512 prehash described in Step 1 of Section 7.8.1 in FIPS
//! 186-5": the 64-byte digest sent is the Ed25519ph message, hashed once more. ring signs pure
//! Ed25519; ed25519-dalek does Ed25519ph (ring has none) and verification.

use ed25519_dalek::{Signature, SigningKey};
use pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha512};
use signature::{Signer, Verifier};
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use super::asymmetric::{internal, invalid_key_material, MessageType};
use crate::KmsError;

/// A parsed Ed25519 private key.
pub(crate) struct Ed25519Key {
    key: SigningKey,
    ring: Option<ring::signature::Ed25519KeyPair>,
}

/// The DER of a version-1 Ed25519 `PrivateKeyInfo` up to its 32-byte seed (RFC 8410 §7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
const PKCS8_V1_PREFIX: [u8; 16] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// A new key as PKCS#8 DER, version 1 (the seed only), which is what OpenSSL writes and what
/// OpenSSL 3.0 reads: ed25519-dalek's own encoding is version 2, which OpenSSL 3.0 refuses.
pub(crate) fn generate() -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let seed = Zeroizing::new(super::random_bytes(32));
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&PKCS8_V1_PREFIX);
    der.extend_from_slice(&seed);
    Ok(der)
}

impl Ed25519Key {
    /// Parses PKCS#8 DER (version 1 or 2).
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Ed25519Key, KmsError> {
        let key = SigningKey::from_pkcs8_der(der).map_err(|_| invalid_key_material())?;
        let ring = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok();
        Ok(Ed25519Key { key, ring })
    }

    /// SubjectPublicKeyInfo DER.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        self.key
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|_| internal("Ed25519 public key encoding failed."))
    }

    /// Signs: pure Ed25519 for RAW, Ed25519ph for DIGEST (the caller checked the pairing).
    pub(crate) fn sign(&self, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        match message_type {
            MessageType::Raw => match &self.ring {
                Some(k) => Ok(k.sign(message).as_ref().to_vec()),
                None => Ok(self.key.sign(message).to_bytes().to_vec()),
            },
            _ => {
                let sig =
                    self.key.sign_prehashed(Sha512::new_with_prefix(message), None).map_err(|_| internal("Ed25519ph signing failed."))?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    }

    /// Whether `signature` is valid (RAW: Ed25519, DIGEST: Ed25519ph).
    pub(crate) fn verify(&self, message_type: MessageType, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else { return false };
        let public = self.key.verifying_key();
        match message_type {
            MessageType::Raw => public.verify(message, &sig).is_ok(),
            _ => public.verify_prehashed(Sha512::new_with_prefix(message), None, &sig).is_ok(),
        }
    }
}
