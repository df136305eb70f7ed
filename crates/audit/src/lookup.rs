//! LookupEvents (cloudtrail-for-kms.md §8): event history of the caller's account and region,
//! newest first, over the last 90 days of mock time. Trail selectors do not apply here.
//!
//! A `NextToken` names the last record returned (its history sequence number) and a hash of the
//! request's parameters: the next page starts strictly below that record, so records that arrive
//! between pages never shift a page, and a token replayed with other parameters is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::CloudTrailError;
use crate::history::{EventQuery, LookupAttribute};
use crate::recorder::{Recorder, StoredEvent};

/// How far back event history reaches.
pub const LOOKUP_WINDOW_DAYS: i64 = 90;
/// Largest and default page size.
pub const MAX_RESULTS: i64 = 50;

/// The LookupEvents request, as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsRequest {
    /// At most one attribute.
    pub lookup_attributes: Option<Vec<RawLookupAttribute>>,
    /// Earliest event time (Unix seconds, inclusive).
    pub start_time: Option<f64>,
    /// Latest event time (Unix seconds, inclusive).
    pub end_time: Option<f64>,
    /// Only `insight`.
    pub event_category: Option<String>,
    /// 1–50.
    pub max_results: Option<i64>,
    /// From the previous page.
    pub next_token: Option<String>,
}

/// A lookup attribute as sent (both members are required, checked here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawLookupAttribute {
    /// `EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`, `ResourceName`,
    /// `EventSource` or `AccessKeyId` (case-sensitive).
    pub attribute_key: Option<String>,
    /// The value to match exactly.
    pub attribute_value: Option<String>,
}

fn error(code: &'static str, message: impl Into<String>) -> CloudTrailError {
    CloudTrailError::new(code, message)
}

/// Parses the single lookup attribute of a request.
fn attribute(raw: Option<&[RawLookupAttribute]>) -> Result<Option<LookupAttribute>, CloudTrailError> {
    const BAD: &str = "InvalidLookupAttributesException";
    let list = raw.unwrap_or_default();
    let Some(first) = list.first() else { return Ok(None) };
    if list.len() > 1 {
        return Err(error(BAD, "You can specify only one lookup attribute."));
    }
    let key = first.attribute_key.as_deref().ok_or_else(|| error(BAD, "AttributeKey is required."))?;
    let value = first.attribute_value.clone().unwrap_or_default();
    if value.is_empty() || value.chars().count() > 2000 {
        return Err(error(BAD, "AttributeValue must be 1 to 2000 characters long."));
    }
    Ok(Some(match key {
        "EventId" => LookupAttribute::EventId(value),
        "EventName" => LookupAttribute::EventName(value),
        // Choice: AWS documents ReadOnly values as "true"/"false"; anything else is refused
        // here rather than silently matching nothing.
        "ReadOnly" if value == "true" || value == "false" => LookupAttribute::ReadOnly(value),
        "ReadOnly" => return Err(error(BAD, "The value of the ReadOnly attribute must be true or false.")),
        "Username" => LookupAttribute::Username(value),
        "ResourceType" => LookupAttribute::ResourceType(value),
        "ResourceName" => LookupAttribute::ResourceName(value),
        "EventSource" => LookupAttribute::EventSource(value),
        "AccessKeyId" => LookupAttribute::AccessKeyId(value),
        other => {
            return Err(error(
                BAD,
                format!(
                    "{other} is not a valid lookup attribute key. Valid keys are EventId, EventName, ReadOnly, \
                     Username, ResourceType, ResourceName, EventSource and AccessKeyId."
                ),
            ))
        }
    }))
}

/// Events delivered to `account` in `region`, per `req`, evaluated at mock time `now`.
/// Returns the LookupEvents response body.
pub fn lookup_events(
    recorder: &Recorder,
    account: &str,
    region: &str,
    now: OffsetDateTime,
    req: &LookupEventsRequest,
) -> Result<Value, CloudTrailError> {
    let attribute = attribute(req.lookup_attributes.as_deref())?;
    let insight = match req.event_category.as_deref() {
        None => false,
        Some("insight") => true,
        Some(other) => {
            return Err(error(
                "InvalidEventCategoryException",
                format!("{other} is not a valid event category. The only valid value is insight."),
            ))
        }
    };
    let max = req.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&max) {
        return Err(error("InvalidMaxResultsException", format!("MaxResults must be between 1 and {MAX_RESULTS}; {max} was given.")));
    }
    let time = |t: Option<f64>| -> Result<Option<f64>, CloudTrailError> {
        match t {
            Some(v) if !v.is_finite() => Err(error("InvalidTimeRangeException", "A time in the request is not a valid timestamp.")),
            other => Ok(other),
        }
    };
    let (start, end) = (time(req.start_time)?, time(req.end_time)?);
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(error("InvalidTimeRangeException", "The start time must not be after the end time."));
        }
    }
    let fingerprint = fingerprint(account, region, req);
    let before_seq = match req.next_token.as_deref() {
        None => None,
        Some(token) => Some(decode_token(token, fingerprint)?),
    };
    if insight {
        // keytrail produces no Insights events.
        return Ok(json!({ "Events": [] }));
    }
    // Only the last 90 days (mock time) are searchable; the window's start moves with the clock.
    let oldest = now.unix_timestamp() - LOOKUP_WINDOW_DAYS * 86_400;
    let start_secs = start.map(|s| s.ceil() as i64).unwrap_or(oldest).max(oldest);
    let query = EventQuery {
        recipient_account: Some(account.to_string()),
        region: Some(region.to_string()),
        start_time: Some(start_secs),
        end_time: end.map(|e| e.floor() as i64),
        attribute,
        before_seq,
        newest_first: true,
        limit: Some(max as usize + 1),
        ..EventQuery::default()
    };
    let mut found = recorder.query(&query);
    let more = found.len() > max as usize;
    found.truncate(max as usize);
    let mut body = Map::new();
    body.insert("Events".into(), Value::Array(found.iter().map(|e| event_json(e)).collect()));
    if more {
        if let Some(last) = found.last() {
            body.insert("NextToken".into(), json!(encode_token(last.seq, fingerprint)));
        }
    }
    Ok(Value::Object(body))
}

/// One `Event` of the response, members in AWS's order.
fn event_json(e: &StoredEvent) -> Value {
    let r = &e.summary;
    let mut m = Map::new();
    m.insert("EventId".into(), json!(r.event_id));
    m.insert("EventName".into(), json!(r.event_name));
    // A string, as AWS returns it.
    m.insert("ReadOnly".into(), json!(r.read_only.to_string()));
    if let Some(k) = &r.access_key_id {
        m.insert("AccessKeyId".into(), json!(k));
    }
    m.insert("EventTime".into(), json!(e.epoch_seconds));
    m.insert("EventSource".into(), json!(r.event_source));
    if let Some(u) = &r.username {
        m.insert("Username".into(), json!(u));
    }
    let resources: Vec<Value> = r.resources.iter().map(|x| json!({ "ResourceType": x.resource_type, "ResourceName": x.arn })).collect();
    m.insert("Resources".into(), Value::Array(resources));
    m.insert("CloudTrailEvent".into(), json!(e.json));
    Value::Object(m)
}

/// A hash of everything a NextToken must be replayed with (not MaxResults: a page size may change).
fn fingerprint(account: &str, region: &str, req: &LookupEventsRequest) -> u64 {
    let attrs: Vec<String> =
        req.lookup_attributes.iter().flatten().map(|a| format!("{:?}={:?}", a.attribute_key, a.attribute_value)).collect();
    let text = format!("{account}|{region}|{attrs:?}|{:?}|{:?}|{:?}", req.start_time, req.end_time, req.event_category);
    // FNV-1a: stable across processes, so a token survives a restart.
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn encode_token(seq: u64, fingerprint: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{seq}:{fingerprint:016x}"))
}

fn decode_token(token: &str, fingerprint: u64) -> Result<u64, CloudTrailError> {
    let invalid =
        || error("InvalidNextTokenException", "Invalid NextToken. Pass the token with the parameters of the request that returned it.");
    let text = URL_SAFE_NO_PAD.decode(token).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let mut parts = text.split(':');
    match (parts.next(), parts.next().and_then(|s| s.parse::<u64>().ok()), parts.next(), parts.next()) {
        (Some("v1"), Some(seq), Some(fp), None) if fp == format!("{fingerprint:016x}") => Ok(seq),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample;
    use time::macros::datetime;

    fn recorder_with(n: usize) -> Recorder {
        let r = Recorder::new(None);
        for i in 0..n {
            let mut rec = sample();
            rec.event_id = format!("id-{i}");
            rec.event_time = format!("2025-01-01T00:00:{:02}Z", i % 60);
            r.record(vec![rec]);
        }
        r
    }

    const NOW: OffsetDateTime = datetime!(2025-01-02 00:00 UTC);

    fn lookup(r: &Recorder, req: LookupEventsRequest) -> Result<Value, CloudTrailError> {
        lookup_events(r, "111122223333", "us-east-1", NOW, &req)
    }

    #[test]
    fn pages_are_stable_while_records_arrive() {
        let r = recorder_with(5);
        let page1 = lookup(&r, LookupEventsRequest { max_results: Some(2), ..Default::default() }).unwrap();
        let ids =
            |v: &Value| v["Events"].as_array().unwrap().iter().map(|e| e["EventId"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&page1), ["id-4", "id-3"]);
        r.record(vec![sample()]);
        let token = page1["NextToken"].as_str().unwrap().to_string();
        let page2 =
            lookup(&r, LookupEventsRequest { max_results: Some(2), next_token: Some(token.clone()), ..Default::default() }).unwrap();
        assert_eq!(ids(&page2), ["id-2", "id-1"]);
        let other = LookupEventsRequest { next_token: Some(token), start_time: Some(1.0), ..Default::default() };
        assert_eq!(lookup(&r, other).unwrap_err().code(), "InvalidNextTokenException");
        let garbage = LookupEventsRequest { next_token: Some("nope".into()), ..Default::default() };
        assert_eq!(lookup(&r, garbage).unwrap_err().code(), "InvalidNextTokenException");
    }

    #[test]
    fn refuses_bad_arguments() {
        let r = recorder_with(1);
        let two = || {
            Some(vec![
                RawLookupAttribute { attribute_key: Some("EventName".into()), attribute_value: Some("Decrypt".into()) },
                RawLookupAttribute { attribute_key: Some("ReadOnly".into()), attribute_value: Some("true".into()) },
            ])
        };
        let cases = [
            (LookupEventsRequest { lookup_attributes: two(), ..Default::default() }, "InvalidLookupAttributesException"),
            (LookupEventsRequest { max_results: Some(51), ..Default::default() }, "InvalidMaxResultsException"),
            (LookupEventsRequest { max_results: Some(0), ..Default::default() }, "InvalidMaxResultsException"),
            (LookupEventsRequest { start_time: Some(10.0), end_time: Some(5.0), ..Default::default() }, "InvalidTimeRangeException"),
            (LookupEventsRequest { event_category: Some("management".into()), ..Default::default() }, "InvalidEventCategoryException"),
        ];
        for (req, code) in cases {
            assert_eq!(lookup(&r, req).unwrap_err().code(), code);
        }
    }

    #[test]
    fn event_shape() {
        let r = recorder_with(1);
        let v = lookup(&r, LookupEventsRequest::default()).unwrap();
        let e = &v["Events"][0];
        assert_eq!(e["ReadOnly"], "true");
        assert_eq!(e["EventTime"], 1_735_689_600);
        assert_eq!(e["Resources"], json!([]));
        let inner: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(inner["eventID"], "id-0");
        assert!(v.get("NextToken").is_none());
    }
}
