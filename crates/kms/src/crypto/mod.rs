//! Cryptography: the self-describing ciphertext blob and AES-256-GCM under a key's material;
//! the key spec table (`spec`); asymmetric keys (`asymmetric`, dispatching to one file per
//! family: `rsa`, `ecc`, `ed25519`, `ml_dsa`, `sm2`) and HMAC keys (`hmac`).

pub mod asymmetric;
pub mod blob;
pub mod context;
mod ecc;
mod ed25519;
pub(crate) mod hmac;
mod ml_dsa;
mod rsa;
pub mod sm2;
pub mod spec;
pub mod symmetric;

pub use blob::{BlobHeader, CiphertextBlob};
pub use context::{canonical_encryption_context, EncryptionContext};
pub use symmetric::{decrypt, encrypt, random_bytes};
