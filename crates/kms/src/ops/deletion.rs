//! ScheduleKeyDeletion and CancelKeyDeletion. The deletion itself happens when the waiting
//! period ends on the mock clock (see `scheduler`).

use serde::Deserialize;
use serde_json::{json, Value};

use super::key_state::key_arn_of;
use crate::key::KeyState;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleRequest {
    key_id: Option<String>,
    pending_window_in_days: Option<i64>,
}

pub(crate) fn schedule(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: ScheduleRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let days = req.pending_window_in_days.unwrap_or(30);
    // The model allows 1..=365, but KMS enforces 7..=30 for keys like these.
    validate::range(days, "pendingWindowInDays", 7, 30)?;
    ctx.default_param("pendingWindowInDays", json!(days));
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let deletion = crate::clock::add_saturating(ctx.now, time::Duration::days(days));
    // The waiting period used, sent or defaulted (kms:ScheduleKeyDeletionPendingWindowInDays).
    let extra = vec![("kms:schedulekeydeletionpendingwindowindays", vec![days.to_string()])];
    kms.change_key_with(ctx, &arn, "kms:ScheduleKeyDeletion", extra, |key| {
        key.check_not_pending_deletion()?;
        key.state = KeyState::PendingDeletion;
        key.deletion_date = Some(deletion.unix_timestamp());
        key.pending_window_days = Some(days as u32);
        Ok(())
    })?;
    ctx.response_elements = Some(json!({
        "keyId": arn,
        "keyState": "PendingDeletion",
        "deletionDate": super::create_key::human_date(deletion),
        "pendingWindowInDays": days,
    }));
    Ok(json!({
        "KeyId": arn,
        "DeletionDate": deletion.unix_timestamp(),
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    }))
}

pub(crate) fn cancel(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let arn = key_arn_of(kms, ctx, body)?;
    kms.change_key(ctx, &arn, "kms:CancelKeyDeletion", |key| {
        if key.state != KeyState::PendingDeletion {
            return Err(KmsError::new(ErrorCode::KmsInvalidState, format!("{} is not pending deletion.", key.arn())));
        }
        // As in AWS, a key whose deletion is cancelled comes back disabled.
        key.state = KeyState::Disabled;
        key.deletion_date = None;
        key.pending_window_days = None;
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({ "KeyId": arn }))
}
