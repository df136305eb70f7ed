//! EnableKey and DisableKey.

use serde::Deserialize;
use serde_json::{json, Value};

use time::OffsetDateTime;

use super::rotation::rotate;
use crate::key::{Key, KeyState, RotationType};
use crate::{validate, AliasUse, CallContext, Kms, KmsError, ServiceEvent};

const DAY: i64 = 86_400;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyIdRequest {
    pub(crate) key_id: Option<String>,
}

/// Decodes a request whose only member is `KeyId`, resolving it to a key ARN (no aliases).
pub(crate) fn key_arn_of(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<String, KmsError> {
    let req: KeyIdRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    kms.resolve(ctx, &key_id, AliasUse::Refused)
}

pub(crate) fn enable(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    set_enabled(kms, ctx, body, true)
}

pub(crate) fn disable(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    set_enabled(kms, ctx, body, false)
}

fn set_enabled(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8], enabled: bool) -> Result<Value, KmsError> {
    let arn = key_arn_of(kms, ctx, body)?;
    let action = if enabled { "kms:EnableKey" } else { "kms:DisableKey" };
    let now = ctx.now;
    let rotated = kms.change_key(ctx, &arn, action, |key| match key.state {
        KeyState::Enabled | KeyState::Disabled => {
            let reenabled = enabled && key.state == KeyState::Disabled;
            key.state = if enabled { KeyState::Enabled } else { KeyState::Disabled };
            Ok(if reenabled { catch_up_rotation(key, now) } else { None })
        }
        other => Err(KmsError::invalid_state(&key.arn(), other.as_str())),
    })?;
    ctx.service_events.extend(rotated);
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

/// A disabled key is not rotated (the scheduler skips it). When it is enabled again after its
/// rotation date has passed, AWS (GetKeyRotationStatus documentation): "If the key material in
/// the re-enabled KMS key hasn't been rotated in one year [the rotation period], KMS rotates it
/// immediately, and every year thereafter. If it's been less than a year since the key material
/// was rotated, the KMS key resumes its prior rotation schedule."
///
/// Choice: this applies only when a scheduled date was missed; a key re-enabled before its next
/// date keeps that date whatever the age of its material (enabling rotation promises the first
/// rotation one period after the enable date).
fn catch_up_rotation(key: &mut Key, now: OffsetDateTime) -> Option<ServiceEvent> {
    let schedule = key.rotation.clone().filter(|r| r.next_rotation <= now.unix_timestamp())?;
    let period = i64::from(schedule.period_days) * DAY;
    let material_age = key.current_material().map(|(_, m)| now.unix_timestamp() - m.created).unwrap_or(0);
    if material_age >= period {
        let event = rotate(key, now, RotationType::Automatic);
        if let Some(r) = key.rotation.as_mut() {
            r.next_rotation = now.unix_timestamp() + period;
        }
        return Some(event);
    }
    if let Some(r) = key.rotation.as_mut() {
        while r.next_rotation <= now.unix_timestamp() {
            r.next_rotation += period;
        }
    }
    None
}
