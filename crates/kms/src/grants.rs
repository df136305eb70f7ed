//! Grants as an authorization source, and grant tokens.
//!
//! A grant token is keytrail's own opaque string: base64url of `ktgt1:<key ARN>:<grant id>`.
//! Grants here take effect at once (AWS's eventual consistency is not simulated), so a token only
//! has to be well-formed; one that is not is `InvalidGrantTokenException`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keytrail_iam::Principal;

use crate::crypto::EncryptionContext;
use crate::key::{Grant, Key};
use crate::{ErrorCode, KmsError};

/// Operations a grant can allow.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Operations that take an encryption context, the only ones a constrained grant may include.
pub const CRYPTO_GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// The token returned for a grant.
pub fn grant_token(key_arn: &str, grant_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("ktgt1:{key_arn}:{grant_id}"))
}

/// Parses a grant token into (key ARN, grant id).
pub fn parse_grant_token(token: &str) -> Result<(String, String), KmsError> {
    let invalid = || KmsError::new(ErrorCode::InvalidGrantToken, "The grant token is not valid.");
    let text = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let rest = text.strip_prefix("ktgt1:").ok_or_else(invalid)?;
    let (arn, id) = rest.rsplit_once(':').ok_or_else(invalid)?;
    if id.len() != 64 || !arn.starts_with("arn:aws:kms:") {
        return Err(invalid());
    }
    Ok((arn.to_string(), id.to_string()))
}

/// Whether `principal` is the grant's grantee. A grantee given as an account (`…:root`) covers
/// every principal of that account (choice: AWS then still wants IAM permission; keytrail lets
/// the grant decide); a role ARN covers every session of the role.
pub fn is_grantee(grant: &Grant, principal: &Principal) -> bool {
    principal_matches(&grant.grantee_principal, principal)
}

/// Whether `principal` is named by `arn` (exact ARN, its role, or its account root).
pub fn principal_matches(arn: &str, principal: &Principal) -> bool {
    arn == principal.arn() || arn == principal.policy_arn() || arn == format!("arn:aws:iam::{}:root", principal.account())
}

fn satisfies(grant: &Grant, context: Option<&EncryptionContext>) -> bool {
    let empty = EncryptionContext::new();
    let ctx = context.unwrap_or(&empty);
    if let Some(eq) = &grant.encryption_context_equals {
        if eq != ctx {
            return false;
        }
    }
    if let Some(subset) = &grant.encryption_context_subset {
        if !subset.iter().all(|(k, v)| ctx.get(k) == Some(v)) {
            return false;
        }
    }
    true
}

/// Whether some grant on `key` allows `principal` the IAM action `action` (`kms:Decrypt`) with
/// this encryption context.
pub fn grant_allows(key: &Key, principal: &Principal, action: &str, context: Option<&EncryptionContext>) -> bool {
    let Some(op) = action.strip_prefix("kms:") else { return false };
    key.grants.iter().any(|g| g.operations.iter().any(|o| o == op) && is_grantee(g, principal) && satisfies(g, context))
}
