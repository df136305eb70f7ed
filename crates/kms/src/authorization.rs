//! keytrail's real authorizer: key policies, identity policies and grants, evaluated as AWS does.
//!
//! Same account: the key policy must allow — naming the caller, or the account (then the caller's
//! identity policies decide; an account's root is never restricted by IAM). Cross account: the
//! key policy must allow the caller or its account AND the caller's identity policies must allow.
//! A grant allows its operations to its grantee within its constraints. An explicit Deny anywhere
//! wins. Account-level actions (CreateKey, ListKeys, …) are decided by identity policies alone.

use std::sync::Arc;

use keytrail_iam::policy::{authorize_with_extra_allow, ConditionValue, Decision, Denial, DenialReason, PolicyDocument, RequestContext};
use keytrail_iam::{CredentialDirectory, Principal};

use crate::authorize::{AccessRequest, Authorizer};
use crate::grants::{grant_allows, parse_grant_token};
use crate::key::Key;
use crate::store::KeyStore;
use crate::{ErrorCode, KmsError};

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

/// Evaluates policies and grants; identity policies come from the credential directory.
pub struct PolicyAuthorizer {
    directory: Arc<CredentialDirectory>,
}

impl PolicyAuthorizer {
    /// An authorizer reading identity policies from `directory`.
    pub fn new(directory: Arc<CredentialDirectory>) -> Self {
        PolicyAuthorizer { directory }
    }
}

fn denied(reason: DenialReason, ctx: &RequestContext<'_>) -> KmsError {
    KmsError::new(ErrorCode::AccessDenied, Denial::new(reason, ctx).message())
}

impl Authorizer for PolicyAuthorizer {
    fn authorize(&self, store: &KeyStore, req: &AccessRequest<'_>) -> Result<(), KmsError> {
        for token in req.grant_tokens {
            parse_grant_token(token)?;
        }
        let principal = &req.caller.principal;
        let identity = self.directory.policies_of(principal);
        let Some(key) = req.key else {
            return identity_only(principal, identity, req);
        };
        let arn = key.arn();
        let policy = key.policy_document()?;
        if !policy.reads_context() && !identity.iter().any(PolicyDocument::reads_context) {
            // No condition and no policy variable anywhere: the keys below would go unread.
            return decide(principal, identity, &policy, RequestContext::without_keys(principal, req.action, &arn), key, req);
        }
        let mut ctx = RequestContext::new(principal, req.action, &arn)
            .with_value("kms:CallerAccount", principal.account())
            .with_value("kms:KeySpec", key.key_spec.as_str())
            .with_value("kms:KeyUsage", key.key_usage.as_str())
            .with_value("kms:KeyOrigin", key.origin.as_str())
            .with_value("kms:MultiRegion", key.multi_region.to_string())
            .with_value("aws:ResourceAccount", key.account.as_str())
            // Listing the key's aliases scans them all: done only if a condition asks.
            .with_deferred("kms:ResourceAliases", || ConditionValue::Multi(store.alias_names_of(&arn)));
        if let Some(ec) = req.encryption_context {
            for (k, v) in ec {
                ctx.insert(&format!("kms:EncryptionContext:{k}"), ConditionValue::Single(v.clone()));
            }
            ctx = ctx.with_values("kms:EncryptionContextKeys", ec.keys().cloned());
        }
        if let Some(alias) = req.request_alias {
            // kms:RequestAlias is the alias name, whether the request used the name or the ARN.
            let name = alias.find("alias/").map(|i| &alias[i..]).unwrap_or(alias);
            ctx = ctx.with_value("kms:RequestAlias", name);
        }
        for (k, values) in &req.extra_conditions {
            ctx.insert(k, ConditionValue::Multi(values.clone()));
        }
        decide(principal, identity, &policy, ctx, key, req)
    }
}

/// The decision once the request context is built: cross-account limits, then key policy,
/// identity policies and grants together.
fn decide(
    principal: &Principal,
    identity: &[PolicyDocument],
    policy: &PolicyDocument,
    ctx: RequestContext<'_>,
    key: &Key,
    req: &AccessRequest<'_>,
) -> Result<(), KmsError> {
    if principal.account() != key.account && !CROSS_ACCOUNT_ACTIONS.contains(&req.action) {
        return Err(denied(DenialReason::NoResourcePolicyAllows, &ctx));
    }
    let grant = grant_allows(key, principal, req.action, req.encryption_context);
    authorize_with_extra_allow(policy, identity, &ctx, &key.account, grant).map_err(|d| KmsError::new(ErrorCode::AccessDenied, d.message()))
}

/// Account-level actions: only identity policies apply; roots are always allowed.
fn identity_only(principal: &Principal, identity: &[PolicyDocument], req: &AccessRequest<'_>) -> Result<(), KmsError> {
    let resource = "*";
    let mut ctx = RequestContext::new(principal, req.action, resource).with_value("kms:CallerAccount", principal.account());
    for (k, values) in &req.extra_conditions {
        ctx.insert(k, ConditionValue::Multi(values.clone()));
    }
    let decisions: Vec<Decision> = identity.iter().map(|p| p.evaluate(&ctx)).collect();
    if decisions.iter().any(|d| matches!(d, Decision::ExplicitDeny)) {
        return Err(denied(DenialReason::ExplicitDenyInIdentityPolicy, &ctx));
    }
    if principal.is_root() || decisions.iter().any(|d| matches!(d, Decision::Allow(_))) {
        return Ok(());
    }
    Err(denied(DenialReason::NoIdentityPolicyAllows, &ctx))
}
