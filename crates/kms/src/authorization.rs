//! keytrail's real authorizer: key policies, identity policies and grants, evaluated as AWS does.
//!
//! Same account: the key policy must allow — naming the caller, or the account (then the caller's
//! identity policies decide; an account's root is never restricted by IAM). Cross account: the
//! key policy must allow the caller or its account AND the caller's identity policies must allow.
//! A grant allows its operations to its grantee within its constraints (see [`crate::grants`]).
//! An explicit Deny anywhere wins. Actions on no key (CreateKey, ListKeys, the alias ARN of the
//! alias operations, …) are decided by identity policies alone. RetireGrant is the grant's to
//! decide ([`retire`]).
//!
//! The request context (the condition keys) is built only when one of the policies has a
//! `Condition` or a policy variable; even then, the costly keys — the key's aliases and tags, the
//! encryption context's pairs, the time — are computed only if a condition reads them.

use std::sync::Arc;

use keytrail_iam::policy::{
    authorize_identity, authorize_with_grant, fold_names, ConditionValue, Decision, Denial, DenialReason, GrantAllow, PolicyDocument,
    RequestContext,
};
use keytrail_iam::{CredentialDirectory, Principal};

use crate::authorize::{AccessRequest, Authorizer};
use crate::grants::{grant_allows, named_as, parse_grant_token};
use crate::key::{Grant, Key};
use crate::store::KeyStore;
use crate::{Clock, ErrorCode, KmsError};

/// Actions KMS lets a principal of another account perform on a key (AWS's "cross-account use"
/// column). Anything else on another account's key is denied as no resource policy allowing it.
const CROSS_ACCOUNT_ACTIONS: &[&str] = &[
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeriveSharedSecret",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateMac",
    "kms:GetKeyRotationStatus",
    "kms:GetPublicKey",
    "kms:ListGrants",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:Sign",
    "kms:Verify",
    "kms:VerifyMac",
];

/// Evaluates policies and grants; identity policies and principal tags come from the credential
/// directory, `aws:CurrentTime` from the mock clock.
pub struct PolicyAuthorizer {
    directory: Arc<CredentialDirectory>,
    clock: Clock,
}

impl PolicyAuthorizer {
    /// An authorizer reading identity policies from `directory` and the time from `clock`.
    pub fn new(directory: Arc<CredentialDirectory>, clock: Clock) -> Self {
        PolicyAuthorizer { directory, clock }
    }

    /// The context every request has: the global keys of the caller and the request.
    fn base_context<'a>(&'a self, req: &'a AccessRequest<'_>, resource: &'a str) -> RequestContext<'a> {
        let principal = &req.caller.principal;
        RequestContext::for_caller(req.caller, req.action, resource, self.clock.now(), self.directory.tags_of(principal))
    }

    /// The context of an action on `key` (ARN `arn`): the global keys, the key's own keys, and
    /// the request's.
    fn key_context<'a>(&'a self, store: &'a KeyStore, req: &'a AccessRequest<'_>, key: &'a Key, arn: &'a str) -> RequestContext<'a> {
        let principal = &req.caller.principal;
        let mut ctx = self
            .base_context(req, arn)
            .with_value("kms:CallerAccount", principal.account())
            .with_value("kms:KeySpec", key.key_spec.as_str())
            .with_value("kms:CustomerMasterKeySpec", key.key_spec.as_str())
            .with_value("kms:KeyUsage", key.key_usage.as_str())
            .with_value("kms:CustomerMasterKeyUsage", key.key_usage.as_str())
            .with_value("kms:KeyOrigin", key.origin.as_str())
            .with_value("kms:MultiRegion", key.multi_region.to_string())
            .with_value("aws:ResourceAccount", key.account.as_str())
            // Listing the key's aliases scans them all: done only if a condition asks.
            .with_deferred("kms:ResourceAliases", move || ConditionValue::Multi(store.alias_names_of(arn)))
            .with_family("aws:resourcetag/", move || fold_names(key.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        if key.multi_region {
            // keytrail's multi-Region keys are all primary keys (ReplicateKey is not served).
            ctx = ctx.with_value("kms:MultiRegionKeyType", "PRIMARY");
        }
        if let Some(ec) = req.encryption_context {
            ctx = ctx
                .with_family("kms:encryptioncontext:", move || fold_names(ec.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
                .with_deferred("kms:EncryptionContextKeys", move || ConditionValue::Multi(ec.keys().cloned().collect()));
        }
        if let Some(alias) = req.request_alias {
            // kms:RequestAlias is the alias name, whether the request used the name or the ARN.
            let name = alias.find("alias/").map(|i| &alias[i..]).unwrap_or(alias);
            ctx = ctx.with_value("kms:RequestAlias", name);
        }
        with_request_keys(ctx, req)
    }
}

/// The keys that come from the request's own members: `extra_conditions`, and the tags it sets
/// or names (`aws:RequestTag/<k>`, `aws:TagKeys`).
fn with_request_keys<'a>(mut ctx: RequestContext<'a>, req: &'a AccessRequest<'_>) -> RequestContext<'a> {
    for (k, values) in &req.extra_conditions {
        ctx.insert(k, ConditionValue::Multi(values.clone()));
    }
    if let Some(tags) = req.request_tags {
        ctx = ctx
            .with_family("aws:requesttag/", move || fold_names(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
            .with_values("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()));
    }
    if let Some(keys) = req.tag_keys {
        ctx = ctx.with_values("aws:TagKeys", keys.iter().cloned());
    }
    ctx
}

fn denial(reason: DenialReason, ctx: &RequestContext<'_>) -> KmsError {
    access_denied(Denial::new(reason, ctx))
}

fn access_denied(denial: Denial) -> KmsError {
    KmsError::new(ErrorCode::AccessDenied, denial.message())
}

impl Authorizer for PolicyAuthorizer {
    fn authorize(&self, store: &KeyStore, req: &AccessRequest<'_>) -> Result<(), KmsError> {
        for token in req.grant_tokens {
            parse_grant_token(token)?;
        }
        let principal = &req.caller.principal;
        let identity = self.directory.policies_of(principal);
        let reads = identity.iter().any(PolicyDocument::reads_context);
        let Some(key) = req.key else {
            return self.without_key(identity, reads, req);
        };
        let arn = key.arn();
        let policy = key.policy_document()?;
        let ctx = if reads || policy.reads_context() {
            self.key_context(store, req, key, &arn)
        } else {
            // No condition and no policy variable anywhere: the keys would go unread.
            RequestContext::without_keys(principal, req.action, &arn)
        };
        if let Some(grant) = req.retiring {
            return retire(&policy, identity, &ctx, grant, &key.account);
        }
        if principal.account() != key.account && !CROSS_ACCOUNT_ACTIONS.contains(&req.action) {
            return Err(denial(DenialReason::NoResourcePolicyAllows, &ctx));
        }
        let grant = grant_allows(key, principal, req.action, req.encryption_context, req.new_grant);
        authorize_with_grant(&policy, identity, &ctx, &key.account, grant).map_err(access_denied)
    }
}

impl PolicyAuthorizer {
    /// Actions on no key: identity policies alone. On `*` the request's keys apply; on an alias
    /// ARN only the global ones ("You can't use condition keys in a policy statement where the
    /// resource is an alias", "Controlling access to aliases", KMS Developer Guide).
    fn without_key(&self, identity: &[PolicyDocument], reads: bool, req: &AccessRequest<'_>) -> Result<(), KmsError> {
        let principal = &req.caller.principal;
        let resource = req.resource.unwrap_or("*");
        let ctx = match (reads, req.resource) {
            (false, _) => RequestContext::without_keys(principal, req.action, resource),
            (true, Some(_)) => self.base_context(req, resource),
            (true, None) => with_request_keys(self.base_context(req, resource).with_value("kms:CallerAccount", principal.account()), req),
        };
        authorize_identity(identity, &ctx).map_err(access_denied)
    }
}

/// RetireGrant, as "Retiring and revoking grants" (KMS Developer Guide,
/// https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html) says: the grant's
/// retiring principal may retire it, its grantee if the grant includes `RetireGrant`, and "as a
/// backup, the AWS account in which the grant was created"; "the AWS account that owns the KMS
/// key can use the kms:RetireGrant permission to delegate permission to retire the grant to an
/// IAM user in the account". Where one of them is an account (`…:root`), its root may, and its
/// other principals where an identity policy allows `kms:RetireGrant`. An identity-policy Deny on
/// `kms:RetireGrant` always applies.
///
/// Choices where the page leaves it open: "The kms:RetireGrant permission is not effective in a
/// key policy" is read as a key-policy *Allow* granting nothing; a key-policy *Deny* still
/// applies (explicit denies win everywhere else). A refusal is reported as "no identity-based
/// policy allows" when the caller's account is one the grant delegates to, else as "no
/// resource-based policy allows".
fn retire(
    policy: &PolicyDocument,
    identity: &[PolicyDocument],
    ctx: &RequestContext<'_>,
    grant: &Grant,
    key_owner: &str,
) -> Result<(), KmsError> {
    if policy.evaluate(ctx) == Decision::ExplicitDeny {
        return Err(denial(DenialReason::ExplicitDenyInResourcePolicy, ctx));
    }
    let iam_allows = match authorize_identity(identity, ctx) {
        Ok(()) => true,
        Err(d) if d.reason == DenialReason::ExplicitDenyInIdentityPolicy => return Err(access_denied(d)),
        Err(_) => false,
    };
    let principal: &Principal = ctx.principal();
    let mut delegated = false;
    let mut covers = |arn: &str| match named_as(arn, principal) {
        GrantAllow::OnItsOwn => true,
        GrantAllow::ThroughIdentity => {
            delegated = true;
            iam_allows
        }
        GrantAllow::None => false,
    };
    let retiring = grant.retiring_principal.as_deref().is_some_and(&mut covers);
    let grantee = grant.operations.iter().any(|o| o == "RetireGrant") && covers(&grant.grantee_principal);
    let issuer = covers(&grant.issuing_account) || covers(&format!("arn:aws:iam::{key_owner}:root"));
    if retiring || grantee || issuer {
        return Ok(());
    }
    let reason = if delegated { DenialReason::NoIdentityPolicyAllows } else { DenialReason::NoResourcePolicyAllows };
    Err(denial(reason, ctx))
}
