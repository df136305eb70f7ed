//! The authorization hook every key access goes through.
//!
//! Operations describe what they are about to do (`AccessRequest`); an `Authorizer` says yes or
//! no. keytrail's real authorizer evaluates key policies, identity policies and grants; `AllowAll`
//! exists for unit tests of the operations themselves.

use keytrail_iam::Caller;

use crate::crypto::EncryptionContext;
use crate::key::Key;
use crate::store::KeyStore;
use crate::KmsError;

/// One access an operation is about to make.
pub struct AccessRequest<'a> {
    /// Who is asking.
    pub caller: &'a Caller,
    /// The IAM action, `kms:Encrypt`.
    pub action: &'static str,
    /// The key acted on; `None` for account-level actions (CreateKey, ListKeys, ListAliases, GenerateRandom).
    pub key: Option<&'a Key>,
    /// The encryption context of the request, for `kms:EncryptionContext:*` conditions.
    pub encryption_context: Option<&'a EncryptionContext>,
    /// The alias the request named the key by, for `kms:RequestAlias`.
    pub request_alias: Option<&'a str>,
    /// Grant tokens sent with the request.
    pub grant_tokens: &'a [String],
    /// Further condition keys (`kms:EncryptionAlgorithm`, `kms:GrantOperations`, …), lower-case names.
    pub extra_conditions: Vec<(&'static str, Vec<String>)>,
}

impl<'a> AccessRequest<'a> {
    /// A request for `action` on `key` with no conditions.
    pub fn new(caller: &'a Caller, action: &'static str, key: Option<&'a Key>) -> Self {
        AccessRequest {
            caller,
            action,
            key,
            encryption_context: None,
            request_alias: None,
            grant_tokens: &[],
            extra_conditions: Vec::new(),
        }
    }
}

/// Decides whether an access is allowed; a refusal is the error to return (AccessDeniedException).
pub trait Authorizer: Send + Sync {
    /// Allows or refuses `request`.
    fn authorize(&self, store: &KeyStore, request: &AccessRequest<'_>) -> Result<(), KmsError>;
}

/// Allows everything (unit tests of operations).
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &KeyStore, _: &AccessRequest<'_>) -> Result<(), KmsError> {
        Ok(())
    }
}
