//! Key policies as KMS handles them: the default policy, and checks on a new policy.

use keytrail_iam::policy::{default_key_policy, lockout_check, PolicyDocument, PolicyKind};
use keytrail_iam::Caller;

use crate::{ErrorCode, KmsError};

/// The policy a key gets when CreateKey names none.
pub fn default_policy(account: &str) -> PolicyDocument {
    PolicyDocument::parse(&default_key_policy(account), PolicyKind::KeyPolicy).expect("the default key policy parses")
}

/// Validates a new key policy: its grammar (`MalformedPolicyDocumentException`), and unless
/// `bypass`, the lockout safety check: the caller must still be able to change the policy.
pub fn check_new_policy(text: &str, caller: &Caller, key_owner: &str, bypass: bool) -> Result<PolicyDocument, KmsError> {
    let malformed = |e: keytrail_iam::policy::PolicyError| KmsError::new(ErrorCode::MalformedPolicyDocument, e.message().to_string());
    let doc = PolicyDocument::parse(text, PolicyKind::KeyPolicy).map_err(malformed)?;
    if !bypass {
        lockout_check(&doc, &caller.principal, key_owner).map_err(malformed)?;
    }
    Ok(doc)
}
