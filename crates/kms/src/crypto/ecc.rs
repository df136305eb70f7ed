//! Elliptic-curve keys on the Weierstrass curves: ECDSA on NIST P-256, P-384, P-521 and
//! secp256k1, and ECDH (raw shared secret, as `DeriveSharedSecret` returns it) on the NIST curves.
//!
//! Signatures are DER-encoded (`Ecdsa-Sig-Value`), as AWS returns them. ring signs RAW messages on
//! P-256 and P-384; the RustCrypto curve crates do everything else (ring has no prehashed
//! signing, no P-521, no secp256k1 and no static-key ECDH).

use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use spki::{DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use super::asymmetric::{digest_for, internal, invalid_key_material, MessageType};
use super::spec::Curve;
use crate::KmsError;

/// A parsed EC private key.
pub(crate) enum EccKey {
    /// P-256, with ring's form for RAW signing.
    P256(p256::SecretKey, Option<ring::signature::EcdsaKeyPair>),
    /// P-384, with ring's form for RAW signing.
    P384(p384::SecretKey, Option<ring::signature::EcdsaKeyPair>),
    /// P-521.
    P521(p521::SecretKey),
    /// secp256k1.
    K256(k256::SecretKey),
}

/// A new key on `curve` as PKCS#8 DER: a uniformly random scalar below the group order
/// (rejection sampling from the OS generator).
pub(crate) fn generate(curve: Curve) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    macro_rules! random {
        ($krate:ident, $len:expr, $mask:expr) => {{
            loop {
                let mut bytes = Zeroizing::new(super::random_bytes($len));
                bytes[0] &= $mask;
                if let Ok(secret) = $krate::SecretKey::from_slice(&bytes) {
                    break secret.to_pkcs8_der().map(|d| Zeroizing::new(d.as_bytes().to_vec()));
                }
            }
        }};
    }
    let der = match curve {
        Curve::P256 => random!(p256, 32, 0xff),
        Curve::P384 => random!(p384, 48, 0xff),
        Curve::P521 => random!(p521, 66, 0x01),
        Curve::K256 => random!(k256, 32, 0xff),
    };
    der.map_err(|_| internal("EC key encoding failed."))
}

fn ring_pair(alg: &'static ring::signature::EcdsaSigningAlgorithm, der: &[u8]) -> Option<ring::signature::EcdsaKeyPair> {
    ring::signature::EcdsaKeyPair::from_pkcs8(alg, der, &ring::rand::SystemRandom::new()).ok()
}

/// Runs `$body` with `$secret` bound to the key's secret and `$krate` to its curve crate.
macro_rules! each_curve {
    ($key:expr, |$krate:ident, $secret:ident| $body:expr) => {
        match $key {
            EccKey::P256($secret, _) => {
                #[allow(unused_imports)]
                use p256 as $krate;
                $body
            }
            EccKey::P384($secret, _) => {
                #[allow(unused_imports)]
                use p384 as $krate;
                $body
            }
            EccKey::P521($secret) => {
                #[allow(unused_imports)]
                use p521 as $krate;
                $body
            }
            EccKey::K256($secret) => {
                #[allow(unused_imports)]
                use k256 as $krate;
                $body
            }
        }
    };
}

impl EccKey {
    /// Parses PKCS#8 DER of a key on `curve` (the curve OID must match).
    pub(crate) fn from_pkcs8(der: &[u8], curve: Curve) -> Result<EccKey, KmsError> {
        let bad = |_| invalid_key_material();
        Ok(match curve {
            Curve::P256 => EccKey::P256(
                p256::SecretKey::from_pkcs8_der(der).map_err(bad)?,
                ring_pair(&ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING, der),
            ),
            Curve::P384 => EccKey::P384(
                p384::SecretKey::from_pkcs8_der(der).map_err(bad)?,
                ring_pair(&ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING, der),
            ),
            Curve::P521 => EccKey::P521(p521::SecretKey::from_pkcs8_der(der).map_err(bad)?),
            Curve::K256 => EccKey::K256(k256::SecretKey::from_pkcs8_der(der).map_err(bad)?),
        })
    }

    /// SubjectPublicKeyInfo DER (uncompressed point, named curve), as AWS returns it.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        each_curve!(self, |c, secret| secret.public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()))
            .map_err(|_| internal("EC public key encoding failed."))
    }

    /// ECDSA over the message's hash (RAW) or the given digest (DIGEST), DER-encoded.
    pub(crate) fn sign(&self, algorithm: &str, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        if message_type == MessageType::Raw {
            let ring_key = match self {
                EccKey::P256(_, k) | EccKey::P384(_, k) => k.as_ref(),
                _ => None,
            };
            if let Some(k) = ring_key {
                let sig = k.sign(&ring::rand::SystemRandom::new(), message).map_err(|_| internal("ECDSA signing failed."))?;
                return Ok(sig.as_ref().to_vec());
            }
        }
        let digest = digest_for(algorithm, message_type, message)?;
        each_curve!(self, |c, secret| {
            let signer = c::ecdsa::SigningKey::from(secret);
            let sig: c::ecdsa::Signature = signer.sign_prehash(&digest).map_err(|_| internal("ECDSA signing failed."))?;
            Ok(sig.to_der().as_bytes().to_vec())
        })
    }

    /// Whether the DER `signature` is valid; one that does not parse is not.
    pub(crate) fn verify(&self, algorithm: &str, message_type: MessageType, message: &[u8], signature: &[u8]) -> Result<bool, KmsError> {
        let digest = digest_for(algorithm, message_type, message)?;
        Ok(each_curve!(self, |c, secret| {
            let verifier = c::ecdsa::VerifyingKey::from(secret.public_key());
            match c::ecdsa::Signature::from_der(signature) {
                Ok(sig) => verifier.verify_prehash(&digest, &sig).is_ok(),
                Err(_) => false,
            }
        }))
    }

    /// ECDH with the peer's SubjectPublicKeyInfo: the x-coordinate of the shared point (what
    /// `openssl pkeyutl -derive` prints). A peer key that does not parse or is on another curve
    /// is a `ValidationException`.
    pub(crate) fn derive(&self, peer_spki: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        each_curve!(self, |c, secret| {
            let peer = c::PublicKey::from_public_key_der(peer_spki).map_err(|_| bad_peer_key())?;
            let shared = c::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
            Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
        })
    }
}

/// AWS: the public key must be a DER SubjectPublicKeyInfo on the key's curve (botocore
/// `DeriveSharedSecretRequest.PublicKey`).
pub(crate) fn bad_peer_key() -> KmsError {
    KmsError::validation("The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo on the KMS key's curve.")
}
