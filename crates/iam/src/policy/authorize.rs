//! Combining the key policy, the caller's identity policies and grants into a KMS access
//! decision, with AWS's AccessDenied messages.
//!
//! The rules (AWS KMS developer guide, "Determining access to a KMS key"):
//! 1. An explicit Deny in the key policy or in any identity policy wins over everything.
//! 2. Same account: allowed when the key policy names the caller itself (user, role, session, or
//!    `*`); or when it names the account (delegation to IAM) and the caller is the root user or
//!    an identity policy allows.
//! 3. Cross account: the key policy must allow (naming the caller, its account or `*`) *and* the
//!    caller's identity policies must allow (the root user of the caller's account counts as
//!    allowed).
//! 4. A grant naming the caller (user, role, session) allows on its own, in the same account and
//!    across accounts ([`GrantAllow::OnItsOwn`]): AWS lets a grantee use a grant without any
//!    key-policy or IAM-policy permission. A grant naming the caller's *account*
//!    ([`GrantAllow::ThroughIdentity`]) delegates to that account's IAM, as a key policy naming
//!    the account does: the account's root may use it, anyone else only where an identity
//!    policy allows the action ("Grants in AWS KMS", grantee principal; "Allowing users in other
//!    accounts to use a KMS key", KMS Developer Guide). A grant cannot override an explicit
//!    Deny, so rule 1 still applies.
//!
//! Actions that name no key policy (account-level actions, alias ARNs, CloudTrail's own API)
//! are decided by identity policies alone: [`authorize_identity`].

use std::fmt;

use super::context::RequestContext;
use super::document::PolicyDocument;
use super::evaluate::{AllowScope, Decision};

/// Why a request was denied; each maps to one of AWS's AccessDenied message forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenialReason {
    /// No key-policy statement allows the request (and no grant does).
    NoResourcePolicyAllows,
    /// The key policy allows only through the caller's IAM policies, and none of them allows.
    NoIdentityPolicyAllows,
    /// A Deny statement in the key policy applies.
    ExplicitDenyInResourcePolicy,
    /// A Deny statement in one of the caller's identity policies applies.
    ExplicitDenyInIdentityPolicy,
}

/// A refused request: the reason, and what is needed to render AWS's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// Why the request was refused.
    pub reason: DenialReason,
    principal_arn: String,
    action: String,
    resource: String,
}

impl Denial {
    /// A denial of the request in `context` for `reason` (also used by callers that decide a
    /// denial themselves, such as KMS refusing a cross-account management action).
    pub fn new(reason: DenialReason, context: &RequestContext<'_>) -> Self {
        Denial {
            reason,
            principal_arn: context.principal().arn(),
            action: context.action().to_owned(),
            resource: context.resource().to_owned(),
        }
    }

    /// The `AccessDeniedException` message exactly as AWS words it, e.g.
    /// `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on
    /// resource: arn:aws:kms:… because no resource-based policy allows the kms:Decrypt action`.
    pub fn message(&self) -> String {
        let Denial { principal_arn, action, resource, .. } = self;
        let head = format!("User: {principal_arn} is not authorized to perform: {action} on resource: {resource}");
        match self.reason {
            DenialReason::NoResourcePolicyAllows => {
                format!("{head} because no resource-based policy allows the {action} action")
            }
            DenialReason::NoIdentityPolicyAllows => {
                format!("{head} because no identity-based policy allows the {action} action")
            }
            DenialReason::ExplicitDenyInResourcePolicy => {
                format!("{head} with an explicit deny in a resource-based policy")
            }
            DenialReason::ExplicitDenyInIdentityPolicy => {
                format!("{head} with an explicit deny in an identity-based policy")
            }
        }
    }

    /// The denied principal's ARN (`Principal::arn`).
    pub fn principal_arn(&self) -> &str {
        &self.principal_arn
    }

    /// The denied action, e.g. `kms:Decrypt`.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resource the action was denied on (the key ARN).
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Denial {}

/// What a grant on the key contributes to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantAllow {
    /// No grant allows the request.
    None,
    /// A grant names the caller itself: it allows on its own.
    OnItsOwn,
    /// A grant names the caller's account: it allows when the caller is the account's root or
    /// an identity policy of the caller allows the action.
    ThroughIdentity,
}

/// Decides a KMS request from the key policy and the caller's identity policies (no grants).
///
/// `key_owner` is the account that owns the key; the caller's account comes from the context.
pub fn authorize(
    key_policy: &PolicyDocument,
    identity_policies: &[PolicyDocument],
    context: &RequestContext<'_>,
    key_owner: &str,
) -> Result<(), Denial> {
    authorize_with_grant(key_policy, identity_policies, context, key_owner, GrantAllow::None)
}

/// Like [`authorize`], where `grant` says what a grant on the key allows; an explicit Deny in
/// any policy still wins over it.
///
/// When both policies deny explicitly, the key policy's deny is the one reported.
pub fn authorize_with_grant(
    key_policy: &PolicyDocument,
    identity_policies: &[PolicyDocument],
    context: &RequestContext<'_>,
    key_owner: &str,
    grant: GrantAllow,
) -> Result<(), Denial> {
    let deny = |reason| Err(Denial::new(reason, context));
    let key_decision = key_policy.evaluate(context);
    if key_decision == Decision::ExplicitDeny {
        return deny(DenialReason::ExplicitDenyInResourcePolicy);
    }
    let identity_decision = evaluate_identity_policies(identity_policies, context);
    if identity_decision == Decision::ExplicitDeny {
        return deny(DenialReason::ExplicitDenyInIdentityPolicy);
    }
    let caller = context.principal();
    let identity_allows = caller.is_root() || matches!(identity_decision, Decision::Allow(_));
    match grant {
        GrantAllow::OnItsOwn => return Ok(()),
        GrantAllow::ThroughIdentity if identity_allows => return Ok(()),
        GrantAllow::ThroughIdentity | GrantAllow::None => {}
    }
    let same_account = caller.account() == key_owner;
    match key_decision {
        Decision::Allow(AllowScope::Principal) if same_account => Ok(()),
        Decision::Allow(_) if identity_allows => Ok(()),
        Decision::Allow(_) => deny(DenialReason::NoIdentityPolicyAllows),
        Decision::ImplicitDeny | Decision::ExplicitDeny => deny(DenialReason::NoResourcePolicyAllows),
    }
}

/// Decides a request that no resource policy governs (account-level actions such as
/// `kms:CreateKey`, alias ARNs, CloudTrail's own API) from the caller's identity policies: an
/// explicit Deny wins; otherwise an account's root is allowed (IAM policies never restrict
/// it), and anyone else only where an identity policy allows ("Policy evaluation logic", IAM
/// User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
pub fn authorize_identity(identity_policies: &[PolicyDocument], context: &RequestContext<'_>) -> Result<(), Denial> {
    match evaluate_identity_policies(identity_policies, context) {
        Decision::ExplicitDeny => Err(Denial::new(DenialReason::ExplicitDenyInIdentityPolicy, context)),
        Decision::Allow(_) => Ok(()),
        Decision::ImplicitDeny if context.principal().is_root() => Ok(()),
        Decision::ImplicitDeny => Err(Denial::new(DenialReason::NoIdentityPolicyAllows, context)),
    }
}

/// All identity policies together: any Deny wins, otherwise any Allow allows.
fn evaluate_identity_policies(policies: &[PolicyDocument], context: &RequestContext<'_>) -> Decision {
    let mut combined = Decision::ImplicitDeny;
    for policy in policies {
        match policy.evaluate(context) {
            Decision::ExplicitDeny => return Decision::ExplicitDeny,
            allow @ Decision::Allow(_) => combined = allow,
            Decision::ImplicitDeny => {}
        }
    }
    combined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{default_key_policy, PolicyKind};
    use crate::principal::Principal;

    const OWNER: &str = "111122223333";
    const OTHER: &str = "444455556666";
    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn user(account: &str, name: &str) -> Principal {
        Principal::User { account: account.into(), name: name.into(), unique_id: "AIDA".into() }
    }

    fn session(account: &str) -> Principal {
        Principal::AssumedRole {
            account: account.into(),
            role: "app".into(),
            role_id: "AROA".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        }
    }

    fn key_policy(statements: &str) -> PolicyDocument {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        PolicyDocument::parse(&text, PolicyKind::KeyPolicy).unwrap()
    }

    fn identity(statements: &str) -> PolicyDocument {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        PolicyDocument::parse(&text, PolicyKind::IdentityPolicy).unwrap()
    }

    fn default_policy() -> PolicyDocument {
        PolicyDocument::parse(&default_key_policy(OWNER), PolicyKind::KeyPolicy).unwrap()
    }

    fn allow_all() -> PolicyDocument {
        identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#)
    }

    fn check(key: &PolicyDocument, ids: &[PolicyDocument], caller: &Principal, extra: bool) -> Result<(), DenialReason> {
        let grant = if extra { GrantAllow::OnItsOwn } else { GrantAllow::None };
        check_grant(key, ids, caller, grant)
    }

    fn check_grant(key: &PolicyDocument, ids: &[PolicyDocument], caller: &Principal, grant: GrantAllow) -> Result<(), DenialReason> {
        let context = RequestContext::new(caller, "kms:Decrypt", KEY_ARN);
        authorize_with_grant(key, ids, &context, OWNER, grant).map_err(|d| d.reason)
    }

    #[test]
    fn messages_match_aws_exactly() {
        let caller = session(OTHER);
        let context = RequestContext::new(&caller, "kms:Decrypt", KEY_ARN);
        let head = "User: arn:aws:sts::444455556666:assumed-role/app/ci is not authorized to perform: kms:Decrypt \
                    on resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let cases = [
            (DenialReason::NoResourcePolicyAllows, " because no resource-based policy allows the kms:Decrypt action"),
            (DenialReason::NoIdentityPolicyAllows, " because no identity-based policy allows the kms:Decrypt action"),
            (DenialReason::ExplicitDenyInResourcePolicy, " with an explicit deny in a resource-based policy"),
            (DenialReason::ExplicitDenyInIdentityPolicy, " with an explicit deny in an identity-based policy"),
        ];
        for (reason, tail) in cases {
            let denial = Denial::new(reason, &context);
            assert_eq!(denial.message(), format!("{head}{tail}"));
            assert_eq!(denial.to_string(), denial.message());
        }
    }

    #[test]
    fn same_account_delegation_needs_an_identity_policy() {
        let key = default_policy();
        let alice = user(OWNER, "alice");
        assert_eq!(check(&key, &[allow_all()], &alice, false), Ok(()));
        assert_eq!(check(&key, &[], &alice, false), Err(DenialReason::NoIdentityPolicyAllows));
        let encrypt_only = identity(r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}"#);
        assert_eq!(check(&key, &[encrypt_only], &alice, false), Err(DenialReason::NoIdentityPolicyAllows));
        assert_eq!(check(&key, &[], &Principal::root(OWNER), false), Ok(()), "root needs no identity policy");
        let context = RequestContext::new(&alice, "kms:Decrypt", KEY_ARN);
        let denial = authorize(&key, &[], &context, OWNER).unwrap_err();
        assert_eq!(
            denial.message(),
            format!("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: {KEY_ARN} because no identity-based policy allows the kms:Decrypt action")
        );
    }

    #[test]
    fn same_account_named_principal_needs_no_identity_policy() {
        let by_role = key_policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Decrypt","Resource":"*"}"#,
        );
        assert_eq!(check(&by_role, &[], &session(OWNER), false), Ok(()));
        assert_eq!(check(&by_role, &[allow_all()], &user(OWNER, "alice"), false), Err(DenialReason::NoResourcePolicyAllows));
        let everyone = key_policy(r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#);
        assert_eq!(check(&everyone, &[], &user(OWNER, "alice"), false), Ok(()));
    }

    #[test]
    fn no_key_policy_allow_means_no_resource_policy_allows() {
        let key =
            key_policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#);
        assert_eq!(check(&key, &[allow_all()], &user(OWNER, "alice"), false), Err(DenialReason::NoResourcePolicyAllows));
        assert_eq!(check(&key, &[], &Principal::root(OWNER), false), Err(DenialReason::NoResourcePolicyAllows), "root can be locked out");
    }

    #[test]
    fn explicit_denies_win() {
        let key = key_policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
               {"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:Decrypt","Resource":"*"}"#,
        );
        let alice = user(OWNER, "alice");
        assert_eq!(check(&key, &[allow_all()], &alice, true), Err(DenialReason::ExplicitDenyInResourcePolicy));
        let deny = identity(r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#);
        assert_eq!(
            check(&key, std::slice::from_ref(&deny), &alice, false),
            Err(DenialReason::ExplicitDenyInResourcePolicy),
            "key policy deny reported first"
        );
        assert_eq!(check(&default_policy(), &[allow_all(), deny.clone()], &alice, false), Err(DenialReason::ExplicitDenyInIdentityPolicy));
        assert_eq!(
            check(&default_policy(), &[deny], &alice, true),
            Err(DenialReason::ExplicitDenyInIdentityPolicy),
            "a grant cannot beat a deny"
        );
    }

    #[test]
    fn a_grant_allows_on_its_own() {
        let nobody =
            key_policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#);
        assert_eq!(check(&nobody, &[], &user(OWNER, "alice"), true), Ok(()));
        assert_eq!(check(&nobody, &[], &session(OTHER), true), Ok(()));
        assert_eq!(check(&nobody, &[], &session(OTHER), false), Err(DenialReason::NoResourcePolicyAllows));
    }

    /// A grant to an account delegates to the account's IAM: its root may use it, its other
    /// principals only with an identity policy allowing the action, in any account.
    #[test]
    fn a_grant_to_an_account_needs_an_identity_policy() {
        let nobody =
            key_policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#);
        let through = GrantAllow::ThroughIdentity;
        assert_eq!(check_grant(&nobody, &[], &user(OWNER, "alice"), through), Err(DenialReason::NoResourcePolicyAllows));
        assert_eq!(check_grant(&nobody, &[allow_all()], &user(OWNER, "alice"), through), Ok(()));
        assert_eq!(check_grant(&nobody, &[], &Principal::root(OWNER), through), Ok(()));
        assert_eq!(check_grant(&nobody, &[], &session(OTHER), through), Err(DenialReason::NoResourcePolicyAllows));
        assert_eq!(check_grant(&nobody, &[allow_all()], &session(OTHER), through), Ok(()));
        let deny = identity(r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#);
        assert_eq!(check_grant(&nobody, &[allow_all(), deny], &session(OTHER), through), Err(DenialReason::ExplicitDenyInIdentityPolicy));
    }

    #[test]
    fn identity_only_decisions() {
        let alice = user(OWNER, "alice");
        let decide = |ids: &[PolicyDocument], who: &Principal| {
            authorize_identity(ids, &RequestContext::new(who, "kms:CreateKey", "*")).map_err(|d| d.reason)
        };
        assert_eq!(decide(&[], &alice), Err(DenialReason::NoIdentityPolicyAllows));
        assert_eq!(decide(&[allow_all()], &alice), Ok(()));
        assert_eq!(decide(&[], &Principal::root(OWNER)), Ok(()));
        let deny = identity(r#"{"Effect":"Deny","Action":"kms:Create*","Resource":"*"}"#);
        assert_eq!(decide(&[allow_all(), deny], &alice), Err(DenialReason::ExplicitDenyInIdentityPolicy));
    }

    #[test]
    fn cross_account_needs_both_policies() {
        let caller = session(OTHER);
        let allow_other =
            key_policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#);
        assert_eq!(check(&allow_other, &[allow_all()], &caller, false), Ok(()));
        assert_eq!(check(&allow_other, &[], &caller, false), Err(DenialReason::NoIdentityPolicyAllows));
        assert_eq!(check(&allow_other, &[], &Principal::root(OTHER), false), Ok(()));
        // Even a key policy naming the session itself needs the caller's IAM policy across accounts.
        let named = key_policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::444455556666:assumed-role/app/ci"},"Action":"kms:Decrypt","Resource":"*"}"#,
        );
        assert_eq!(check(&named, &[], &caller, false), Err(DenialReason::NoIdentityPolicyAllows));
        assert_eq!(check(&named, &[allow_all()], &caller, false), Ok(()));
        // The owner's default policy does not let other accounts in, whatever their IAM says.
        assert_eq!(check(&default_policy(), &[allow_all()], &caller, false), Err(DenialReason::NoResourcePolicyAllows));
    }

    #[test]
    fn conditions_use_kms_supplied_keys() {
        let key = key_policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
                "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:EncryptionContext:app":"web"}}}"#,
        );
        let alice = user(OWNER, "alice");
        let good = RequestContext::new(&alice, "kms:Decrypt", KEY_ARN)
            .with_value("kms:CallerAccount", OWNER)
            .with_value("kms:EncryptionContext:app", "web");
        assert!(authorize(&key, &[], &good, OWNER).is_ok());
        let bad = RequestContext::new(&alice, "kms:Decrypt", KEY_ARN).with_value("kms:CallerAccount", OWNER);
        assert_eq!(authorize(&key, &[], &bad, OWNER).unwrap_err().reason, DenialReason::NoResourcePolicyAllows);
    }
}
