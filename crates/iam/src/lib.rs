//! Identity and access for keytrail: who is calling, and whether policy lets them.
//!
//! Layout:
//! - `principal` — the principal kinds (root, IAM user, assumed-role session) and their ARNs and ids.
//! - `sigv4` — reading (and later verifying) the SigV4 `Authorization` header.
//! - `credentials` — the access-key directory that maps a key id to its principal (and, for a role
//!   session, its session token).
//! - `names` — the forms AWS allows for account ids, regions and IAM names.
//! - `policy` — policy documents, their grammar, and their evaluation.

pub mod credentials;
pub mod names;
pub mod policy;
pub mod principal;
pub mod sigv4;

pub use credentials::{AccessKey, Caller, CredentialDirectory, CredentialError, RequestOrigin, SessionToken};
pub use principal::Principal;
