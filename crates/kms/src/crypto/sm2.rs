//! SM2 keys (`SM2`, China Regions only): SM2DSA signatures, SM2PKE encryption and ECDH on the
//! SM2 curve, with the RustCrypto `sm2` crate (ring has no SM2).
//!
//! Choices, from AWS's "Offline verification with SM2 key pairs" (KMS Developer Guide,
//! `offline-operations.html#key-spec-sm-offline-verification`):
//! - SM2DSA uses the default distinguishing ID `1234567812345678` (GB/T 32918); a RAW message is
//!   signed as SM3(Z_A ‖ M), a DIGEST message is that 32-byte e already computed by the caller.
//! - Signatures are DER `SEQUENCE { r, s }`; SM2PKE ciphertexts are the DER (GM/T 0009, C1C3C2)
//!   form OpenSSL's `pkeyutl -encrypt` writes and reads, the raw output with no keytrail header.
//! - DeriveSharedSecret's `ECDH` on an SM2 key is plain ECDH on the curve (the x-coordinate), as
//!   on the NIST curves: AWS names only the `ECDH` algorithm for both.

use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use signature::{Signer, Verifier};
use spki::{DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use super::asymmetric::{internal, invalid_key_material, MessageType};
use crate::KmsError;

/// The distinguishing ID AWS KMS signs with.
pub const DEFAULT_DISTINGUISHING_ID: &str = "1234567812345678";

/// The largest SM2PKE plaintext AWS accepts (KMS Developer Guide, asymmetric key specs: 1024 bytes).
pub(crate) const MAX_PLAINTEXT: usize = 1024;

/// A parsed SM2 private key.
pub(crate) struct Sm2Key {
    secret: sm2::SecretKey,
    signer: sm2::dsa::SigningKey,
}

/// A new key as PKCS#8 DER (id-ecPublicKey on the SM2 curve, as OpenSSL 3 writes it).
pub(crate) fn generate() -> Result<Zeroizing<Vec<u8>>, KmsError> {
    loop {
        let bytes = Zeroizing::new(super::random_bytes(32));
        if let Ok(secret) = sm2::SecretKey::from_slice(&bytes) {
            return secret.to_pkcs8_der().map(|d| Zeroizing::new(d.as_bytes().to_vec())).map_err(|_| internal("SM2 key encoding failed."));
        }
    }
}

impl Sm2Key {
    /// Parses PKCS#8 DER.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Sm2Key, KmsError> {
        let secret = sm2::SecretKey::from_pkcs8_der(der).map_err(|_| invalid_key_material())?;
        let signer = sm2::dsa::SigningKey::new(DEFAULT_DISTINGUISHING_ID, &secret).map_err(|_| invalid_key_material())?;
        Ok(Sm2Key { secret, signer })
    }

    /// SubjectPublicKeyInfo DER.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KmsError> {
        self.secret.public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| internal("SM2 public key encoding failed."))
    }

    /// SM2DSA, DER-encoded.
    pub(crate) fn sign(&self, message_type: MessageType, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        let sig: sm2::dsa::Signature = match message_type {
            MessageType::Raw => self.signer.try_sign(message),
            _ => self.signer.sign_prehash(message),
        }
        .map_err(|_| internal("SM2 signing failed."))?;
        Ok(sig.to_der().to_vec())
    }

    /// Whether the DER `signature` is valid.
    pub(crate) fn verify(&self, message_type: MessageType, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = sm2::dsa::Signature::from_der(signature) else { return false };
        let verifier = self.signer.verifying_key();
        match message_type {
            MessageType::Raw => verifier.verify(message, &sig).is_ok(),
            _ => verifier.verify_prehash(message, &sig).is_ok(),
        }
    }

    /// SM2PKE (SM3), DER ciphertext.
    pub(crate) fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        let key = sm2::pke::EncryptingKey::new(self.secret.public_key());
        key.encrypt_der(&mut getrandom::SysRng, plaintext).map_err(|_| internal("SM2 encryption failed."))
    }

    /// Decrypts a DER SM2PKE ciphertext; anything else is `InvalidCiphertextException`.
    pub(crate) fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let key = sm2::pke::DecryptingKey::new(self.secret.clone());
        key.decrypt_der(ciphertext).map(Zeroizing::new).map_err(|_| KmsError::invalid_ciphertext())
    }

    /// ECDH with the peer's SubjectPublicKeyInfo on the SM2 curve.
    pub(crate) fn derive(&self, peer_spki: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let peer = sm2::PublicKey::from_public_key_der(peer_spki).map_err(|_| super::ecc::bad_peer_key())?;
        let shared = sm2::elliptic_curve::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
        Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
    }
}
