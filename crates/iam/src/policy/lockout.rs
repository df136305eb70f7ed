//! The policy lockout safety check that CreateKey and PutKeyPolicy run unless the caller sets
//! `BypassPolicyLockoutSafetyCheck`.

use super::context::RequestContext;
use super::document::PolicyDocument;
use super::error::PolicyError;
use super::evaluate::{evaluate_with, Decision, ResourceCheck};
use crate::principal::Principal;

/// Refuses a new key policy unless it would let `caller` call `kms:PutKeyPolicy` on the key
/// later, as AWS does ("The new key policy will not allow you to update the key policy in the
/// future.").
///
/// Choices:
/// - an Allow that only names the caller's account counts (the account's IAM policies may grant
///   it; identity policies are not consulted here, as AWS does not either);
/// - the key may not exist yet, so `Resource`/`NotResource` are taken to match;
/// - conditions see only what is known without a request: the principal's global keys,
///   `kms:CallerAccount` (the caller's account) and `aws:ResourceAccount` (`key_owner`); a
///   statement conditioned on anything else does not count.
pub fn lockout_check(policy: &PolicyDocument, caller: &Principal, key_owner: &str) -> Result<(), PolicyError> {
    let context = RequestContext::new(caller, "kms:PutKeyPolicy", "*")
        .with_value("kms:CallerAccount", caller.account())
        .with_value("aws:ResourceAccount", key_owner);
    match evaluate_with(policy, &context, ResourceCheck::Any) {
        Decision::Allow(_) => Ok(()),
        Decision::ExplicitDeny | Decision::ImplicitDeny => Err(PolicyError::lockout()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{default_key_policy, PolicyKind};

    const OWNER: &str = "111122223333";

    fn alice() -> Principal {
        Principal::User { account: OWNER.into(), name: "alice".into(), unique_id: "AIDA".into() }
    }

    fn key_policy(statements: &str) -> PolicyDocument {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        PolicyDocument::parse(&text, PolicyKind::KeyPolicy).unwrap()
    }

    #[test]
    fn the_default_policy_passes_through_account_delegation() {
        let policy = PolicyDocument::parse(&default_key_policy(OWNER), PolicyKind::KeyPolicy).unwrap();
        assert_eq!(lockout_check(&policy, &alice(), OWNER), Ok(()));
        assert_eq!(lockout_check(&policy, &Principal::root(OWNER), OWNER), Ok(()));
    }

    #[test]
    fn a_policy_without_put_key_policy_for_the_caller_is_refused() {
        let policy = key_policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#,
        );
        let err = lockout_check(&policy, &alice(), OWNER).unwrap_err();
        assert!(err.is_lockout());
        assert_eq!(err.message(), "The new key policy will not allow you to update the key policy in the future.");
        let other =
            key_policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#);
        assert!(lockout_check(&other, &alice(), OWNER).is_err());
    }

    #[test]
    fn named_callers_wildcards_and_key_arns_pass() {
        let named = key_policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Put*","Resource":"arn:aws:kms:us-east-1:111122223333:key/abc"}"#,
        );
        assert_eq!(lockout_check(&named, &alice(), OWNER), Ok(()));
        let conditioned = key_policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}"#,
        );
        assert_eq!(lockout_check(&conditioned, &alice(), OWNER), Ok(()));
        let unknowable = key_policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#,
        );
        assert!(lockout_check(&unknowable, &alice(), OWNER).is_err());
    }

    #[test]
    fn an_explicit_deny_of_put_key_policy_is_refused() {
        let policy = key_policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
               {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:PutKeyPolicy","Resource":"*"}"#,
        );
        assert!(lockout_check(&policy, &alice(), OWNER).unwrap_err().is_lockout());
        assert_eq!(lockout_check(&policy, &Principal::root(OWNER), OWNER), Ok(()));
    }
}
