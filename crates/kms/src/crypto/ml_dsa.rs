//! ML-DSA keys (`ML_DSA_44`, `ML_DSA_65`, `ML_DSA_87`, FIPS 204) with `ML_DSA_SHAKE_256`, through
//! the RustCrypto `ml-dsa` crate (ring has no ML-DSA).
//!
//! AWS (botocore `SignRequest.MessageType`, KMS Developer Guide "ML-DSA key specs"): RAW messages
//! are signed with pure ML-DSA and an empty context string; EXTERNAL_MU takes the 64-byte μ of
//! FIPS 204 §6.2 (KMS skips "the concatenated hashing of the public key hash and the message");
//! DIGEST is refused for ML-DSA (checked in `ops/sign.rs`). Signing is hedged (randomized), as
//! FIPS 204 recommends. The private key is PKCS#8 in the seed form (`[0] IMPLICIT OCTET STRING`
//! of the 32-byte ξ, draft-ietf-lamps-dilithium-certificates), the form the crate reads and writes.

use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use super::asymmetric::{internal, invalid_key_material, MessageType};
use super::spec::MlDsaLevel;
use crate::KmsError;

/// A parsed ML-DSA key: the expanded signing key and its verifying key.
pub(crate) enum MlDsaKey {
    /// ML-DSA-44.
    L44(Box<(ml_dsa::ExpandedSigningKey<ml_dsa::MlDsa44>, ml_dsa::VerifyingKey<ml_dsa::MlDsa44>)>),
    /// ML-DSA-65.
    L65(Box<(ml_dsa::ExpandedSigningKey<ml_dsa::MlDsa65>, ml_dsa::VerifyingKey<ml_dsa::MlDsa65>)>),
    /// ML-DSA-87.
    L87(Box<(ml_dsa::ExpandedSigningKey<ml_dsa::MlDsa87>, ml_dsa::VerifyingKey<ml_dsa::MlDsa87>)>),
}

macro_rules! each_level {
    ($key:expr, |$pair:ident, $params:ident| $body:expr) => {
        match $key {
            MlDsaKey::L44($pair) => {
                #[allow(dead_code)]
                type $params = ml_dsa::MlDsa44;
                $body
            }
            MlDsaKey::L65($pair) => {
                #[allow(dead_code)]
                type $params = ml_dsa::MlDsa65;
                $body
            }
            MlDsaKey::L87($pair) => {
                #[allow(dead_code)]
                type $params = ml_dsa::MlDsa87;
                $body
            }
        }
    };
}

/// A new key as PKCS#8 DER (seed form), from a 32-byte seed drawn from the OS generator.
pub(crate) fn generate(level: MlDsaLevel) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let seed_bytes = Zeroizing::new(super::random_bytes(32));
    let seed = ml_dsa::Seed::try_from(&seed_bytes[..]).map_err(|_| internal("ML-DSA seed"))?;
    let der = match level {
        MlDsaLevel::L44 => ml_dsa::SigningKey::<ml_dsa::MlDsa44>::from_seed(&seed).to_pkcs8_der(),
        MlDsaLevel::L65 => ml_dsa::SigningKey::<ml_dsa::MlDsa65>::from_seed(&seed).to_pkcs8_der(),
        MlDsaLevel::L87 => ml_dsa::SigningKey::<ml_dsa::MlDsa87>::from_seed(&seed).to_pkcs8_der(),
    };
    der.map(|d| Zeroizing::new(d.as_bytes().to_vec())).map_err(|_| internal("ML-DSA key encoding failed."))
}

impl MlDsaKey {
    /// Parses PKCS#8 DER of a key at `level` (the algorithm OID must match).
    pub(crate) fn from_pkcs8(der: &[u8], level: MlDsaLevel) -> Result<MlDsaKey, KmsError> {
        macro_rules! parse {
            ($params:ty, $variant:ident) => {{
                let key = ml_dsa::SigningKey::<$params>::from_pkcs8_der(der).map_err(|_| invalid_key_material())?;
                let expanded = ml_dsa::ExpandedSigningKey::<$params>::from_seed(&key.to_seed());
                let verifying = expanded.verifying_key();
                MlDsaKey::$variant(Box::new((expanded, verifying)))
            }};
        }
        Ok(match level {
            MlDsaLevel::L44 => parse!(ml_dsa::MlDsa44, L44),
            MlDsaLevel::L65 => parse!(ml_dsa::MlDsa65, L65),
            MlDsaLevel::L87 => parse!(ml_dsa::MlDsa87, L87),
        })
    }

    /// SubjectPublicKeyInfo DER (id-ml-dsa-* OID, the raw encoded public key).
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        each_level!(self, |pair, P| pair.1.to_public_key_der().map(|d| d.as_bytes().to_vec()))
            .map_err(|_| internal("ML-DSA public key encoding failed."))
    }

    /// Signs a RAW message (empty context) or an EXTERNAL_MU μ (64 bytes, checked by the caller).
    pub(crate) fn sign(&self, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        let failed = |_| internal("ML-DSA signing failed.");
        each_level!(self, |pair, P| {
            let sig: ml_dsa::Signature<P> = match message_type {
                MessageType::ExternalMu => {
                    let mu = message.try_into().map_err(|_| internal("ML-DSA mu length"))?;
                    pair.0.sign_mu_randomized(mu, &mut getrandom::SysRng).map_err(failed)?
                }
                _ => pair.0.sign_randomized(message, &[], &mut getrandom::SysRng).map_err(failed)?,
            };
            Ok(sig.encode().to_vec())
        })
    }

    /// Whether `signature` is valid for the RAW message or the EXTERNAL_MU μ.
    pub(crate) fn verify(&self, message_type: MessageType, message: &[u8], signature: &[u8]) -> bool {
        each_level!(self, |pair, P| {
            let Ok(sig) = ml_dsa::Signature::<P>::try_from(signature) else { return false };
            match message_type {
                MessageType::ExternalMu => match message.try_into() {
                    Ok(mu) => pair.1.verify_mu(mu, &sig),
                    Err(_) => false,
                },
                _ => pair.1.verify_with_context(message, &[], &sig),
            }
        })
    }
}
