//! STS errors: the code, HTTP status and message STS answers with (the query protocol's XML
//! `<ErrorResponse>` is rendered by [`crate::xml::error_document`]).

/// An error STS answers with. Its message never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsError {
    /// The `<Code>`, e.g. `AccessDenied`, `ValidationError`.
    pub code: &'static str,
    /// HTTP status.
    pub status: u16,
    /// The `<Message>`.
    pub message: String,
}

impl StsError {
    /// `AccessDenied` (403): the trust policy or the caller's policies refuse.
    pub fn access_denied(message: impl Into<String>) -> Self {
        StsError { code: "AccessDenied", status: 403, message: message.into() }
    }

    /// `ValidationError` (400): a parameter breaks a constraint of the API model.
    pub fn validation(message: impl Into<String>) -> Self {
        StsError { code: "ValidationError", status: 400, message: message.into() }
    }

    /// `InvalidParameterValue` (400): a value the model allows but STS refuses (tag rules).
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        StsError { code: "InvalidParameterValue", status: 400, message: message.into() }
    }

    /// `InvalidAction` (400): the query names no STS action of this API version.
    pub fn invalid_action(message: impl Into<String>) -> Self {
        StsError { code: "InvalidAction", status: 400, message: message.into() }
    }

    /// `NotImplemented` (501): a real STS action or parameter keytrail does not serve. 501 is
    /// not among the statuses the SDKs retry (500, 502, 503, 504), so the caller sees it at once.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        StsError { code: "NotImplemented", status: 501, message: message.into() }
    }
}

impl std::fmt::Display for StsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StsError {}
