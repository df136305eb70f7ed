//! DescribeKey and UpdateKeyDescription.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeRequest {
    key_id: Option<String>,
    grant_tokens: Option<Vec<String>>,
}

pub(crate) fn describe(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: DescribeRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let tokens = req.grant_tokens.unwrap_or_default();
    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let metadata = kms.read_key(
        &arn,
        |key| {
            kms.authorize(&AccessRequest {
                grant_tokens: &tokens,
                request_alias: key_id.contains("alias/").then_some(key_id.as_str()),
                ..AccessRequest::new(caller, "kms:DescribeKey", Some(key))
            })
        },
        |key| Ok(key.metadata()),
    )?;
    Ok(json!({ "KeyMetadata": metadata }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateDescriptionRequest {
    key_id: Option<String>,
    description: Option<String>,
}

pub(crate) fn update_description(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: UpdateDescriptionRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let description = validate::required(req.description, "description")?;
    validate::length(&description, "description", 0, 8192)?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    kms.change_key(ctx, &arn, "kms:UpdateKeyDescription", |key| {
        key.check_not_pending_deletion()?;
        key.description = description;
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}
