//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
//!
//! Authorization follows "Controlling access to aliases": each operation needs its action on the
//! alias ARN through IAM, and on every key it affects through the key policy.
//!
//! Choice: the void alias operations record `{"keyId": "<key ARN>"}` as responseElements, as the
//! other void key-management operations do since December 2022 (the archived 2022 CreateAlias
//! example still shows `null`).

use serde::Deserialize;
use serde_json::{json, Value};

use super::list_keys::page_response;
use crate::authorize::AccessRequest;
use crate::key::{alias_arn, epoch_f64, KeyState};
use crate::paging::paginate;
use crate::store::Alias;
use crate::{validate, AliasUse, CallContext, Change, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasRequest {
    alias_name: Option<String>,
    target_key_id: Option<String>,
}

fn alias_name(name: Option<String>) -> Result<String, KmsError> {
    let name = validate::required(name, "aliasName")?;
    validate::length(&name, "aliasName", 1, 256)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b)) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Err(KmsError::new(ErrorCode::InvalidAliasName, format!("Alias must start with the prefix \"alias/\": {name}")));
    }
    Ok(name)
}

fn not_reserved(name: &str) -> Result<(), KmsError> {
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(
            ErrorCode::InvalidAliasName,
            format!("Alias {name} cannot begin with alias/aws/. The alias/aws/ prefix is reserved for AWS managed keys."),
        ));
    }
    Ok(())
}

/// Resolves a target key for an alias: a key of the caller's own account.
fn resolve_target(kms: &Kms, ctx: &mut CallContext<'_>, key_id: &str) -> Result<String, KmsError> {
    let arn = kms.resolve(ctx, key_id, AliasUse::Refused)?;
    if !arn.contains(&format!(":{}:key/", ctx.account())) {
        return Err(KmsError::key_not_found(&arn));
    }
    Ok(arn)
}

/// Authorizes `action` on a key the alias points at, or will: through its key policy (and the
/// IAM policies it delegates to). A target must not be pending deletion.
fn authorize_key(kms: &Kms, ctx: &CallContext<'_>, arn: &str, action: &'static str, target: bool) -> Result<(), KmsError> {
    let caller = ctx.caller;
    kms.read_key(
        arn,
        |key| kms.authorize(&AccessRequest::new(caller, action, Some(key))),
        |key| {
            if target && key.state == KeyState::PendingDeletion {
                return Err(KmsError::invalid_state(&key.arn(), key.state.as_str()));
            }
            Ok(())
        },
    )
}

/// Authorizes `action` on the alias itself: through the caller's IAM policies, with the alias
/// ARN as the resource, so `Resource: arn:aws:kms:*:*:alias/Restricted*` statements apply
/// ("Controlling access to aliases", KMS Developer Guide,
/// https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html).
fn authorize_alias(kms: &Kms, ctx: &CallContext<'_>, action: &'static str, alias_arn: &str) -> Result<(), KmsError> {
    kms.authorize(&AccessRequest { resource: Some(alias_arn), ..AccessRequest::new(ctx.caller, action, None) })
}

/// CreateAlias needs `kms:CreateAlias` on the alias (IAM) and on the key (key policy).
pub(crate) fn create(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: AliasRequest = crate::wire::decode(body)?;
    let name = alias_name(req.alias_name)?;
    let key_id = validate::key_id(req.target_key_id, "targetKeyId")?;
    not_reserved(&name)?;
    let arn = resolve_target(kms, ctx, &key_id)?;
    let a_arn = alias_arn(ctx.region(), ctx.account(), &name);
    let account = ctx.account().to_string();
    ctx.touch(&account, &a_arn);
    authorize_alias(kms, ctx, "kms:CreateAlias", &a_arn)?;
    authorize_key(kms, ctx, &arn, "kms:CreateAlias", true)?;
    let now = epoch_f64(ctx.now);
    let alias = Alias {
        name: name.clone(),
        account: ctx.account().to_string(),
        region: ctx.region().to_string(),
        target_key_id: arn.rsplit('/').next().unwrap_or_default().to_string(),
        created: now,
        updated: now,
    };
    if !kms.store.insert_alias_if_absent(alias) {
        return Err(KmsError::new(ErrorCode::AlreadyExists, format!("An alias with the name {a_arn} already exists")));
    }
    ctx.changes.push(Change::Alias(a_arn));
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

/// UpdateAlias needs `kms:UpdateAlias` on the alias (IAM), on the key it points at now and on
/// the key it will point at (key policies): whoever controls one key cannot repoint another
/// key's alias at it.
pub(crate) fn update(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: AliasRequest = crate::wire::decode(body)?;
    let name = alias_name(req.alias_name)?;
    let key_id = validate::key_id(req.target_key_id, "targetKeyId")?;
    not_reserved(&name)?;
    let a_arn = alias_arn(ctx.region(), ctx.account(), &name);
    let existing = kms.store.alias(&a_arn).ok_or_else(|| KmsError::alias_not_found(&a_arn))?;
    let new_arn = resolve_target(kms, ctx, &key_id)?;
    let account = ctx.account().to_string();
    ctx.touch(&account, &a_arn);
    let old_arn = existing.target_arn();
    ctx.touch(&account, &old_arn);
    authorize_alias(kms, ctx, "kms:UpdateAlias", &a_arn)?;
    // The current key may be gone (deleted with its alias left behind): nothing to authorize.
    if kms.store.with_key(&old_arn, |_| ()).is_some() {
        authorize_key(kms, ctx, &old_arn, "kms:UpdateAlias", false)?;
    }
    authorize_key(kms, ctx, &new_arn, "kms:UpdateAlias", true)?;
    let compatible = |arn: &str| kms.store.with_key(arn, |k| (k.key_spec.clone(), k.key_usage.clone()));
    if compatible(&old_arn).is_some() && compatible(&old_arn) != compatible(&new_arn) {
        return Err(KmsError::validation("The new target key must have the same key type and key usage as the alias's current key."));
    }
    kms.store.put_alias(Alias {
        target_key_id: new_arn.rsplit('/').next().unwrap_or_default().to_string(),
        updated: epoch_f64(ctx.now),
        ..existing
    });
    ctx.changes.push(Change::Alias(a_arn));
    Kms::respond_with_key_arn(ctx, &new_arn);
    Ok(json!({}))
}

/// DeleteAlias needs `kms:DeleteAlias` on the alias (IAM) and on its key (key policy).
pub(crate) fn delete(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: AliasRequest = crate::wire::decode(body)?;
    let name = alias_name(req.alias_name)?;
    not_reserved(&name)?;
    let a_arn = alias_arn(ctx.region(), ctx.account(), &name);
    let existing = kms.store.alias(&a_arn).ok_or_else(|| KmsError::alias_not_found(&a_arn))?;
    let key_arn = existing.target_arn();
    let account = ctx.account().to_string();
    ctx.touch(&account, &key_arn);
    ctx.touch(&account, &a_arn);
    authorize_alias(kms, ctx, "kms:DeleteAlias", &a_arn)?;
    authorize_key(kms, ctx, &key_arn, "kms:DeleteAlias", false)?;
    kms.store.remove_alias(&a_arn);
    ctx.changes.push(Change::Alias(a_arn));
    Kms::respond_with_key_arn(ctx, &key_arn);
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub(crate) fn list(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: ListRequest = crate::wire::decode(body)?;
    let filter = match &req.key_id {
        Some(k) => {
            validate::length(k, "keyId", 1, 2048)?;
            Some(kms.resolve(ctx, k, AliasUse::Refused)?)
        }
        None => None,
    };
    // ListAliases is authorized on `*` through IAM only, with or without KeyId (KMS permissions
    // reference: its resource is "*"; "kms:ListAliases", "Controlling access to aliases").
    kms.authorize(&AccessRequest::new(ctx.caller, "kms:ListAliases", None))?;
    let aliases = kms
        .store
        .aliases_in(ctx.account(), ctx.region())
        .into_iter()
        .filter(|a| filter.as_deref().is_none_or(|f| a.target_arn() == f))
        .map(|a| {
            (
                a.name.clone(),
                json!({
                    "AliasName": a.name,
                    "AliasArn": a.arn(),
                    "TargetKeyId": a.target_key_id,
                    "CreationDate": a.created,
                    "LastUpdatedDate": a.updated,
                }),
            )
        })
        .collect();
    let page = paginate("aliases", aliases, req.limit, req.marker.as_deref(), 50, 100)?;
    Ok(page_response("Aliases", page))
}
