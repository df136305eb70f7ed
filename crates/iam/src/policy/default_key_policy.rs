//! The key policy KMS attaches when CreateKey is called without one.

/// The AWS default key policy for a key owned by `account`, formatted exactly as AWS returns it
/// from GetKeyPolicy (Jackson's pretty printer: `" : "` separators, two-space indents, and
/// arrays of objects opened inline as `[ {`).
pub fn default_key_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \
         \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \
         \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \
         \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyDocument, PolicyKind};

    #[test]
    fn matches_the_text_aws_returns() {
        let expected = r#"{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"#;
        assert_eq!(default_key_policy("111122223333"), expected);
    }

    #[test]
    fn parses_as_a_key_policy() {
        let policy = PolicyDocument::parse(&default_key_policy("444455556666"), PolicyKind::KeyPolicy).unwrap();
        assert_eq!(policy.id(), Some("key-default-1"));
        assert_eq!(policy.text(), default_key_policy("444455556666"));
    }
}
