//! A trail's `KmsKeyId`: CloudTrail resolves the key the request names (key id, key ARN, alias
//! name or alias ARN) to its key ARN and stores that, refusing a value that names no usable key.
//! This crate knows no KMS, so the server answers through [`TrailKeyResolver`].
//!
//! Checking that the key policy lets `cloudtrail.amazonaws.com` use the key
//! (`InsufficientEncryptionPolicyException`) comes with SSE-KMS log files (issue 24).

use crate::error::CloudTrailError;

/// Why a `KmsKeyId` was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not a key id, key ARN, alias name or alias ARN.
    Malformed,
    /// No such key (or alias) in the trail's region.
    NotFound,
    /// A key CloudTrail cannot encrypt with: only symmetric encryption keys are accepted.
    NotSymmetric,
}

/// Resolves a trail's `KmsKeyId` for a trail of `account` in `region` to the key's ARN.
pub trait TrailKeyResolver: Send + Sync {
    /// The key ARN, or why the reference is refused.
    fn resolve(&self, account: &str, region: &str, key_id: &str) -> Result<String, KeyProblem>;
}

/// A resolver that knows no keys (a CloudTrail without KMS: every `KmsKeyId` is unknown).
pub struct NoKeys;

impl TrailKeyResolver for NoKeys {
    fn resolve(&self, _account: &str, _region: &str, _key_id: &str) -> Result<String, KeyProblem> {
        Err(KeyProblem::NotFound)
    }
}

/// The key ARN `key_id` resolves to, or CloudTrail's error. Choice: the messages are keytrail's;
/// the exception names are those botocore lists for CreateTrail and UpdateTrail.
pub(crate) fn check(resolver: &dyn TrailKeyResolver, account: &str, region: &str, key_id: &str) -> Result<String, CloudTrailError> {
    resolver.resolve(account, region, key_id).map_err(|problem| match problem {
        KeyProblem::Malformed => CloudTrailError::new("InvalidKmsKeyIdException", format!("KMS key ID {key_id} is not valid.")),
        KeyProblem::NotFound => CloudTrailError::new(
            "KmsKeyNotFoundException",
            format!("KMS key {key_id} does not exist in {region}, or is not in the same Region as the trail."),
        ),
        KeyProblem::NotSymmetric => CloudTrailError::new(
            "InvalidKmsKeyIdException",
            format!("KMS key {key_id} is not a symmetric encryption key; CloudTrail encrypts log files only with those."),
        ),
    })
}
