//! The ways a request can name a key: key id, key ARN, alias name, alias ARN.

use crate::{ErrorCode, KmsError};

/// A key reference as sent in `KeyId`-style members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// A bare key id, in the caller's account and region.
    KeyId(String),
    /// `arn:aws:kms:<region>:<account>:key/<id>`; the only form that reaches another account.
    KeyArn {
        /// Region in the ARN.
        region: String,
        /// Account in the ARN.
        account: String,
        /// Key id.
        id: String,
    },
    /// `alias/<name>`, in the caller's account and region.
    AliasName(String),
    /// `arn:aws:kms:<region>:<account>:alias/<name>`.
    AliasArn {
        /// Region in the ARN.
        region: String,
        /// Account in the ARN.
        account: String,
        /// Alias name including the `alias/` prefix.
        name: String,
    },
}

impl KeyRef {
    /// Parses a key reference; a malformed ARN is `InvalidArnException`.
    pub fn parse(s: &str) -> Result<KeyRef, KmsError> {
        if let Some(rest) = s.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let invalid = || KmsError::new(ErrorCode::InvalidArn, format!("ARN {s} is not a valid KMS key or alias ARN."));
            if parts.len() != 5 || !parts[0].starts_with("aws") || parts[1] != "kms" || parts[2].is_empty() {
                return Err(invalid());
            }
            let (region, account, resource) = (parts[2].to_string(), parts[3].to_string(), parts[4]);
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            if let Some(id) = resource.strip_prefix("key/") {
                if id.is_empty() {
                    return Err(invalid());
                }
                return Ok(KeyRef::KeyArn { region, account, id: id.to_string() });
            }
            if resource.starts_with("alias/") && resource.len() > "alias/".len() {
                return Ok(KeyRef::AliasArn { region, account, name: resource.to_string() });
            }
            return Err(invalid());
        }
        if s.starts_with("alias/") {
            return Ok(KeyRef::AliasName(s.to_string()));
        }
        Ok(KeyRef::KeyId(s.to_string()))
    }

    /// True for the alias forms.
    pub fn is_alias(&self) -> bool {
        matches!(self, KeyRef::AliasName(_) | KeyRef::AliasArn { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_four_forms() {
        assert_eq!(KeyRef::parse("abc").unwrap(), KeyRef::KeyId("abc".into()));
        assert_eq!(KeyRef::parse("alias/x").unwrap(), KeyRef::AliasName("alias/x".into()));
        assert_eq!(
            KeyRef::parse("arn:aws:kms:us-east-1:111122223333:key/k1").unwrap(),
            KeyRef::KeyArn { region: "us-east-1".into(), account: "111122223333".into(), id: "k1".into() }
        );
        assert_eq!(
            KeyRef::parse("arn:aws:kms:eu-west-1:111122223333:alias/a/b").unwrap(),
            KeyRef::AliasArn { region: "eu-west-1".into(), account: "111122223333".into(), name: "alias/a/b".into() }
        );
        for bad in ["arn:aws:kms:us-east-1:1111:key/k", "arn:aws:s3:::bucket", "arn:aws:kms:us-east-1:111122223333:foo/x", "arn:"] {
            assert_eq!(KeyRef::parse(bad).unwrap_err().code(), ErrorCode::InvalidArn, "{bad}");
        }
    }
}
