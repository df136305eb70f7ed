//! The one KMS error type: an AWS error code and a message, rendered by the server as
//! `{"__type": code, "message": message}` with the code's HTTP status.
//!
//! Messages never contain secrets (plaintext, ciphertext, key material): they name keys and
//! fields, never values of blob fields.

use std::fmt;

/// The AWS error codes keytrail returns. The string form is the `__type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ErrorCode {
    AccessDenied,
    AlreadyExists,
    Conflict,
    Disabled,
    DryRunOperation,
    IncorrectKey,
    InvalidAliasName,
    InvalidArn,
    InvalidCiphertext,
    InvalidGrantId,
    InvalidGrantToken,
    InvalidKeyUsage,
    InvalidMarker,
    KmsInternal,
    KmsInvalidState,
    KmsInvalidSignature,
    KmsInvalidMac,
    LimitExceeded,
    MalformedPolicyDocument,
    NotFound,
    Serialization,
    Tag,
    UnsupportedOperation,
    Validation,
}

impl ErrorCode {
    /// The `__type` AWS sends for this error.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            AccessDenied => "AccessDeniedException",
            AlreadyExists => "AlreadyExistsException",
            Conflict => "ConflictException",
            Disabled => "DisabledException",
            DryRunOperation => "DryRunOperationException",
            IncorrectKey => "IncorrectKeyException",
            InvalidAliasName => "InvalidAliasNameException",
            InvalidArn => "InvalidArnException",
            InvalidCiphertext => "InvalidCiphertextException",
            InvalidGrantId => "InvalidGrantIdException",
            InvalidGrantToken => "InvalidGrantTokenException",
            InvalidKeyUsage => "InvalidKeyUsageException",
            InvalidMarker => "InvalidMarkerException",
            KmsInternal => "KMSInternalException",
            KmsInvalidState => "KMSInvalidStateException",
            KmsInvalidSignature => "KMSInvalidSignatureException",
            KmsInvalidMac => "KMSInvalidMacException",
            LimitExceeded => "LimitExceededException",
            MalformedPolicyDocument => "MalformedPolicyDocumentException",
            NotFound => "NotFoundException",
            Serialization => "SerializationException",
            Tag => "TagException",
            UnsupportedOperation => "UnsupportedOperationException",
            Validation => "ValidationException",
        }
    }

    /// The HTTP status AWS uses for this error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::KmsInternal => 500,
            ErrorCode::AccessDenied => 400,
            ErrorCode::Conflict => 409,
            _ => 400,
        }
    }
}

/// A KMS error as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsError {
    code: ErrorCode,
    message: String,
}

impl KmsError {
    /// An error with `code` and a message that must not contain secrets.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KmsError { code, message: message.into() }
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message sent to the caller and recorded as `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `ValidationException` in AWS's "1 validation error detected" form.
    pub fn validation(message: impl Into<String>) -> Self {
        KmsError::new(ErrorCode::Validation, message)
    }

    /// A key that does not exist, or that this caller may not see.
    pub fn key_not_found(arn: &str) -> Self {
        KmsError::new(ErrorCode::NotFound, format!("Key '{arn}' does not exist"))
    }

    /// An alias that does not exist.
    pub fn alias_not_found(alias_arn: &str) -> Self {
        KmsError::new(ErrorCode::NotFound, format!("Alias {alias_arn} is not found."))
    }

    /// A disabled key asked to do cryptography.
    pub fn disabled(arn: &str) -> Self {
        KmsError::new(ErrorCode::Disabled, format!("{arn} is disabled."))
    }

    /// A key whose state does not allow the operation.
    pub fn invalid_state(arn: &str, state: &str) -> Self {
        let what = match state {
            "PendingDeletion" => "pending deletion".to_string(),
            "PendingImport" => "pending import".to_string(),
            other => format!("{other} state"),
        };
        KmsError::new(ErrorCode::KmsInvalidState, format!("{arn} is {what}."))
    }

    /// A ciphertext that is not ours, is damaged, or does not match its encryption context.
    pub fn invalid_ciphertext() -> Self {
        KmsError::new(
            ErrorCode::InvalidCiphertext,
            "The ciphertext is invalid, was damaged, or does not match the encryption context and key.",
        )
    }

    /// A KeyId that names another key than the ciphertext's.
    pub fn incorrect_key() -> Self {
        KmsError::new(ErrorCode::IncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
    }
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for KmsError {}
