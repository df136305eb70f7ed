//! The trail operations: CreateTrail, GetTrail, DescribeTrails, ListTrails, UpdateTrail,
//! DeleteTrail, GetTrailStatus, StartLogging, StopLogging, PutEventSelectors, GetEventSelectors.
//!
//! Trails are named by name (looked up in the caller's region) or by ARN. Changes must be made
//! from the trail's home region (`InvalidHomeRegionException`); reads also see a multi-region
//! trail from its other regions (its "shadow trails").

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{decode, CloudTrailError};
use crate::selectors::{AdvancedEventSelector, EventSelector, Selectors};
use crate::service::{CloudTrail, Scope};
use crate::timefmt;
use crate::trail_keys;
use crate::trails::{Trail, TrailKey};

/// What one call carries through a trail operation.
pub(crate) struct Ctx<'a> {
    pub(crate) cloudtrail: &'a CloudTrail,
    pub(crate) scope: Scope<'a>,
    /// Mock time, Unix seconds.
    pub(crate) now: i64,
    /// The trail the call named, for its record.
    pub(crate) trail_arn: Option<String>,
}

/// Whether a call only reads a trail or changes it (changes need the trail's home region).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads (also from a multi-region trail's other regions).
    Read,
    /// Changes.
    Change,
}

fn err(code: &'static str, message: impl Into<String>) -> CloudTrailError {
    CloudTrailError::new(code, message)
}

/// AWS's trail-name rules (botocore documentation of `Name`).
fn validate_name(name: &str) -> Result<(), CloudTrailError> {
    let bad = |m: String| Err(err("InvalidTrailNameException", m));
    let len = name.chars().count();
    if len < 3 {
        return bad(format!("Trail name too short. Minimum allowed length: 3 characters. Specified name length: {len} characters."));
    }
    if len > 128 {
        return bad(format!("Trail name too long. Maximum allowed length: 128 characters. Specified name length: {len} characters."));
    }
    let punct = |c: char| matches!(c, '.' | '_' | '-');
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || punct(c)) {
        return bad("Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("Trail name must starts with a letter or number.".into());
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("Trail name must ends with a letter or number.".into());
    }
    if name.as_bytes().windows(2).any(|w| punct(w[0] as char) && punct(w[1] as char)) {
        return bad("Trail name cannot contain adjacent periods, underscores or dashes.".into());
    }
    if is_ip_address(name) {
        return bad("Trail name cannot be in IP address format.".into());
    }
    Ok(())
}

fn is_ip_address(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// S3's bucket-naming rules (the bucket folder's, which also keep a bucket name a single safe
/// path segment), and not an IP address.
fn validate_bucket(bucket: &str) -> Result<(), CloudTrailError> {
    if crate::delivery::folder::is_bucket_name(bucket) && !is_ip_address(bucket) {
        Ok(())
    } else {
        Err(err("InvalidS3BucketNameException", format!("Bucket name {bucket} is not valid.")))
    }
}

/// AWS allows 200 characters. Choice: keytrail writes files under the prefix on the local disk,
/// so it also refuses `.`/`..` segments, backslashes and control characters.
fn validate_prefix(prefix: &str) -> Result<(), CloudTrailError> {
    let ok = prefix.chars().count() <= 200
        && !prefix.chars().any(|c| c == '\\' || c.is_control())
        && !prefix.split('/').any(|s| s == "." || s == "..");
    if ok {
        Ok(())
    } else {
        Err(err("InvalidS3PrefixException", format!("Prefix {prefix} is not valid.")))
    }
}

fn not_found(ctx: &Ctx<'_>, given: &str) -> CloudTrailError {
    err("TrailNotFoundException", format!("Unknown trail: {given} for the user: {}", ctx.scope.account))
}

/// The trail named `name` as the caller sees it: the one in its region, else a multi-region
/// trail of its account seen from here (a shadow trail).
fn find_by_name(cloudtrail: &CloudTrail, scope: Scope<'_>, name: &str) -> Option<Trail> {
    let trails = &cloudtrail.trails;
    let home = TrailKey { account: scope.account.into(), region: scope.region.into(), name: name.into() };
    trails
        .get(&home)
        .or_else(|| trails.filter(|t| t.account_id == scope.account && t.name == name && t.is_multi_region_trail).into_iter().next())
}

/// The ARN of the trail `given` (a name or an ARN) names, for authorizing the call: the trail's
/// own ARN when it exists, else the one a trail of that name in the caller's region would have.
/// `None` when `given` is no valid name or ARN (the call then fails on its own).
pub(crate) fn named_trail_arn(cloudtrail: &CloudTrail, scope: Scope<'_>, given: &str) -> Option<String> {
    if given.starts_with("arn:") {
        return parse_arn(given).ok().map(|key| crate::trails::trail_arn(&key.region, &key.account, &key.name));
    }
    validate_name(given).ok()?;
    let arn = find_by_name(cloudtrail, scope, given).map(|t| t.arn());
    Some(arn.unwrap_or_else(|| crate::trails::trail_arn(scope.region, scope.account, given)))
}

/// Finds the trail a request names (by name or ARN) and notes its ARN for the record.
pub(crate) fn resolve_trail(ctx: &mut Ctx<'_>, given: Option<&str>, access: Access) -> Result<Trail, CloudTrailError> {
    let given = given.unwrap_or_default();
    let trails = &ctx.cloudtrail.trails;
    let trail = if given.starts_with("arn:") {
        let key = parse_arn(given)?;
        if key.account != ctx.scope.account {
            return Err(not_found(ctx, given));
        }
        trails.get(&key)
    } else {
        if given.is_empty() {
            return Err(err("InvalidTrailNameException", "Trail name or ARN cannot be empty."));
        }
        validate_name(given)?;
        find_by_name(ctx.cloudtrail, ctx.scope, given)
    };
    let trail = trail.ok_or_else(|| not_found(ctx, given))?;
    ctx.trail_arn = Some(trail.arn());
    if access == Access::Change && trail.home_region != ctx.scope.region {
        return Err(err(
            "InvalidHomeRegionException",
            format!("This operation must be called from the trail's home region {}.", trail.home_region),
        ));
    }
    Ok(trail)
}

/// `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`.
fn parse_arn(arn: &str) -> Result<TrailKey, CloudTrailError> {
    let invalid = || err("CloudTrailARNInvalidException", format!("{arn} is not a valid trail ARN."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, "cloudtrail", region, account, resource] = parts.as_slice() else { return Err(invalid()) };
    let name = resource.strip_prefix("trail/").ok_or_else(invalid)?;
    if !partition.starts_with("aws") || region.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    validate_name(name).map_err(|_| invalid())?;
    Ok(TrailKey { account: account.to_string(), region: region.to_string(), name: name.to_string() })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrailRequest {
    name: Option<String>,
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    include_global_service_events: Option<bool>,
    is_multi_region_trail: Option<bool>,
    enable_log_file_validation: Option<bool>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    is_organization_trail: Option<bool>,
    tags_list: Option<Vec<crate::trail_tags::TagRequest>>,
}

/// Applies the settings a CreateTrail or UpdateTrail request gives, and checks the result.
fn apply(ctx: &Ctx<'_>, trail: &mut Trail, req: TrailRequest) -> Result<(), CloudTrailError> {
    if req.is_organization_trail == Some(true) {
        return Err(err(
            "OrganizationsNotInUseException",
            "keytrail emulates no AWS Organizations: organization trails are not available.",
        ));
    }
    if let Some(b) = req.s3_bucket_name {
        validate_bucket(&b)?;
        trail.s3_bucket_name = b;
    }
    if let Some(p) = req.s3_key_prefix {
        validate_prefix(&p)?;
        trail.s3_key_prefix = (!p.is_empty()).then_some(p);
    }
    let text = |v: Option<String>, old: &mut Option<String>| {
        if let Some(v) = v {
            *old = (!v.is_empty()).then_some(v);
        }
    };
    text(req.sns_topic_name, &mut trail.sns_topic_name);
    text(req.cloud_watch_logs_log_group_arn, &mut trail.cloud_watch_logs_log_group_arn);
    text(req.cloud_watch_logs_role_arn, &mut trail.cloud_watch_logs_role_arn);
    match req.kms_key_id.as_deref() {
        None => {}
        Some("") => trail.kms_key_id = None,
        Some(given) => {
            let resolver = &*ctx.cloudtrail.key_resolver;
            trail.kms_key_id = Some(trail_keys::check(resolver, &trail.account_id, &trail.home_region, given)?);
        }
    }
    if let Some(v) = req.include_global_service_events {
        trail.include_global_service_events = v;
    }
    if let Some(v) = req.is_multi_region_trail {
        trail.is_multi_region_trail = v;
    }
    if let Some(v) = req.enable_log_file_validation {
        trail.log_file_validation_enabled = v;
    }
    if trail.is_multi_region_trail && !trail.include_global_service_events {
        return Err(err("InvalidParameterCombinationException", "Multi-Region trail must include global service events."));
    }
    Ok(())
}

pub(crate) fn create(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let mut req: TrailRequest = decode(body)?;
    let name = req.name.take().unwrap_or_default();
    validate_name(&name)?;
    ctx.trail_arn = Some(crate::trails::trail_arn(ctx.scope.region, ctx.scope.account, &name));
    let Some(bucket) = req.s3_bucket_name.clone().filter(|b| !b.is_empty()) else {
        return Err(err("InvalidS3BucketNameException", "S3BucketName is required."));
    };
    // There are no buckets to check: any valid bucket name is a directory under the S3 root.
    let mut trail = Trail::new(&name, ctx.scope.account, ctx.scope.region, &bucket);
    trail.tags = crate::trail_tags::initial(req.tags_list.take())?;
    apply(ctx, &mut trail, req)?;
    let out = trail.settings_json();
    ctx.cloudtrail.trails.insert_new(trail)?;
    Ok(out)
}

pub(crate) fn update(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let mut req: TrailRequest = decode(body)?;
    let name = req.name.take();
    let key = resolve_trail(ctx, name.as_deref(), Access::Change)?.key();
    let ctx: &Ctx<'_> = ctx;
    ctx.cloudtrail
        .trails
        .update(&key, |t| {
            let mut changed = t.clone();
            apply(ctx, &mut changed, req)?;
            *t = changed;
            Ok(t.settings_json())
        })
        .unwrap_or_else(|| Err(not_found(ctx, &key.name)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameRequest {
    name: Option<String>,
}

pub(crate) fn get(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: NameRequest = decode(body)?;
    let trail = resolve_trail(ctx, req.name.as_deref(), Access::Read)?;
    Ok(json!({ "Trail": trail.description_json() }))
}

pub(crate) fn delete(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: NameRequest = decode(body)?;
    let key = resolve_trail(ctx, req.name.as_deref(), Access::Change)?.key();
    // Log files already written stay where they are, as in S3; undelivered records are dropped.
    ctx.cloudtrail.trails.remove(&key);
    ctx.cloudtrail.delivery.forget(&key);
    Ok(json!({}))
}

pub(crate) fn set_logging(ctx: &mut Ctx<'_>, body: &[u8], on: bool) -> Result<Value, CloudTrailError> {
    let req: NameRequest = decode(body)?;
    let key = resolve_trail(ctx, req.name.as_deref(), Access::Change)?.key();
    let now = ctx.now;
    // The state changes before the call's own record is made: StartLogging's record is the first
    // the trail logs, and StopLogging's is the first it does not.
    ctx.cloudtrail.trails.update(&key, |t| {
        t.status.is_logging = on;
        if on {
            t.status.start_logging_time = Some(now);
        } else {
            t.status.stop_logging_time = Some(now);
        }
    });
    Ok(json!({}))
}

pub(crate) fn status(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: NameRequest = decode(body)?;
    let s = resolve_trail(ctx, req.name.as_deref(), Access::Read)?.status;
    let iso = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map(timefmt::event_time).unwrap_or_default();
    let mut m = Map::new();
    m.insert("IsLogging".into(), json!(s.is_logging));
    for (k, v) in [("LatestDeliveryError", &s.latest_delivery_error), ("LatestDigestDeliveryError", &s.latest_digest_delivery_error)] {
        if let Some(e) = v {
            m.insert(k.into(), json!(e));
        }
    }
    for (k, v) in [
        ("LatestDeliveryTime", s.latest_delivery_time),
        ("LatestDigestDeliveryTime", s.latest_digest_delivery_time),
        ("StartLoggingTime", s.start_logging_time),
        ("StopLoggingTime", s.stop_logging_time),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    // Members AWS marks "no longer in use" still come back, as strings.
    let strings = [
        ("LatestDeliveryAttemptTime", s.latest_delivery_attempt_time),
        ("LatestDeliveryAttemptSucceeded", s.latest_delivery_time),
        ("TimeLoggingStarted", s.start_logging_time),
        ("TimeLoggingStopped", s.stop_logging_time),
    ];
    for (k, v) in strings {
        m.insert(k.into(), json!(v.map(iso).unwrap_or_default()));
    }
    m.insert("LatestNotificationAttemptTime".into(), json!(""));
    m.insert("LatestNotificationAttemptSucceeded".into(), json!(""));
    Ok(Value::Object(m))
}

#[derive(Deserialize)]
struct DescribeRequest {
    #[serde(rename = "trailNameList")]
    trail_name_list: Option<Vec<String>>,
    #[serde(rename = "includeShadowTrails")]
    include_shadow_trails: Option<bool>,
}

pub(crate) fn describe(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: DescribeRequest = decode(body)?;
    let shadows = req.include_shadow_trails.unwrap_or(true);
    let Scope { account, region } = ctx.scope;
    let visible = |t: &Trail| t.account_id == account && (t.home_region == region || (shadows && t.is_multi_region_trail));
    let names = req.trail_name_list.unwrap_or_default();
    let mut found: Vec<Trail> = Vec::new();
    if names.is_empty() {
        found = ctx.cloudtrail.trails.filter(visible);
    } else {
        for given in &names {
            // Unknown names are left out, not an error; ARNs may name trails of other regions.
            let trail = if given.starts_with("arn:") {
                let key = parse_arn(given)?;
                ctx.cloudtrail.trails.get(&key).filter(|t| t.account_id == account)
            } else {
                validate_name(given)?;
                ctx.cloudtrail.trails.filter(|t| visible(t) && &t.name == given).into_iter().min_by_key(|t| t.home_region != region)
            };
            if let Some(t) = trail.filter(|t| !found.contains(t)) {
                found.push(t);
            }
        }
    }
    Ok(json!({ "trailList": found.iter().map(Trail::description_json).collect::<Vec<_>>() }))
}

pub(crate) fn list(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    // Every trail of the account, in every region; a handful per region, so one page.
    let _: Value = decode(body)?;
    let account = ctx.scope.account;
    let trails = ctx.cloudtrail.trails.filter(|t| t.account_id == account);
    Ok(json!({ "Trails": trails.iter().map(Trail::info_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutSelectorsRequest {
    trail_name: Option<String>,
    event_selectors: Option<Vec<EventSelector>>,
    advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

fn selectors_json(trail: &Trail) -> Value {
    let arn = trail.arn();
    match &trail.selectors {
        Selectors::Default => json!({ "TrailARN": arn, "EventSelectors": [EventSelector::default()] }),
        Selectors::Basic(list) => json!({ "TrailARN": arn, "EventSelectors": list }),
        Selectors::Advanced(list) => json!({ "TrailARN": arn, "AdvancedEventSelectors": list }),
    }
}

pub(crate) fn put_selectors(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: PutSelectorsRequest = decode(body)?;
    let key = resolve_trail(ctx, req.trail_name.as_deref(), Access::Change)?.key();
    let selectors = Selectors::from_request(req.event_selectors, req.advanced_event_selectors)?;
    ctx.cloudtrail
        .trails
        .update(&key, |t| {
            t.selectors = selectors;
            selectors_json(t)
        })
        .ok_or_else(|| not_found(ctx, &key.name))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSelectorsRequest {
    trail_name: Option<String>,
}

pub(crate) fn get_selectors(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: GetSelectorsRequest = decode(body)?;
    let trail = resolve_trail(ctx, req.trail_name.as_deref(), Access::Read)?;
    Ok(selectors_json(&trail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        for ok in ["my-trail", "a.b_c-d", "Trail1", "abc"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "my--trail", "my-_trail", "a b c", "192.168.5.4", &"a".repeat(129)] {
            assert_eq!(validate_name(bad).unwrap_err().code(), "InvalidTrailNameException", "{bad}");
        }
    }

    #[test]
    fn buckets_and_prefixes_stay_inside_the_root() {
        for bad in ["..", "a..b", "a/b", "Upper", "ab", "../etc"] {
            assert!(validate_bucket(bad).is_err(), "{bad}");
        }
        assert!(validate_bucket("my-bucket.logs").is_ok());
        for bad in ["../x", "a/../b", "a/./b", "a\\b"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
        assert!(validate_prefix("team/logs").is_ok());
    }

    #[test]
    fn arns() {
        let k = parse_arn("arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail").unwrap();
        assert_eq!((k.account.as_str(), k.region.as_str(), k.name.as_str()), ("123456789012", "us-east-2", "MyTrail"));
        for bad in [
            "arn:aws:cloudtrail:us-east-2:1234:trail/MyTrail",
            "arn:aws:kms:us-east-2:123456789012:trail/MyTrail",
            "arn:aws:cloudtrail:us-east-2:123456789012:eventdatastore/x",
        ] {
            assert_eq!(parse_arn(bad).unwrap_err().code(), "CloudTrailARNInvalidException");
        }
    }
}
