//! Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
//! ListKeyRotations. Rotation adds a material version and keeps the old ones.

use serde::Deserialize;
use serde_json::{json, Value};

use super::key_state::key_arn_of;
use super::list_keys::page_response;
use crate::key::{Key, KeyMaterial, KeyState, RotationSchedule, RotationType};
use crate::paging::paginate;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError, ServiceEvent};

/// Days between automatic rotations when EnableKeyRotation names none.
pub const DEFAULT_ROTATION_DAYS: i64 = 365;
/// On-demand rotations allowed per key (AWS's quota).
pub const ON_DEMAND_ROTATION_LIMIT: usize = 25;
const DAY: i64 = 86_400;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnableRequest {
    key_id: Option<String>,
    rotation_period_in_days: Option<i64>,
}

fn check_rotatable(key: &Key) -> Result<(), KmsError> {
    if !key.is_symmetric_encryption() {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("{} is not a symmetric encryption key; automatic rotation is not supported.", key.arn()),
        ));
    }
    key.check_usable()
}

/// Automatic rotation settings: symmetric keys with KMS-generated material only. The origin is
/// checked before the key state, as AWS's key-state table says for EXTERNAL keys (even while
/// pending import): "UnsupportedOperationException: <key ARN> origin is EXTERNAL which is not
/// valid for this operation."
fn check_automatic_rotation(key: &Key) -> Result<(), KmsError> {
    if key.is_symmetric_encryption() && key.origin != "AWS_KMS" {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("{} origin is {} which is not valid for this operation.", key.arn(), key.origin),
        ));
    }
    check_rotatable(key)
}

pub(crate) fn enable(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: EnableRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let days = req.rotation_period_in_days.unwrap_or(DEFAULT_ROTATION_DAYS);
    validate::range(days, "rotationPeriodInDays", 90, 2560)?;
    ctx.default_param("rotationPeriodInDays", json!(days));
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let now = ctx.now_secs();
    // kms:RotationPeriodInDays holds the period used, sent or defaulted (KMS condition keys:
    // request conditions "work even when the parameter doesn't appear in the request").
    let extra = vec![("kms:rotationperiodindays", vec![days.to_string()])];
    kms.change_key_with(ctx, &arn, "kms:EnableKeyRotation", extra, |key| {
        check_automatic_rotation(key)?;
        key.rotation = Some(RotationSchedule { period_days: days as u32, next_rotation: now + days * DAY });
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

pub(crate) fn disable(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let arn = key_arn_of(kms, ctx, body)?;
    kms.change_key(ctx, &arn, "kms:DisableKeyRotation", |key| {
        check_automatic_rotation(key)?;
        key.rotation = None;
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

pub(crate) fn status(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let arn = key_arn_of(kms, ctx, body)?;
    let caller = ctx.caller;
    kms.read_key_as(caller, &arn, "kms:GetKeyRotationStatus", |key| {
        if !key.is_symmetric_encryption() {
            return Err(KmsError::new(ErrorCode::UnsupportedOperation, format!("{} does not support rotation.", key.arn())));
        }
        // AWS: "While a KMS key is pending deletion, its key rotation status is false ... If
        // you cancel the deletion, the original key rotation status returns to true." The
        // schedule stays on the key, so CancelKeyDeletion restores it.
        let rotation = key.rotation.as_ref().filter(|_| key.state != KeyState::PendingDeletion);
        let mut out = json!({ "KeyRotationEnabled": rotation.is_some(), "KeyId": key.arn() });
        if let Some(r) = rotation {
            out["RotationPeriodInDays"] = json!(r.period_days);
            out["NextRotationDate"] = json!(r.next_rotation);
        }
        Ok(out)
    })
}

pub(crate) fn on_demand(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let arn = key_arn_of(kms, ctx, body)?;
    let now = ctx.now;
    let (key_id, event) = kms.change_key(ctx, &arn, "kms:RotateKeyOnDemand", |key| {
        check_rotatable(key)?;
        if key.origin != "AWS_KMS" {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperation,
                format!("{} has imported key material; import new material to rotate it.", key.arn()),
            ));
        }
        let done = key.materials.iter().filter(|m| m.rotation == Some(RotationType::OnDemand)).count();
        if done >= ON_DEMAND_ROTATION_LIMIT {
            return Err(KmsError::new(
                ErrorCode::LimitExceeded,
                format!("{} has reached the limit of {ON_DEMAND_ROTATION_LIMIT} on-demand rotations.", key.arn()),
            ));
        }
        Ok((key.id.clone(), rotate(key, now, RotationType::OnDemand)))
    })?;
    // The API returns the bare key id, and the record shows what the API returned.
    ctx.response_elements = Some(json!({ "keyId": key_id }));
    ctx.service_events.push(event);
    Ok(json!({ "KeyId": key_id }))
}

/// Adds a new material version to `key` and returns the `RotateKey` service event it sets off.
pub fn rotate(key: &mut Key, now: time::OffsetDateTime, rotation: RotationType) -> ServiceEvent {
    let previous = key.current_material().map(|(_, m)| m.id.clone()).unwrap_or_default();
    key.materials.push(KeyMaterial::new(crate::crypto::random_bytes(32), now.unix_timestamp(), Some(rotation)));
    let current = key.current_material().map(|(_, m)| m.id.clone()).unwrap_or_default();
    ServiceEvent {
        name: "RotateKey",
        account: key.account.clone(),
        region: key.region.clone(),
        key_arn: key.arn(),
        details: Some(json!({
            "rotationType": rotation.as_str(),
            "keyOrigin": key.origin,
            "previousKeyMaterialId": previous,
            "currentKeyMaterialId": current,
            "keyId": key.id,
        })),
        response_elements: None,
        at: now,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    key_id: Option<String>,
    include_key_material: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub(crate) fn list(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: ListRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let include = req.include_key_material.unwrap_or_else(|| "ROTATIONS_ONLY".into());
    validate::one_of(&include, "includeKeyMaterial", &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"])?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    let entries = kms.read_key_as(caller, &arn, "kms:ListKeyRotations", |key| {
        if !key.is_symmetric_encryption() {
            return Err(KmsError::new(ErrorCode::UnsupportedOperation, format!("{} does not support rotation.", key.arn())));
        }
        let last = key.materials.len().saturating_sub(1);
        Ok(key
            .materials
            .iter()
            .enumerate()
            .filter(|(_, m)| include == "ALL_KEY_MATERIAL" || m.rotation.is_some())
            .map(|(i, m)| {
                let mut e = json!({
                    "KeyId": key.arn(),
                    "KeyMaterialId": m.id,
                    "KeyMaterialState": if i == last { "CURRENT" } else { "NON_CURRENT" },
                });
                if let Some(r) = m.rotation {
                    e["RotationDate"] = json!(m.created);
                    e["RotationType"] = json!(r.as_str());
                }
                (format!("{i:010}"), e)
            })
            .collect::<Vec<_>>())
    })?;
    let page = paginate("rotations", entries, req.limit, req.marker.as_deref(), 100, 1000)?;
    Ok(page_response("Rotations", page))
}
