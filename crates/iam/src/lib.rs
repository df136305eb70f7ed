//! Identity and access for keytrail: who is calling, and whether policy lets them.
//!
//! Layout:
//! - `principal` — the principal kinds (root, IAM user, assumed-role session) and their ARNs and ids.
//! - `sigv4` — reading (and later verifying) the SigV4 `Authorization` header.
//! - `credentials` — the access-key directory that maps a key id to its principal.
//! - `policy` — policy documents, their grammar, and their evaluation.

pub mod credentials;
pub mod policy;
pub mod principal;
pub mod sigv4;

pub use credentials::{Caller, CredentialDirectory, CredentialError, RequestOrigin};
pub use principal::Principal;
