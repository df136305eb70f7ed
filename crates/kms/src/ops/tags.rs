//! TagResource, UntagResource, ListResourceTags.

use serde::Deserialize;
use serde_json::{json, Value};

use super::list_keys::{page_response, KeyListRequest};
use crate::authorize::AccessRequest;
use crate::paging::paginate;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

/// Tags a key may carry (AWS's quota).
pub(crate) const MAX_TAGS: usize = 50;

/// A `Tag` as the API sends it.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagEntry {
    pub(crate) tag_key: String,
    pub(crate) tag_value: String,
}

/// Validates tags: key 1..=128, value 0..=256, no `aws:` prefix, no duplicate keys.
pub(crate) fn validate_tags(tags: &[TagEntry]) -> Result<(), KmsError> {
    for (i, t) in tags.iter().enumerate() {
        validate::length(&t.tag_key, "tags.member.tagKey", 1, 128)?;
        validate::length(&t.tag_value, "tags.member.tagValue", 0, 256)?;
        if t.tag_key.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::new(ErrorCode::Tag, "Tags beginning with aws: are reserved."));
        }
        if tags[..i].iter().any(|o| o.tag_key == t.tag_key) {
            return Err(KmsError::new(ErrorCode::Tag, format!("Duplicate tag key {}.", t.tag_key)));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(KmsError::new(ErrorCode::LimitExceeded, format!("A key can have at most {MAX_TAGS} tags.")));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagRequest {
    key_id: Option<String>,
    tags: Option<Vec<TagEntry>>,
}

pub(crate) fn tag(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: TagRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let tags = validate::required(req.tags, "tags")?;
    validate_tags(&tags)?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let request_tags: Vec<(String, String)> = tags.iter().map(|t| (t.tag_key.clone(), t.tag_value.clone())).collect();
    let caller = ctx.caller;
    let access = |key: &crate::Key| {
        kms.authorize(&AccessRequest { request_tags: Some(&request_tags), ..AccessRequest::new(caller, "kms:TagResource", Some(key)) })
    };
    kms.change_key_as(ctx, &arn, access, |key| {
        key.check_not_pending_deletion()?;
        let mut merged = key.tags.clone();
        for t in tags {
            match merged.iter_mut().find(|(k, _)| *k == t.tag_key) {
                Some(existing) => existing.1 = t.tag_value,
                None => merged.push((t.tag_key, t.tag_value)),
            }
        }
        if merged.len() > MAX_TAGS {
            return Err(KmsError::new(ErrorCode::LimitExceeded, format!("A key can have at most {MAX_TAGS} tags.")));
        }
        key.tags = merged;
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagRequest {
    key_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub(crate) fn untag(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: UntagRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let keys = validate::required(req.tag_keys, "tagKeys")?;
    for k in &keys {
        validate::length(k, "tagKeys.member", 1, 128)?;
    }
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    let access = |key: &crate::Key| {
        kms.authorize(&AccessRequest { tag_keys: Some(&keys), ..AccessRequest::new(caller, "kms:UntagResource", Some(key)) })
    };
    kms.change_key_as(ctx, &arn, access, |key| {
        key.check_not_pending_deletion()?;
        key.tags.retain(|(k, _)| !keys.contains(k));
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
    let tags = kms.read_key_as(caller, &arn, "kms:ListResourceTags", |key| {
        Ok(key.tags.iter().enumerate().map(|(i, (k, v))| (format!("{i:04}"), json!({ "TagKey": k, "TagValue": v }))).collect::<Vec<_>>())
    })?;
    let page = paginate("tags", tags, req.limit, req.marker.as_deref(), 50, 50)?;
    Ok(page_response("Tags", page))
}
