//! GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. A key has one policy, named `default`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::list_keys::{page_response, KeyListRequest};
use crate::paging::paginate;
use crate::policy_check::check_new_policy;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

fn policy_name(name: Option<String>) -> Result<String, KmsError> {
    let name = name.unwrap_or_else(|| "default".into());
    validate::length(&name, "policyName", 1, 128)?;
    if name != "default" {
        return Err(KmsError::new(ErrorCode::NotFound, format!("Policy {name} is not found. The only valid policy name is default.")));
    }
    Ok(name)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRequest {
    key_id: Option<String>,
    policy_name: Option<String>,
}

pub(crate) fn get(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: GetRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let name = policy_name(req.policy_name)?;
    ctx.default_param("policyName", json!(name));
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    let policy = kms.read_key_as(caller, &arn, "kms:GetKeyPolicy", |key| Ok(key.policy.clone()))?;
    Ok(json!({ "Policy": policy, "PolicyName": name }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRequest {
    key_id: Option<String>,
    policy_name: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
}

pub(crate) fn put(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: PutRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let name = policy_name(req.policy_name)?;
    let text = validate::required(req.policy, "policy")?;
    validate::length(&text, "policy", 1, 131072)?;
    let bypass = req.bypass_policy_lockout_safety_check.unwrap_or(false);
    ctx.default_param("policyName", json!(name));
    ctx.default_param("bypassPolicyLockoutSafetyCheck", json!(bypass));
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    // kms:BypassPolicyLockoutSafetyCheck is present only when the request sends the member, so
    // AWS's `"Null": {"kms:BypassPolicyLockoutSafetyCheck": true}` example works.
    let extra: Vec<(&'static str, Vec<String>)> =
        req.bypass_policy_lockout_safety_check.map(|b| ("kms:bypasspolicylockoutsafetycheck", vec![b.to_string()])).into_iter().collect();
    kms.change_key_with(ctx, &arn, "kms:PutKeyPolicy", extra, |key| {
        key.check_not_pending_deletion()?;
        let doc = check_new_policy(&text, caller, &key.account, bypass)?;
        key.set_policy(doc);
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

pub(crate) fn list(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: KeyListRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    kms.read_key_as(caller, &arn, "kms:ListKeyPolicies", |_| Ok(()))?;
    let page = paginate("policies", vec![("default".to_string(), json!("default"))], req.limit, req.marker.as_deref(), 100, 1000)?;
    Ok(page_response("PolicyNames", page))
}
