//! Grants as an authorization source, and grant tokens.
//!
//! The rules, from the KMS Developer Guide ("Grants in AWS KMS", "Grant constraints",
//! "Granting CreateGrant permission", https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html,
//! and the `GrantConstraints` API reference):
//! - a grant allows its operations to its grantee: a user, role or session it names
//!   ([`GrantAllow::OnItsOwn`]), or the principals of an account it names, through their IAM
//!   policies ([`GrantAllow::ThroughIdentity`]);
//! - encryption-context constraints apply to the operations that take an encryption context;
//!   `DescribeKey`, `RetireGrant` and `CreateGrant` ignore them. In a constraint, **keys are
//!   compared case-insensitively and values case-sensitively** (GrantConstraints, "Important");
//! - a grantee that gets `CreateGrant` from a grant may create only grants whose operations are
//!   a subset of that grant's and whose constraints are at least as strict.
//!
//! A grant token is keytrail's own opaque string: base64url of `ktgt1:<key ARN>:<grant id>`.
//! Grants here take effect at once (AWS's eventual consistency is not simulated), so a token only
//! has to be well-formed; one that is not is `InvalidGrantTokenException`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keytrail_iam::policy::GrantAllow;
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

/// Operations that take an encryption context: the ones a grant's constraints apply to.
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

/// Operations a constrained grant may list although they take no encryption context: the
/// constraint does not apply to them (CreateGrant's `Constraints` member: "Grants with grant
/// constraints can include the DescribeKey and RetireGrant operations"; a constrained grant
/// with CreateGrant limits the grants created from it).
pub const UNCONSTRAINED_GRANT_OPERATIONS: &[&str] = &["CreateGrant", "DescribeKey", "RetireGrant"];

/// A grant's encryption-context constraints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constraints<'a> {
    /// `EncryptionContextSubset`: these pairs must be in the request's context.
    pub subset: Option<&'a EncryptionContext>,
    /// `EncryptionContextEquals`: the request's context must be exactly these pairs.
    pub equals: Option<&'a EncryptionContext>,
}

impl<'a> Constraints<'a> {
    /// The constraints of `grant`.
    pub fn of(grant: &'a Grant) -> Self {
        Constraints { subset: grant.encryption_context_subset.as_ref(), equals: grant.encryption_context_equals.as_ref() }
    }

    /// Whether any constraint is set.
    pub fn any(&self) -> bool {
        self.subset.is_some() || self.equals.is_some()
    }

    /// Whether a request with encryption context `context` satisfies the constraints.
    ///
    /// Keys compare case-insensitively, values exactly. Choice, where a request holds pairs
    /// whose keys differ only in case (`Dept=IT`, `dept=HR`): a constraint pair is met only
    /// when every request pair with that key has its value — a grant only ever allows, so an
    /// ambiguous request is read against the caller.
    pub fn satisfied_by(&self, context: &EncryptionContext) -> bool {
        let request = fold(context);
        let meets = |pairs: &EncryptionContext| {
            pairs.iter().all(|(k, v)| request.get(&k.to_lowercase()).is_some_and(|values| values.iter().all(|r| *r == v)))
        };
        if let Some(subset) = self.subset {
            if !meets(subset) {
                return false;
            }
        }
        if let Some(equals) = self.equals {
            let names: Vec<String> = equals.keys().map(|k| k.to_lowercase()).collect();
            if !meets(equals) || !request.keys().all(|k| names.contains(k)) {
                return false;
            }
        }
        true
    }

    /// Whether every request these constraints allow is also allowed by `parent`: the
    /// "at least as strict" rule for a grant created through a parent grant's `CreateGrant`.
    ///
    /// The child may add pairs to the parent's `EncryptionContextSubset`, not remove them; it may
    /// turn a subset into an `EncryptionContextEquals` that includes the subset's pairs, but not
    /// the reverse ("Granting CreateGrant permission").
    pub fn at_least_as_strict_as(&self, parent: &Constraints<'_>) -> bool {
        let (Some(child_subset), Some(child_equals)) = (normalize(self.subset), normalize(self.equals)) else {
            return true; // pairs that contradict each other: the child allows nothing
        };
        let (Some(parent_subset), Some(parent_equals)) = (normalize(parent.subset), normalize(parent.equals)) else {
            return !self.allows_anything(); // the parent allows nothing
        };
        let includes =
            |outer: &BTreeMap<String, &String>, inner: &BTreeMap<String, &String>| inner.iter().all(|(k, v)| outer.get(k) == Some(v));
        match child_equals {
            // The child allows exactly one context (modulo key case), if that one meets its own subset.
            Some(exact) => {
                if child_subset.as_ref().is_some_and(|subset| !includes(&exact, subset)) {
                    return true;
                }
                parent_subset.as_ref().is_none_or(|subset| includes(&exact, subset))
                    && parent_equals.as_ref().is_none_or(|equals| *equals == exact)
            }
            // The child allows every superset of its subset: the parent must not pin the
            // context, and its subset must be within the child's.
            None => parent_equals.is_none() && parent_subset.as_ref().is_none_or(|p| child_subset.as_ref().is_some_and(|c| includes(c, p))),
        }
    }

    fn allows_anything(&self) -> bool {
        match (normalize(self.subset), normalize(self.equals)) {
            (Some(subset), Some(Some(exact))) => subset.is_none_or(|s| s.iter().all(|(k, v)| exact.get(k) == Some(v))),
            (Some(_), Some(None)) => true,
            _ => false,
        }
    }
}

/// The request's pairs by lower-cased key (several values where keys differ only in case).
fn fold(context: &EncryptionContext) -> BTreeMap<String, Vec<&String>> {
    let mut folded: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for (k, v) in context {
        folded.entry(k.to_lowercase()).or_default().push(v);
    }
    folded
}

/// A constraint's pairs by lower-cased key: `Some(None)` when absent, `None` when two pairs
/// name the same key (case aside) with different values, which no request can meet.
fn normalize(pairs: Option<&EncryptionContext>) -> Option<Option<BTreeMap<String, &String>>> {
    let Some(pairs) = pairs else { return Some(None) };
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(previous) = out.insert(k.to_lowercase(), v) {
            if previous != v {
                return None;
            }
        }
    }
    Some(Some(out))
}

/// The grant a CreateGrant request asks for, as the authorizer needs to see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantSpec {
    /// Its operations.
    pub operations: Vec<String>,
    /// `EncryptionContextSubset`.
    pub subset: Option<EncryptionContext>,
    /// `EncryptionContextEquals`.
    pub equals: Option<EncryptionContext>,
}

impl GrantSpec {
    /// Its constraints.
    pub fn constraints(&self) -> Constraints<'_> {
        Constraints { subset: self.subset.as_ref(), equals: self.equals.as_ref() }
    }

    /// Whether `parent`'s `CreateGrant` permission covers creating this grant: a subset of its
    /// operations, constraints at least as strict.
    pub fn within(&self, parent: &Grant) -> bool {
        self.operations.iter().all(|op| parent.operations.contains(op))
            && self.constraints().at_least_as_strict_as(&Constraints::of(parent))
    }
}

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

/// How the principal named by `arn` (a grantee or retiring principal) covers `principal`: the
/// exact user or session, or the role of a session, on its own; the principal's account root
/// only through the account's IAM (its root needs none).
pub fn named_as(arn: &str, principal: &Principal) -> GrantAllow {
    if arn == principal.arn() || arn == principal.policy_arn() {
        return GrantAllow::OnItsOwn;
    }
    let account_root = arn.strip_prefix("arn:aws:iam::").and_then(|rest| rest.strip_suffix(":root"));
    if account_root == Some(principal.account()) {
        return GrantAllow::ThroughIdentity;
    }
    GrantAllow::None
}

/// The strongest of two grant contributions.
pub fn stronger(a: GrantAllow, b: GrantAllow) -> GrantAllow {
    let rank = |g: GrantAllow| match g {
        GrantAllow::None => 0,
        GrantAllow::ThroughIdentity => 1,
        GrantAllow::OnItsOwn => 2,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// What the grants on `key` contribute to `principal` calling the IAM action `action`
/// (`kms:Decrypt`) with this encryption context; for `kms:CreateGrant`, `new_grant` is the grant
/// the call would create, which the parent grant must cover.
pub fn grant_allows(
    key: &Key,
    principal: &Principal,
    action: &str,
    context: Option<&EncryptionContext>,
    new_grant: Option<&GrantSpec>,
) -> GrantAllow {
    let Some(op) = action.strip_prefix("kms:") else { return GrantAllow::None };
    let empty = EncryptionContext::new();
    let context = context.unwrap_or(&empty);
    key.grants
        .iter()
        .filter(|g| g.operations.iter().any(|o| o == op))
        .filter(|g| match op {
            "CreateGrant" => new_grant.is_none_or(|child| child.within(g)),
            op if CRYPTO_GRANT_OPERATIONS.contains(&op) => Constraints::of(g).satisfied_by(context),
            _ => true,
        })
        .map(|g| named_as(&g.grantee_principal, principal))
        .fold(GrantAllow::None, stronger)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// GrantConstraints API reference: keys case-insensitive, values case-sensitive; the Developer
    /// Guide's subset and equals examples ("Using grant constraints").
    #[test]
    fn constraint_satisfaction() {
        let subset = ec(&[("Department", "IT")]);
        let sub = Constraints { subset: Some(&subset), equals: None };
        assert!(sub.satisfied_by(&ec(&[("Department", "IT")])));
        assert!(sub.satisfied_by(&ec(&[("Department", "IT"), ("Purpose", "Test")])));
        assert!(sub.satisfied_by(&ec(&[("department", "IT")])), "keys are not case sensitive");
        assert!(!sub.satisfied_by(&ec(&[("Department", "it")])), "values are");
        assert!(!sub.satisfied_by(&ec(&[])));
        assert!(!sub.satisfied_by(&ec(&[("Department", "IT"), ("department", "HR")])), "a decoy pair is read against the caller");
        let eq = Constraints { subset: None, equals: Some(&subset) };
        assert!(eq.satisfied_by(&ec(&[("Department", "IT")])));
        assert!(eq.satisfied_by(&ec(&[("DEPARTMENT", "IT")])));
        assert!(!eq.satisfied_by(&ec(&[("Department", "IT"), ("Purpose", "Test")])));
        assert!(!eq.satisfied_by(&ec(&[])));
        assert!(Constraints::default().satisfied_by(&ec(&[])));
    }

    /// "Granting CreateGrant permission": a child may add subset pairs, not remove them; may turn
    /// a subset into equals, not the reverse.
    #[test]
    fn child_constraints_must_be_at_least_as_strict() {
        let it = ec(&[("Department", "IT")]);
        let it_test = ec(&[("Department", "IT"), ("Purpose", "Test")]);
        let hr = ec(&[("Department", "HR")]);
        let none = Constraints::default();
        let sub = |c| Constraints { subset: Some(c), equals: None };
        let eq = |c| Constraints { subset: None, equals: Some(c) };
        assert!(sub(&it).at_least_as_strict_as(&sub(&it)));
        assert!(sub(&it_test).at_least_as_strict_as(&sub(&it)), "adds a pair");
        assert!(!sub(&it).at_least_as_strict_as(&sub(&it_test)), "removes a pair");
        assert!(eq(&it).at_least_as_strict_as(&sub(&it)), "subset → equals");
        assert!(eq(&it_test).at_least_as_strict_as(&sub(&it)));
        assert!(!sub(&it).at_least_as_strict_as(&eq(&it)), "equals → subset");
        assert!(eq(&it).at_least_as_strict_as(&eq(&it)));
        assert!(!eq(&it_test).at_least_as_strict_as(&eq(&it)));
        assert!(!eq(&hr).at_least_as_strict_as(&sub(&it)));
        assert!(!none.at_least_as_strict_as(&sub(&it)), "dropping the constraint");
        assert!(sub(&hr).at_least_as_strict_as(&none), "an unconstrained parent allows any child");
        let lower = ec(&[("department", "IT")]);
        assert!(eq(&lower).at_least_as_strict_as(&sub(&it)), "key case aside");
        let both = Constraints { subset: Some(&it), equals: Some(&it_test) };
        assert!(both.at_least_as_strict_as(&sub(&it)));
        assert!(both.at_least_as_strict_as(&eq(&it_test)));
        let contradiction = ec(&[("Department", "IT"), ("department", "HR")]);
        assert!(sub(&contradiction).at_least_as_strict_as(&eq(&hr)), "a child that allows nothing is always narrower");
    }

    #[test]
    fn named_principals() {
        let session = Principal::AssumedRole {
            account: "111122223333".into(),
            role: "app".into(),
            role_id: "AROA".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        };
        assert_eq!(named_as("arn:aws:sts::111122223333:assumed-role/app/ci", &session), GrantAllow::OnItsOwn);
        assert_eq!(named_as("arn:aws:iam::111122223333:role/app", &session), GrantAllow::OnItsOwn);
        assert_eq!(named_as("arn:aws:iam::111122223333:root", &session), GrantAllow::ThroughIdentity);
        assert_eq!(named_as("arn:aws:iam::444455556666:root", &session), GrantAllow::None);
        assert_eq!(named_as("arn:aws:iam::111122223333:role/other", &session), GrantAllow::None);
        assert_eq!(stronger(GrantAllow::ThroughIdentity, GrantAllow::OnItsOwn), GrantAllow::OnItsOwn);
        assert_eq!(stronger(GrantAllow::ThroughIdentity, GrantAllow::None), GrantAllow::ThroughIdentity);
    }
}
