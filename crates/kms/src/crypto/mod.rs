//! Cryptography: the self-describing ciphertext blob and AES-256-GCM under a key's material.

pub mod blob;
pub mod context;
pub mod symmetric;

pub use blob::{BlobHeader, CiphertextBlob};
pub use context::{canonical_encryption_context, EncryptionContext};
pub use symmetric::{decrypt, encrypt, random_bytes};
