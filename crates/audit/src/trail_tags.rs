//! Tags on trails: AddTags, RemoveTags, ListTags, and the rules CreateTrail's `TagsList` follows
//! too (botocore `cloudtrail` 2013-11-01: keys 1-128 characters, values 1-256, unique keys, at
//! most 50 tags on a trail, 200 in a request, 20 resources in a ListTags).
//!
//! The tags live on the [`Trail`], so they are kept (and with `--data-dir`, stored) with the
//! trail set. Choice: a trail may be named by its ARN or by its name in the caller's region;
//! one that does not exist is `ResourceNotFoundException`, as the model lists for these calls.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{decode, CloudTrailError};
use crate::trail_ops::{resolve_trail, Access, Ctx};
use crate::trails::Trail;

/// CloudTrail's quota of tags on one trail.
pub(crate) const MAX_TAGS_PER_TRAIL: usize = 50;
/// The model's limit on one request's `TagsList`.
const MAX_TAGS_PER_REQUEST: usize = 200;
/// "The list has a limit of 20 ARNs."
const MAX_LIST_RESOURCES: usize = 20;

/// One tag as a request gives it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagRequest {
    key: Option<String>,
    value: Option<String>,
}

fn invalid(message: impl Into<String>) -> CloudTrailError {
    CloudTrailError::new("InvalidTagParameterException", message)
}

/// Checks a request's tags: present, sized as the model says, keys unique.
pub(crate) fn validate(tags: Vec<TagRequest>) -> Result<Vec<(String, Option<String>)>, CloudTrailError> {
    if tags.len() > MAX_TAGS_PER_REQUEST {
        return Err(invalid(format!("A request can list at most {MAX_TAGS_PER_REQUEST} tags.")));
    }
    let mut out: Vec<(String, Option<String>)> = Vec::with_capacity(tags.len());
    for t in tags {
        let key = t.key.unwrap_or_default();
        let len = key.chars().count();
        if !(1..=128).contains(&len) {
            return Err(invalid(format!("Tag key must be between 1 and 128 characters long; '{key}' is {len}.")));
        }
        if let Some(v) = &t.value {
            let len = v.chars().count();
            if !(1..=256).contains(&len) {
                return Err(invalid(format!("Tag value for key '{key}' must be between 1 and 256 characters long.")));
            }
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(invalid(format!("Tag key '{key}' is given more than once.")));
        }
        out.push((key, t.value));
    }
    Ok(out)
}

fn too_many() -> CloudTrailError {
    CloudTrailError::new(
        "TagsLimitExceededException",
        format!("The number of tags on the resource would exceed the limit of {MAX_TAGS_PER_TRAIL}."),
    )
}

/// The tags a new trail starts with.
pub(crate) fn initial(tags: Option<Vec<TagRequest>>) -> Result<Vec<(String, Option<String>)>, CloudTrailError> {
    let tags = validate(tags.unwrap_or_default())?;
    if tags.len() > MAX_TAGS_PER_TRAIL {
        return Err(too_many());
    }
    Ok(tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsRequest {
    resource_id: Option<String>,
    tags_list: Option<Vec<TagRequest>>,
}

fn trail_of(ctx: &mut Ctx<'_>, resource_id: Option<&str>) -> Result<Trail, CloudTrailError> {
    let given = resource_id.unwrap_or_default().to_owned();
    resolve_trail(ctx, Some(&given), Access::Read).map_err(|e| {
        if e.code() == "TrailNotFoundException" {
            CloudTrailError::new("ResourceNotFoundException", format!("Resource not found: {given}"))
        } else {
            e
        }
    })
}

/// AddTags: adds the tags, replacing the value of a key already there.
pub(crate) fn add(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: TagsRequest = decode(body)?;
    let tags = validate(req.tags_list.unwrap_or_default())?;
    let key = trail_of(ctx, req.resource_id.as_deref())?.key();
    ctx.cloudtrail
        .trails
        .update(&key, |trail| {
            let mut merged = trail.tags.clone();
            for (k, v) in tags {
                match merged.iter_mut().find(|(existing, _)| *existing == k) {
                    Some(entry) => entry.1 = v,
                    None => merged.push((k, v)),
                }
            }
            if merged.len() > MAX_TAGS_PER_TRAIL {
                return Err(too_many());
            }
            trail.tags = merged;
            Ok(json!({}))
        })
        .unwrap_or_else(|| Err(CloudTrailError::new("ResourceNotFoundException", format!("Resource not found: {}", key.name))))
}

/// RemoveTags: removes the tags with the keys given (a key the trail lacks is no error).
pub(crate) fn remove(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: TagsRequest = decode(body)?;
    let tags = validate(req.tags_list.unwrap_or_default())?;
    let key = trail_of(ctx, req.resource_id.as_deref())?.key();
    ctx.cloudtrail.trails.update(&key, |trail| trail.tags.retain(|(k, _)| !tags.iter().any(|(gone, _)| gone == k)));
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    resource_id_list: Option<Vec<String>>,
}

/// The `TagsList` form of a trail's tags (a tag without a value has no `Value`).
pub(crate) fn tags_json(tags: &[(String, Option<String>)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| match v {
                Some(v) => json!({ "Key": k, "Value": v }),
                None => json!({ "Key": k }),
            })
            .collect(),
    )
}

/// ListTags: each named trail's tags, in the order asked.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: ListRequest = decode(body)?;
    let ids = req.resource_id_list.unwrap_or_default();
    if ids.len() > MAX_LIST_RESOURCES {
        return Err(CloudTrailError::new(
            "InvalidParameterException",
            format!("ResourceIdList can list at most {MAX_LIST_RESOURCES} resources."),
        ));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let trail = trail_of(ctx, Some(id))?;
        out.push(json!({ "ResourceId": trail.arn(), "TagsList": tags_json(&trail.tags) }));
    }
    // One resource per call names it in the record; a list of several names none.
    if ids.len() != 1 {
        ctx.trail_arn = None;
    }
    Ok(json!({ "ResourceTagList": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: Option<&str>) -> TagRequest {
        TagRequest { key: Some(key.into()), value: value.map(Into::into) }
    }

    #[test]
    fn tags_follow_the_models_limits() {
        assert!(validate(vec![tag("team", Some("blue")), tag("cost", None)]).is_ok());
        for bad in [
            vec![tag("", None)],
            vec![tag(&"k".repeat(129), None)],
            vec![tag("k", Some(""))],
            vec![tag("k", Some(&"v".repeat(257)))],
            vec![tag("k", None), tag("k", Some("2"))],
        ] {
            assert_eq!(validate(bad).unwrap_err().code(), "InvalidTagParameterException");
        }
        let many: Vec<TagRequest> = (0..51).map(|i| tag(&format!("k{i}"), None)).collect();
        assert_eq!(initial(Some(many)).unwrap_err().code(), "TagsLimitExceededException");
    }
}
