//! Asymmetric key material, whatever its family: generating it (PKCS#8 DER), parsing it once,
//! and the operations on it. Each family's cryptography lives in its own file (`rsa.rs`,
//! `ecc.rs`, `ed25519.rs`, `ml_dsa.rs`, `sm2.rs`); this file dispatches on the key spec.
//!
//! Callers validate requests first (`ops/`: usage, algorithm, message type, sizes); the
//! functions here still answer an error, never panic, for anything they are given.

use std::sync::Arc;

use sha2::Digest;
use zeroize::Zeroizing;

use super::ecc::EccKey;
use super::ed25519::Ed25519Key;
use super::ml_dsa::MlDsaKey;
use super::rsa::RsaKey;
use super::sm2::Sm2Key;
use super::spec::{Family, SpecInfo};
use crate::{ErrorCode, KmsError};

/// `MessageType` of Sign and Verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// The message itself; the algorithm hashes it.
    Raw,
    /// A digest the caller computed.
    Digest,
    /// ML-DSA's 64-byte μ.
    ExternalMu,
}

impl MessageType {
    /// Parses the API name.
    pub fn parse(name: &str) -> Option<MessageType> {
        match name {
            "RAW" => Some(MessageType::Raw),
            "DIGEST" => Some(MessageType::Digest),
            "EXTERNAL_MU" => Some(MessageType::ExternalMu),
            _ => None,
        }
    }
}

/// A `KMSInternalException` for a failure that is keytrail's, not the caller's.
pub fn internal(what: &str) -> KmsError {
    KmsError::new(ErrorCode::KmsInternal, what.to_string())
}

/// Key material that does not parse as the key spec says (a damaged store or a bad seed).
pub fn invalid_key_material() -> KmsError {
    KmsError::new(ErrorCode::KmsInternal, "The key material does not match the key spec.")
}

/// The digest an RSA/ECDSA algorithm signs: the message's hash (RAW) or the message (DIGEST).
pub(crate) fn digest_for(algorithm: &str, message_type: MessageType, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    if message_type == MessageType::Digest {
        return Ok(Zeroizing::new(message.to_vec()));
    }
    let hashed = if algorithm.ends_with("SHA_256") {
        sha2::Sha256::digest(message).to_vec()
    } else if algorithm.ends_with("SHA_384") {
        sha2::Sha384::digest(message).to_vec()
    } else if algorithm.ends_with("SHA_512") {
        sha2::Sha512::digest(message).to_vec()
    } else {
        return Err(internal("no digest for this algorithm"));
    };
    Ok(Zeroizing::new(hashed))
}

/// New key material for an asymmetric `spec`: the private key as PKCS#8 DER.
pub fn generate(spec: &SpecInfo) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    match spec.family {
        Family::Rsa(bits) => super::rsa::generate(bits),
        Family::Ecc(curve) => super::ecc::generate(curve),
        Family::Ed25519 => super::ed25519::generate(),
        Family::MlDsa(level) => super::ml_dsa::generate(level),
        Family::Sm2 => super::sm2::generate(),
        Family::Symmetric | Family::Hmac(_) => Err(internal("not an asymmetric key spec")),
    }
}

/// A parsed private key of one of the asymmetric families.
pub struct PrivateKey {
    inner: Inner,
}

enum Inner {
    Rsa(RsaKey),
    Ecc(EccKey),
    Ed25519(Ed25519Key),
    MlDsa(MlDsaKey),
    Sm2(Sm2Key),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// Parses PKCS#8 DER as a key of `spec` (curve, modulus size and algorithm must match).
    pub fn from_pkcs8(spec: &SpecInfo, der: &[u8]) -> Result<PrivateKey, KmsError> {
        let inner = match spec.family {
            Family::Rsa(bits) => Inner::Rsa(RsaKey::from_pkcs8(der, bits)?),
            Family::Ecc(curve) => Inner::Ecc(EccKey::from_pkcs8(der, curve)?),
            Family::Ed25519 => Inner::Ed25519(Ed25519Key::from_pkcs8(der)?),
            Family::MlDsa(level) => Inner::MlDsa(MlDsaKey::from_pkcs8(der, level)?),
            Family::Sm2 => Inner::Sm2(Sm2Key::from_pkcs8(der)?),
            Family::Symmetric | Family::Hmac(_) => return Err(invalid_key_material()),
        };
        Ok(PrivateKey { inner })
    }

    /// The public key as DER SubjectPublicKeyInfo (what GetPublicKey returns).
    pub fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        match &self.inner {
            Inner::Rsa(k) => k.public_key_der(),
            Inner::Ecc(k) => k.public_key_der(),
            Inner::Ed25519(k) => k.public_key_der(),
            Inner::MlDsa(k) => k.public_key_der(),
            Inner::Sm2(k) => k.public_key_der(),
        }
    }

    /// Signs with `algorithm` (one the key spec offers) a message of `message_type`.
    pub fn sign(&self, algorithm: &str, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        match &self.inner {
            Inner::Rsa(k) => k.sign(algorithm, message_type, message),
            Inner::Ecc(k) => k.sign(algorithm, message_type, message),
            Inner::Ed25519(k) => k.sign(message_type, message),
            Inner::MlDsa(k) => k.sign(message_type, message),
            Inner::Sm2(k) => k.sign(message_type, message),
        }
    }

    /// Whether `signature` is valid; a signature that does not even parse is not.
    pub fn verify(&self, algorithm: &str, message_type: MessageType, message: &[u8], signature: &[u8]) -> Result<bool, KmsError> {
        match &self.inner {
            Inner::Rsa(k) => k.verify(algorithm, message_type, message, signature),
            Inner::Ecc(k) => k.verify(algorithm, message_type, message, signature),
            Inner::Ed25519(k) => Ok(k.verify(message_type, message, signature)),
            Inner::MlDsa(k) => Ok(k.verify(message_type, message, signature)),
            Inner::Sm2(k) => Ok(k.verify(message_type, message, signature)),
        }
    }

    /// The largest plaintext `algorithm` encrypts under this key (0: it does not encrypt).
    pub fn max_plaintext(&self, algorithm: &str) -> usize {
        match &self.inner {
            Inner::Rsa(k) => super::rsa::max_plaintext(k.size(), algorithm),
            Inner::Sm2(_) => super::sm2::MAX_PLAINTEXT,
            _ => 0,
        }
    }

    /// Encrypts with RSAES-OAEP or SM2PKE: the raw ciphertext, no keytrail header.
    pub fn encrypt(&self, algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        match &self.inner {
            Inner::Rsa(k) => k.encrypt(algorithm, plaintext),
            Inner::Sm2(k) => k.encrypt(plaintext),
            _ => Err(internal("this key does not encrypt")),
        }
    }

    /// Decrypts a raw RSAES-OAEP or SM2PKE ciphertext.
    pub fn decrypt(&self, algorithm: &str, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        match &self.inner {
            Inner::Rsa(k) => k.decrypt(algorithm, ciphertext),
            Inner::Sm2(k) => k.decrypt(ciphertext),
            _ => Err(internal("this key does not decrypt")),
        }
    }

    /// ECDH with a peer's DER SubjectPublicKeyInfo: the raw shared secret.
    pub fn derive_shared_secret(&self, peer_spki: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        match &self.inner {
            Inner::Ecc(k) => k.derive(peer_spki),
            Inner::Sm2(k) => k.derive(peer_spki),
            _ => Err(internal("this key does not agree keys")),
        }
    }
}

/// A parsed key, kept beside its material so a signing key is parsed once, not per call (an RSA
/// key's parse and checks cost more than the signature). Never serialized, never printed.
#[derive(Clone, Default)]
pub struct ParsedKeyCache(Arc<std::sync::OnceLock<Arc<PrivateKey>>>);

impl ParsedKeyCache {
    /// The parsed form of `der` as `spec`, parsing on first use.
    pub fn get(&self, spec: &SpecInfo, der: &[u8]) -> Result<Arc<PrivateKey>, KmsError> {
        if let Some(k) = self.0.get() {
            return Ok(Arc::clone(k));
        }
        let parsed = Arc::new(PrivateKey::from_pkcs8(spec, der)?);
        Ok(Arc::clone(self.0.get_or_init(|| parsed)))
    }
}

impl std::fmt::Debug for ParsedKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedKeyCache")
    }
}

/// A PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`) as DER, checked to be a key of
/// `spec` (config seeding). The error names what is wrong, never the key.
pub fn pkcs8_der_from_pem(spec: &SpecInfo, pem: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let (label, doc) = pkcs8::SecretDocument::from_pem(pem.trim()).map_err(|_| "is not a PEM document".to_string())?;
    if label != "PRIVATE KEY" {
        return Err(format!("is a PEM \"{label}\"; a PKCS#8 \"PRIVATE KEY\" is needed (openssl pkcs8 -topk8 -nocrypt converts one)"));
    }
    let der = Zeroizing::new(doc.as_bytes().to_vec());
    PrivateKey::from_pkcs8(spec, &der).map_err(|_| format!("is not a {} private key", spec.name))?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::spec::{spec, SPECS};

    /// Every asymmetric spec but the slow RSA sizes: generate, parse, sign and verify each
    /// algorithm and message type, encrypt/decrypt and derive where the spec offers them.
    #[test]
    fn every_family_round_trips() {
        for s in SPECS.iter().filter(|s| !matches!(s.family, Family::Symmetric | Family::Hmac(_) | Family::Rsa(3072 | 4096))) {
            let der = generate(s).unwrap();
            let key = PrivateKey::from_pkcs8(s, &der).unwrap();
            assert!(key.public_key_der().unwrap().len() > 32, "{}", s.name);
            for alg in s.signing {
                let mut types = vec![];
                match (s.family, *alg) {
                    (Family::MlDsa(_), _) => types.extend([(MessageType::Raw, 100), (MessageType::ExternalMu, 64)]),
                    (_, "ED25519_SHA_512") => types.push((MessageType::Raw, 100)),
                    (_, "ED25519_PH_SHA_512") => types.push((MessageType::Digest, 64)),
                    _ => types.extend([(MessageType::Raw, 100), (MessageType::Digest, crate::crypto::spec::digest_len(alg).unwrap())]),
                }
                for (mt, len) in types {
                    let msg = vec![7u8; len];
                    let sig = key.sign(alg, mt, &msg).unwrap();
                    assert!(key.verify(alg, mt, &msg, &sig).unwrap(), "{} {alg} {mt:?}", s.name);
                    assert!(!key.verify(alg, mt, &vec![8u8; len], &sig).unwrap(), "{} {alg} {mt:?}", s.name);
                    assert!(!key.verify(alg, mt, &msg, b"garbage").unwrap());
                }
            }
            for alg in s.encryption {
                let ct = key.encrypt(alg, b"secret").unwrap();
                assert_eq!(key.decrypt(alg, &ct).unwrap().as_slice(), b"secret");
                assert!(key.decrypt(alg, b"nonsense").is_err());
            }
            if !s.key_agreement.is_empty() {
                let peer = PrivateKey::from_pkcs8(s, &generate(s).unwrap()).unwrap();
                let a = key.derive_shared_secret(&peer.public_key_der().unwrap()).unwrap();
                let b = peer.derive_shared_secret(&key.public_key_der().unwrap()).unwrap();
                assert_eq!(a, b, "{}", s.name);
                assert!(key.derive_shared_secret(b"not a key").is_err());
            }
        }
        // A key of one spec does not load as another.
        let p256 = generate(spec("ECC_NIST_P256").unwrap()).unwrap();
        assert!(PrivateKey::from_pkcs8(spec("ECC_NIST_P384").unwrap(), &p256).is_err());
        assert!(PrivateKey::from_pkcs8(spec("RSA_2048").unwrap(), &p256).is_err());
    }
}
