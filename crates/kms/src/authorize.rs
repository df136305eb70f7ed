//! The authorization hook every key access goes through.
//!
//! Operations describe what they are about to do (`AccessRequest`); an `Authorizer` says yes or
//! no. keytrail's real authorizer evaluates key policies, identity policies and grants; `AllowAll`
//! exists for unit tests of the operations themselves.

use keytrail_iam::Caller;

use crate::crypto::EncryptionContext;
use crate::grants::GrantSpec;
use crate::key::{Grant, Key};
use crate::store::KeyStore;
use crate::KmsError;

/// One access an operation is about to make.
pub struct AccessRequest<'a> {
    /// Who is asking.
    pub caller: &'a Caller,
    /// The IAM action, `kms:Encrypt`.
    pub action: &'static str,
    /// The key acted on; `None` for actions on no key (CreateKey, ListKeys, ListAliases,
    /// GenerateRandom, and the alias half of the alias operations).
    pub key: Option<&'a Key>,
    /// Without a key: the resource acted on, for the alias operations' check on the alias ARN
    /// ("Controlling access to aliases"); `None` is `*`.
    pub resource: Option<&'a str>,
    /// The encryption context of the request, for `kms:EncryptionContext:*` conditions.
    pub encryption_context: Option<&'a EncryptionContext>,
    /// The alias the request named the key by, for `kms:RequestAlias`.
    pub request_alias: Option<&'a str>,
    /// Grant tokens sent with the request.
    pub grant_tokens: &'a [String],
    /// Further condition keys (`kms:EncryptionAlgorithm`, `kms:GrantOperations`, …), lower-case names.
    pub extra_conditions: Vec<(&'static str, Vec<String>)>,
    /// Tags the request sets (CreateKey, TagResource): `aws:RequestTag/<k>` and `aws:TagKeys`.
    pub request_tags: Option<&'a [(String, String)]>,
    /// Tag keys the request names without values (UntagResource): `aws:TagKeys`.
    pub tag_keys: Option<&'a [String]>,
    /// CreateGrant: the grant it would create. A parent grant's `CreateGrant` permission covers
    /// only grants as narrow as itself (see [`crate::grants`]).
    pub new_grant: Option<&'a GrantSpec>,
    /// RetireGrant: the grant it would retire; who may retire it is the grant's to say.
    pub retiring: Option<&'a Grant>,
}

impl<'a> AccessRequest<'a> {
    /// A request for `action` on `key` with no conditions.
    pub fn new(caller: &'a Caller, action: &'static str, key: Option<&'a Key>) -> Self {
        AccessRequest {
            caller,
            action,
            key,
            resource: None,
            encryption_context: None,
            request_alias: None,
            grant_tokens: &[],
            extra_conditions: Vec::new(),
            request_tags: None,
            tag_keys: None,
            new_grant: None,
            retiring: None,
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
