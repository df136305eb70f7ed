//! AWS KMS without HTTP: keys, the key store, cryptography, the operations and their errors.
//!
//! The server hands each call here as (caller, operation, JSON body) and gets back a
//! [`CallOutcome`]: the JSON response or a [`KmsError`], plus everything its CloudTrail record
//! needs (resources touched, requestParameters, responseElements) and what state changed.
//!
//! Layout:
//! - `ops` — the [`Operation`] enum and one file per operation or concern.
//! - `key`, `store`, `key_ref` — the key model, the in-memory store, and how requests name keys.
//! - `crypto` — the ciphertext blob format and AES-256-GCM; the key spec table; asymmetric
//!   (RSA, ECC, Ed25519, ML-DSA, SM2) and HMAC keys, one file per family.
//! - `authorize` — the hook every key access goes through (policies and grants plug in here).
//! - `context` — what one call carries; `audit` — how a call becomes requestParameters.
//! - `clock` — the mock clock; `scheduler` — rotations and deletions that fall due.
//! - `validate`, `wire`, `paging`, `error` — AWS-style validation, decoding, pagination, errors.

pub mod audit;
pub mod authorization;
pub mod authorize;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod error;
pub mod grants;
pub mod key;
pub mod key_ref;
pub mod ops;
pub mod paging;
pub mod policy_check;
pub mod scheduler;
pub mod store;
pub mod validate;
pub mod wire;

mod service;

pub use authorization::PolicyAuthorizer;
pub use authorize::{AccessRequest, AllowAll, Authorizer};
pub use clock::Clock;
pub use context::{CallContext, Change, ServiceEvent, TouchedResource};
pub use error::{ErrorCode, KmsError};
pub use key::{Key, KeyMaterial, KeyState};
pub use ops::Operation;
pub use service::{CallOutcome, Kms};
pub use store::{AliasUse, KeyStore};
