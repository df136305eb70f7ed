//! Key policies as KMS handles them: the default policy, and checks on a new policy.

use keytrail_iam::policy::{default_key_policy, lockout_check, PolicyDocument, PolicyKind};
use keytrail_iam::Caller;

use crate::{ErrorCode, KmsError};

/// The policy a key gets when CreateKey names none.
///
/// Parsed once and shared by the account's keys (a document is an `Arc`): parsing it per call
/// was ~4% of a CreateKey's CPU. The last account asked for is kept, which is nearly always
/// the only one.
pub fn default_policy(account: &str) -> PolicyDocument {
    static LAST: std::sync::Mutex<Option<(String, PolicyDocument)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached_for, doc)) = &*last {
        if cached_for == account {
            return doc.clone();
        }
    }
    let doc = PolicyDocument::parse(&default_key_policy(account), PolicyKind::KeyPolicy).expect("the default key policy parses");
    *last = Some((account.to_string(), doc.clone()));
    doc
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared default policy is always the asking account's, whichever account asked last.
    #[test]
    fn default_policy_names_the_asking_account() {
        for account in ["111122223333", "111122223333", "444455556666", "111122223333", "444455556666"] {
            let doc = default_policy(account);
            assert_eq!(doc.text(), default_key_policy(account));
            assert!(doc.text().contains(&format!("arn:aws:iam::{account}:root")));
        }
    }
}
