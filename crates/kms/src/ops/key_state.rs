//! EnableKey and DisableKey.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::key::KeyState;
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

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
    let now = ctx.now_secs();
    kms.change_key(ctx, &arn, action, |key| match key.state {
        KeyState::Enabled | KeyState::Disabled => {
            if enabled && key.state == KeyState::Disabled {
                // Rotation dates that passed while the key was disabled make it rotate once,
                // now, and then every period from now.
                if let Some(r) = key.rotation.as_mut().filter(|r| r.next_rotation < now) {
                    r.next_rotation = now;
                }
            }
            key.state = if enabled { KeyState::Enabled } else { KeyState::Disabled };
            Ok(())
        }
        other => Err(KmsError::invalid_state(&key.arn(), other.as_str())),
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}
