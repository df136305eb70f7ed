//! Request decoding: JSON bodies into operation requests, with AWS's error for bad input.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::{ErrorCode, KmsError};

/// A base64 blob member (plaintext, ciphertext). Zeroed on drop; never printed.
#[derive(Clone, Default)]
pub struct Blob(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        STANDARD
            .decode(s.as_bytes())
            .map(|v| Blob(Zeroizing::new(v)))
            .map_err(|_| serde::de::Error::custom("a blob member is not valid base64"))
    }
}

impl Blob {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Base64 for a response blob.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes a request body. An empty body is an empty request. Errors are
/// `SerializationException` with a message that never repeats the input's values.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| KmsError::new(ErrorCode::Serialization, describe(&e)))
}

fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "The request body is not valid JSON.".to_string(),
        Category::Data => {
            let text = e.to_string();
            if text.contains("not valid base64") {
                return "A blob member of the request is not valid base64.".to_string();
            }
            if let Some(rest) = text.strip_prefix("invalid type: ") {
                // "invalid type: string \"…\", expected u32 at line…": keep only the kinds.
                let found = rest.split([' ', ',']).next().unwrap_or("value");
                let expected = rest.split(", expected ").nth(1).map(|s| s.split(" at line").next().unwrap_or(s)).unwrap_or("another type");
                return format!("A member of type {found} cannot be converted to {expected}.");
            }
            if text.starts_with("invalid value") || text.starts_with("invalid length") {
                return "A member of the request has a value of the wrong form.".to_string();
            }
            text.split(" at line").next().unwrap_or("Invalid request.").to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "PascalCase")]
    #[allow(dead_code)]
    struct R {
        limit: Option<i64>,
        plaintext: Option<Blob>,
        encryption_context: Option<BTreeMap<String, String>>,
    }

    #[test]
    fn errors_never_echo_values() {
        for body in [
            &br#"{"Plaintext":"s3cr3t!!"}"#[..],
            br#"{"Limit":"s3cr3t"}"#,
            br#"{"EncryptionContext":{"a":5}}"#,
            br#"{"Plaintext": 123}"#,
            b"{not json s3cr3t",
        ] {
            let err = decode::<R>(body).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Serialization);
            assert!(!err.message().contains("s3cr3t"), "{}", err.message());
        }
        assert!(decode::<R>(b"").unwrap().limit.is_none());
    }
}
