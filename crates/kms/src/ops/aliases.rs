//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
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

/// Resolves a target key for an alias: own account, not pending deletion; authorizes `action` on it.
fn target(kms: &Kms, ctx: &mut CallContext<'_>, key_id: &str, action: &'static str) -> Result<String, KmsError> {
    let arn = kms.resolve(ctx, key_id, AliasUse::Refused)?;
    if !arn.contains(&format!(":{}:key/", ctx.account())) {
        return Err(KmsError::key_not_found(&arn));
    }
    let caller = ctx.caller;
    kms.read_key(
        &arn,
        |key| kms.authorize(&AccessRequest::new(caller, action, Some(key))),
        |key| {
            if key.state == KeyState::PendingDeletion {
                return Err(KmsError::invalid_state(&key.arn(), key.state.as_str()));
            }
            Ok(())
        },
    )?;
    Ok(arn)
}

fn authorize_alias(kms: &Kms, ctx: &CallContext<'_>, action: &'static str) -> Result<(), KmsError> {
    kms.authorize(&AccessRequest::new(ctx.caller, action, None))
}

pub(crate) fn create(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: AliasRequest = crate::wire::decode(body)?;
    let name = alias_name(req.alias_name)?;
    let key_id = validate::key_id(req.target_key_id, "targetKeyId")?;
    not_reserved(&name)?;
    let arn = target(kms, ctx, &key_id, "kms:CreateAlias")?;
    let a_arn = alias_arn(ctx.region(), ctx.account(), &name);
    let account = ctx.account().to_string();
    ctx.touch(&account, &a_arn);
    authorize_alias(kms, ctx, "kms:CreateAlias")?;
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

pub(crate) fn update(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: AliasRequest = crate::wire::decode(body)?;
    let name = alias_name(req.alias_name)?;
    let key_id = validate::key_id(req.target_key_id, "targetKeyId")?;
    not_reserved(&name)?;
    let a_arn = alias_arn(ctx.region(), ctx.account(), &name);
    let existing = kms.store.alias(&a_arn).ok_or_else(|| KmsError::alias_not_found(&a_arn))?;
    let new_arn = target(kms, ctx, &key_id, "kms:UpdateAlias")?;
    let account = ctx.account().to_string();
    ctx.touch(&account, &a_arn);
    let old_arn = existing.target_arn();
    ctx.touch(&account, &old_arn);
    authorize_alias(kms, ctx, "kms:UpdateAlias")?;
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
    let caller = ctx.caller;
    kms.read_key_as(caller, &key_arn, "kms:DeleteAlias", |_| Ok(()))?;
    authorize_alias(kms, ctx, "kms:DeleteAlias")?;
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
