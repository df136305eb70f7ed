//! Who may read a trail bucket: the caller's identity policies decide, within the bucket
//! owner's account (AWS IAM: "Identity-based policies and resource-based policies"; a bucket
//! without a bucket policy grants nothing to other accounts).
//!
//! - An explicit Deny in any of the caller's identity policies refuses.
//! - A caller of another account than the bucket's owners is refused: keytrail's trail buckets
//!   have no bucket policy to let it in.
//! - The owning account's root is allowed (IAM never restricts a root user).
//! - Any other principal of the owning account needs an identity policy that allows the action
//!   (`s3:ListBucket` on `arn:aws:s3:::<bucket>`, `s3:GetObject` on `arn:aws:s3:::<bucket>/<key>`,
//!   `s3:GetBucketLocation`, `s3:ListAllMyBuckets`), conditions evaluated on the request's keys.
//!
//! Denial messages are S3's current detailed form (`User: … is not authorized to perform: …`).

use keytrail_iam::policy::{ConditionValue, Decision, Denial, DenialReason, PolicyDocument, RequestContext};
use keytrail_iam::Principal;

use crate::response::S3Error;

/// One access check: who, which action on which resource, extra condition keys.
pub struct AccessRequest<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// Its identity policies.
    pub policies: &'a [PolicyDocument],
    /// `s3:GetObject`, `s3:ListBucket`, …
    pub action: &'a str,
    /// The resource ARN.
    pub resource: &'a str,
    /// The request's S3 condition keys (`s3:prefix`, …).
    pub keys: Vec<(&'static str, String)>,
}

/// Allows `req` if its caller may act on a resource owned by one of `owners`.
pub fn authorize(req: &AccessRequest<'_>, owners: &[String]) -> Result<(), S3Error> {
    let mut context = RequestContext::new(req.principal, req.action, req.resource);
    for (k, v) in &req.keys {
        context.insert(k, ConditionValue::Single(v.clone()));
    }
    let mut decision = Decision::ImplicitDeny;
    for policy in req.policies {
        match policy.evaluate(&context) {
            Decision::ExplicitDeny => return Err(denied(DenialReason::ExplicitDenyInIdentityPolicy, &context)),
            allow @ Decision::Allow(_) => decision = allow,
            Decision::ImplicitDeny => {}
        }
    }
    if !owners.iter().any(|o| o == req.principal.account()) {
        return Err(denied(DenialReason::NoResourcePolicyAllows, &context));
    }
    if req.principal.is_root() || matches!(decision, Decision::Allow(_)) {
        Ok(())
    } else {
        Err(denied(DenialReason::NoIdentityPolicyAllows, &context))
    }
}

fn denied(reason: DenialReason, context: &RequestContext<'_>) -> S3Error {
    S3Error::access_denied(Denial::new(reason, context).message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keytrail_iam::policy::PolicyKind;

    fn policy(statement: &str) -> PolicyDocument {
        PolicyDocument::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#), PolicyKind::IdentityPolicy).unwrap()
    }

    fn user(account: &str) -> Principal {
        Principal::User { account: account.into(), name: "reader".into(), unique_id: "AIDAREADER".into() }
    }

    fn check(principal: &Principal, policies: &[PolicyDocument], action: &str, resource: &str) -> Result<(), String> {
        let req = AccessRequest { principal, policies, action, resource, keys: vec![("s3:prefix", "AWSLogs/".into())] };
        authorize(&req, &["111122223333".to_string()]).map_err(|e| e.message)
    }

    /// Cases from the IAM User Guide's S3 examples ("Allows read access to objects in an
    /// Amazon S3 bucket", "… list the objects with a prefix").
    #[test]
    fn identity_policies_decide_within_the_owning_account() {
        let object = "arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/x.json.gz";
        let read = policy(r#"{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::logs/*"}"#);
        assert_eq!(check(&user("111122223333"), std::slice::from_ref(&read), "s3:GetObject", object), Ok(()));
        let err = check(&user("111122223333"), std::slice::from_ref(&read), "s3:ListBucket", "arn:aws:s3:::logs").unwrap_err();
        assert_eq!(
            err,
            "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::logs because no identity-based policy allows the s3:ListBucket action"
        );
        let prefixed = policy(
            r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::logs","Condition":{"StringLike":{"s3:prefix":["AWSLogs/*"]}}}"#,
        );
        assert_eq!(check(&user("111122223333"), &[prefixed], "s3:ListBucket", "arn:aws:s3:::logs"), Ok(()));
        let deny = policy(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#);
        assert!(check(&user("111122223333"), &[read.clone(), deny], "s3:GetObject", object).unwrap_err().contains("explicit deny"));
        assert_eq!(check(&Principal::root("111122223333"), &[], "s3:GetObject", object), Ok(()), "the owner's root");
        assert!(check(&Principal::root("444455556666"), &[], "s3:GetObject", object).unwrap_err().contains("no resource-based policy"));
        assert!(check(&user("444455556666"), &[read], "s3:GetObject", object).is_err(), "another account, whatever its IAM says");
    }
}
