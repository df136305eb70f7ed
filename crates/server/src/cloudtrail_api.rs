//! The CloudTrail API path (LookupEvents, trails).

use hyper::http::request::Parts;
use hyper::Response;

use crate::protocol::{error_response, ApiError, Body};
use crate::{App, RequestMeta};

/// Handles `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<name>`.
pub async fn handle(_app: &App, _parts: &Parts, _body: &[u8], name: &str, meta: &RequestMeta) -> Response<Body> {
    let err = ApiError::bad_request("UnknownOperationException", format!("Unknown operation {name}"));
    error_response(&meta.request_id, &err)
}
