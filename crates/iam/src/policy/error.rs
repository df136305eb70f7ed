//! The error a policy document can be refused with.

use std::fmt;

/// Why a policy document was refused: bad grammar, too large, or a lockout.
///
/// KMS maps every kind to `MalformedPolicyDocumentException` except [`PolicyError::is_too_large`],
/// which AWS reports as a `ValidationException` on the `policy` parameter. The message is safe to
/// return to the caller: policies hold no secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    kind: ErrorKind,
    message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    Malformed,
    TooLarge,
    Lockout,
}

impl PolicyError {
    /// A grammar error with the given message.
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        PolicyError { kind: ErrorKind::Malformed, message: message.into() }
    }

    /// The policy text exceeds the size quota.
    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        PolicyError { kind: ErrorKind::TooLarge, message: message.into() }
    }

    /// The policy would lock the caller out of the key.
    pub(crate) fn lockout() -> Self {
        PolicyError {
            kind: ErrorKind::Lockout,
            message: "The new key policy will not allow you to update the key policy in the future.".to_owned(),
        }
    }

    /// The human-readable message, suitable for an AWS error response.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the policy text is longer than the quota allows (AWS: `ValidationException`).
    pub fn is_too_large(&self) -> bool {
        self.kind == ErrorKind::TooLarge
    }

    /// True when the lockout safety check refused the policy.
    pub fn is_lockout(&self) -> bool {
        self.kind == ErrorKind::Lockout
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}
