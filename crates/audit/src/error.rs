//! Errors of the CloudTrail API, and request decoding with AWS's error for bad input.

use serde::de::DeserializeOwned;

/// An error a CloudTrail operation answers: AWS's exception name and a message.
///
/// Every CloudTrail client error is HTTP 400, so the status is not carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudTrailError {
    code: &'static str,
    message: String,
}

impl CloudTrailError {
    /// An error with exception name `code` (`TrailNotFoundException`).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CloudTrailError { code, message: message.into() }
    }

    /// The exception name, sent as `__type` and recorded as `errorCode`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message, sent to the caller and recorded as `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for CloudTrailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CloudTrailError {}

/// Decodes a request body; an empty body is an empty request. CloudTrail requests carry no
/// secrets, so serde's description of what was wrong is safe to return.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, CloudTrailError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let message = match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => "The request body is not valid JSON.".to_string(),
            Category::Data => {
                let text = e.to_string();
                let what = text.split(" at line").next().unwrap_or("Invalid request.");
                format!("The request could not be read: {what}.")
            }
        };
        CloudTrailError::new("SerializationException", message)
    })
}
