//! How KMS calls are audited: which operations only read, and what of a request goes into
//! `requestParameters` (lower camel case, secrets removed).

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

/// Members whose values are maps of caller data: their keys are kept as sent.
const USER_MAPS: &[&str] =
    &["EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext", "EncryptionContextSubset", "EncryptionContextEquals"];

/// `requestParameters` for a request body: every non-secret member, names in lower camel case,
/// plus `defaults` the operation filled in (added only when the caller did not send them).
/// A body that is not a JSON object records `null`.
pub fn request_parameters(body: &[u8], defaults: &[(&'static str, Value)]) -> Option<Value> {
    let parsed: Value =
        if body.iter().all(u8::is_ascii_whitespace) { Value::Object(Map::new()) } else { serde_json::from_slice(body).ok()? };
    let Value::Object(members) = parsed else { return None };
    let mut out = Map::new();
    for (name, value) in members {
        // Any spelling: a member AWS would not recognise (`plaintext`) is ignored by the
        // operation, but its value is still the caller's secret.
        if SECRET_MEMBERS.iter().any(|s| s.eq_ignore_ascii_case(&name)) || value.is_null() {
            continue;
        }
        let value = if USER_MAPS.contains(&name.as_str()) { value } else { camel_members(value) };
        out.insert(lower_camel(&name), value);
    }
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
}
