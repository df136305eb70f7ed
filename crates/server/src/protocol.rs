//! The awsJson1_1 wire protocol: responses, errors, request ids.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

/// The response body type of every route.
pub type Body = Full<Bytes>;

/// The content type of awsJson1_1.
pub const AWS_JSON: &str = "application/x-amz-json-1.1";

/// An error answered before or outside an operation (authentication, routing, body limits), or
/// rendered from an operation's error: `{"__type": code, "message": message}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `__type`.
    pub code: String,
    /// The message (never contains secrets).
    pub message: String,
}

impl ApiError {
    /// An error with status 400.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ApiError { status: 400, code: code.to_string(), message: message.into() }
    }

    /// The error from a KMS operation.
    pub fn from_kms(e: &keytrail_kms::KmsError) -> Self {
        ApiError { status: e.code().http_status(), code: e.code().as_str().to_string(), message: e.message().to_string() }
    }
}

/// A JSON response with a request id.
pub fn json_response(status: u16, request_id: &str, body: &Value) -> Response<Body> {
    // Most answers fit in 512 bytes (an Encrypt's is ~300): one allocation instead of growing from 128.
    let mut out = Vec::with_capacity(512);
    if serde_json::to_writer(&mut out, body).is_err() {
        out.clear();
    }
    bytes_response(status, request_id, AWS_JSON, Bytes::from(out))
}

/// An error response in AWS's JSON error shape.
pub fn error_response(request_id: &str, err: &ApiError) -> Response<Body> {
    let body = serde_json::json!({ "__type": err.code, "message": err.message });
    json_response(err.status, request_id, &body)
}

/// A response with a prepared body.
pub fn bytes_response(status: u16, request_id: &str, content_type: &str, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    // Static names and the usual content type as constants: parsing them per response showed.
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    let content_type = if content_type == AWS_JSON { Ok(HeaderValue::from_static(AWS_JSON)) } else { HeaderValue::from_str(content_type) };
    if let Ok(v) = content_type {
        headers.insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

/// A fresh request id (a lower-case UUID, as KMS sends).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
