//! How KMS calls are audited: which operations only read, and what of a request goes into
//! `requestParameters` (lower camel case, secrets removed).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Request members that are never recorded (cloudtrail-for-kms.md §3.1).
const SECRET_MEMBERS: &[&str] = &[
    "Plaintext",
    "CiphertextBlob",
    "Message",
    "Signature",
    "Mac",
    "ImportToken",
    "EncryptedKeyMaterial",
    "PublicKey",
    "GrantTokens",
    "Recipient",
];

/// Members past which a body skips the raw path (KMS requests have at most a dozen).
const MAX_RAW_MEMBERS: usize = 64;

/// Members whose values are maps of caller data: their keys are kept as sent.
const USER_MAPS: &[&str] =
    &["EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext", "EncryptionContextSubset", "EncryptionContextEquals"];

/// `requestParameters` for a request body: every non-secret member, names in lower camel case,
/// plus `defaults` the operation filled in (added only when the caller did not send them).
/// A body that is not a JSON object records `null`.
pub fn request_parameters(body: &[u8], defaults: &[(&'static str, Value)]) -> Option<Value> {
    let mut out = match raw_members(body) {
        Some(members) => recorded_raw_members(members)?,
        None => recorded_members(body)?,
    };
    for (name, value) in defaults {
        if !out.contains_key(*name) {
            out.insert((*name).to_string(), value.clone());
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    }
}

/// The body's members as raw JSON when the raw path may take them; `None` for escaped member
/// names, a member sent twice, more members than any KMS request has (the duplicate check is
/// quadratic), or a body that is not an object: those take the whole-body path.
fn raw_members(body: &[u8]) -> Option<Vec<(&str, &RawValue)>> {
    let RawMembers(members) = serde_json::from_slice(body).ok()?;
    (members.len() <= MAX_RAW_MEMBERS && !has_duplicates(&members)).then_some(members)
}

/// The common case: each member's value is kept as its JSON text until it is known to be
/// recorded, so a secret (a 4 KB plaintext, a blob) is never parsed into a string of its own only
/// to be dropped (the whole body as a `Value` was ~3% of a signed Encrypt's CPU).
fn recorded_raw_members(members: Vec<(&str, &RawValue)>) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (name, raw) in members {
        if is_secret(name) || raw.get() == "null" {
            continue;
        }
        let value = serde_json::from_str::<Value>(raw.get()).ok()?;
        out.insert(lower_camel(name), recorded_value(name, value));
    }
    Some(out)
}

/// The recorded members of any body, parsed whole; `None` when it is not a JSON object.
fn recorded_members(body: &[u8]) -> Option<Map<String, Value>> {
    let parsed: Value =
        if body.iter().all(u8::is_ascii_whitespace) { Value::Object(Map::new()) } else { serde_json::from_slice(body).ok()? };
    let Value::Object(members) = parsed else { return None };
    let mut out = Map::new();
    for (name, value) in members {
        if is_secret(&name) || value.is_null() {
            continue;
        }
        let value = recorded_value(&name, value);
        out.insert(lower_camel(&name), value);
    }
    Some(out)
}

/// Any spelling: a member AWS would not recognise (`plaintext`) is ignored by the operation, but
/// its value is still the caller's secret.
fn is_secret(name: &str) -> bool {
    SECRET_MEMBERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A member's value as recorded: caller maps as sent, anything else with its members renamed.
fn recorded_value(name: &str, value: Value) -> Value {
    if USER_MAPS.contains(&name) {
        value
    } else {
        camel_members(value)
    }
}

/// A member sent twice: the `Value` path keeps the last value in the first one's place, and a
/// later `null` removes an earlier value; the raw path leaves that rare case to it.
fn has_duplicates(members: &[(&str, &RawValue)]) -> bool {
    members.iter().enumerate().any(|(i, (name, _))| members[..i].iter().any(|(earlier, _)| earlier == name))
}

/// A JSON object's members in the order sent, names borrowed from the body and values as their
/// JSON text. Fails on a name with an escape in it (it cannot be borrowed) and on anything that
/// is not an object.
struct RawMembers<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMembers<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(member) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(RawMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

fn camel_members(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if USER_MAPS.contains(&k.as_str()) { v } else { camel_members(v) };
                    (lower_camel(&k), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_members).collect()),
        other => other,
    }
}

/// `KeyId` → `keyId`, `AWSAccountId` → `aWSAccountId` (as AWS's serializer does).
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A response object with its member names in lower camel case (for `responseElements`).
pub fn response_elements(value: &Value) -> Value {
    camel_members(value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_secrets_and_keeps_context_keys() {
        let body = br#"{"KeyId":"alias/x","Plaintext":"AAAA","EncryptionContext":{"Dept":"Eng"},"GrantTokens":["t"]}"#;
        let p = request_parameters(body, &[("encryptionAlgorithm", json!("SYMMETRIC_DEFAULT"))]).unwrap();
        assert_eq!(p, json!({"keyId":"alias/x","encryptionContext":{"Dept":"Eng"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}));
        let tags = request_parameters(br#"{"Tags":[{"TagKey":"a","TagValue":"b"}]}"#, &[]).unwrap();
        assert_eq!(tags, json!({"tags":[{"tagKey":"a","tagValue":"b"}]}));
        let miscased = request_parameters(br#"{"KeyId":"k","plaintext":"AAAA","CIPHERTEXTBLOB":"BBBB","message":"CCCC"}"#, &[]);
        assert_eq!(miscased, Some(json!({"keyId":"k"})));
        assert_eq!(request_parameters(b"{}", &[]), None);
        assert_eq!(request_parameters(b"[1]", &[]), None);
    }

    #[test]
    fn raw_members_record_what_the_whole_body_records() {
        let bodies: &[&[u8]] = &[
            br#"{"KeyId":"alias/x","Plaintext":"AAAA","EncryptionContext":{"Key Id":"v","a\"b":"c"},"DryRun":false}"#,
            br#"{"Tags":[{"TagKey":"a","TagValue":"b"}],"Policy":"{\"Version\":\"2012-10-17\"}","Description":null}"#,
            br#" { "KeyId" : "k" , "GrantTokens" : ["t"], "Limit": 10, "Marker": "m\u0041" } "#,
            br#"{"KeyId":"a","KeyId":null}"#,
            br#"{"KeyId":"a","Description":"d","KeyId":"b"}"#,
            br#"{"Key\u0049d":"escaped name","plaintext":"AAAA"}"#,
            br#"{"Constraints":{"EncryptionContextSubset":{"Dept":"Eng"}},"Operations":["Encrypt"]}"#,
            br#"{"KeyId":1e400}"#,
            br#"{}"#,
            b"  ",
            b"",
            b"[1]",
            b"\"text\"",
            br#"{"KeyId":"k"} trailing"#,
        ];
        let mut raw_checked = 0;
        for body in bodies {
            if let Some(raw) = raw_members(body).map(recorded_raw_members) {
                assert_eq!(raw, recorded_members(body), "{}", String::from_utf8_lossy(body));
                raw_checked += 1;
            }
            let whole = recorded_members(body).filter(|m| !m.is_empty()).map(Value::Object);
            assert_eq!(request_parameters(body, &[]), whole, "{}", String::from_utf8_lossy(body));
        }
        // The raw path took every object without a duplicate or an escaped name.
        assert_eq!(raw_checked, 6);
        // A body of many members takes the whole-body path and records the same.
        let many = format!("{{{}}}", (0..5000).map(|i| format!("\"M{i}\":{i}")).collect::<Vec<_>>().join(","));
        let recorded = request_parameters(many.as_bytes(), &[]).unwrap();
        assert_eq!(recorded.as_object().map(Map::len), Some(5000));
        assert_eq!(recorded["m4999"], 4999);
    }
}
