//! Request validation with AWS's messages ("1 validation error detected: …").
//!
//! Field names are the lower-camel-case member names AWS uses in these messages. Values of
//! secret members are never echoed.

use crate::KmsError;

fn detected(what: String) -> KmsError {
    KmsError::validation(format!("1 validation error detected: {what}"))
}

/// A required member.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, KmsError> {
    value.ok_or_else(|| detected(format!("Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

/// A string member's length (in characters) within `min..=max`.
pub fn length(value: &str, field: &str, min: usize, max: usize) -> Result<(), KmsError> {
    let n = value.chars().count();
    if n < min {
        return Err(detected(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    if n > max {
        let shown: String = value.chars().take(64).collect();
        return Err(detected(format!(
            "Value '{shown}…' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

/// A secret blob member's length within `min..=max`; the value is never shown.
pub fn secret_length(value: &[u8], field: &str, min: usize, max: usize) -> Result<(), KmsError> {
    if value.len() < min {
        return Err(detected(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    if value.len() > max {
        return Err(detected(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

/// An integer member within `min..=max`.
pub fn range(value: i64, field: &str, min: i64, max: i64) -> Result<(), KmsError> {
    if value < min {
        return Err(detected(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    if value > max {
        return Err(detected(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(())
}

/// An enum member: one of `allowed`.
pub fn one_of(value: &str, field: &str, allowed: &[&str]) -> Result<(), KmsError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let shown: String = value.chars().take(64).collect();
    Err(detected(format!(
        "Value '{shown}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )))
}

/// A list member's item count within `min..=max`.
pub fn count(n: usize, field: &str, min: usize, max: usize) -> Result<(), KmsError> {
    if n < min {
        return Err(detected(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    if n > max {
        return Err(detected(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

/// A `KeyId`-style member: required, 1..=2048 characters.
pub fn key_id(value: Option<String>, field: &str) -> Result<String, KmsError> {
    let v = required(value, field)?;
    length(&v, field, 1, 2048)?;
    Ok(v)
}

/// A `GrantTokens` member: at most 10 tokens of 1..=8192 characters.
pub fn grant_tokens(tokens: &Option<Vec<String>>) -> Result<(), KmsError> {
    if let Some(t) = tokens {
        count(t.len(), "grantTokens", 0, 10)?;
        for token in t {
            if token.is_empty() || token.len() > 8192 {
                return Err(detected(
                    "Value at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 8192, Member must have length greater than or equal to 1]".into(),
                ));
            }
        }
    }
    Ok(())
}

/// An encryption context: keys and values non-empty... AWS allows empty values; keys 1..=
/// the whole context (keys and values) at most 8192 bytes.
pub fn encryption_context(ctx: &Option<crate::crypto::EncryptionContext>, field: &str) -> Result<(), KmsError> {
    if let Some(ctx) = ctx {
        let total: usize = ctx.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > 8192 {
            return Err(detected(format!(
                "Value at '{field}' failed to satisfy constraint: Member must have total size of keys and values less than or equal to 8192 bytes"
            )));
        }
        if ctx.keys().any(|k| k.is_empty()) {
            return Err(detected(format!(
                "Value at '{field}' failed to satisfy constraint: Map keys must have length greater than or equal to 1"
            )));
        }
    }
    Ok(())
}
