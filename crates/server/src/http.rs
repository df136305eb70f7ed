//! HTTP routing: one endpoint for KMS, CloudTrail and the control API.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use crate::protocol::{error_response, new_request_id, ApiError, Body};
use crate::{App, RequestMeta};

/// Largest request body accepted; AWS's largest KMS request (a 128 KiB policy, base64 blobs) fits.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// Longest wait for a request body once its headers are in; a client that stalls mid-body gets
/// `408 RequestTimeoutException` and its connection closed, so it cannot pin a task forever.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const KMS_PREFIX: &str = "TrentService.";
/// The CloudTrail target prefix (botocore: the AWS CLI, boto3).
pub const CLOUDTRAIL_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
/// The CloudTrail target prefix that Smithy-generated SDKs (Rust, Java v2, JS v3, Go v2) send:
/// the service shape's name. AWS accepts both.
pub const CLOUDTRAIL_SMITHY_PREFIX: &str = "CloudTrail_20131101.";

/// Handles one request; never fails (errors become AWS-style responses).
pub async fn handle(app: Arc<App>, req: Request<Incoming>, source_ip: Arc<str>) -> Result<Response<Body>, std::convert::Infallible> {
    let request_id = new_request_id();
    let (parts, body) = req.into_parts();
    // S3 (the trail bucket) is answered before any body is read: it only reads, and a refused
    // upload must get S3's error, not the JSON body limit's.
    if keytrail_s3::is_s3_request(&parts.uri, &parts.headers) {
        return Ok(crate::s3_api::handle(&app, &parts, &source_ip).await);
    }
    // A body announced larger than the limit is refused before any of it is read.
    let announced = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        let mut resp = error_response(&request_id, &too_large());
        resp.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
        return Ok(resp);
    }
    let mut collect = std::pin::pin!(Limited::new(body, MAX_BODY_BYTES).collect());
    // A body that came with the headers (nearly every KMS call) is read without arming a timer.
    let ready = std::future::poll_fn(|cx| {
        Poll::Ready(match collect.as_mut().poll(cx) {
            Poll::Ready(c) => Some(c),
            Poll::Pending => None,
        })
    })
    .await;
    let waited = match ready {
        Some(c) => Ok(c),
        None => tokio::time::timeout(BODY_READ_TIMEOUT, collect).await,
    };
    let collected = match waited {
        Ok(c) => c,
        Err(_) => {
            let err = ApiError {
                status: 408,
                code: "RequestTimeoutException".into(),
                message: format!("The request body was not received within {} seconds.", BODY_READ_TIMEOUT.as_secs()),
            };
            let mut resp = error_response(&request_id, &err);
            resp.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
            return Ok(resp);
        }
    };
    let body: Bytes = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let over_limit = e.downcast_ref::<http_body_util::LengthLimitError>().is_some();
            let err = if over_limit {
                too_large()
            } else {
                ApiError::bad_request("SerializationException", "The request body could not be read.")
            };
            return Ok(error_response(&request_id, &err));
        }
    };
    let path = parts.uri.path();
    if path.starts_with("/_keytrail/") {
        return Ok(crate::control::handle(&app, &parts.method, path, parts.uri.query(), &body, &request_id).await);
    }
    if parts.method != Method::POST {
        let err = ApiError::bad_request("UnknownOperationException", "keytrail serves the AWS JSON protocol: POST / with X-Amz-Target.");
        return Ok(error_response(&request_id, &err));
    }
    let meta = request_meta(&parts, request_id, &source_ip);
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let resp = if let Some(name) = target.strip_prefix(KMS_PREFIX) {
        crate::kms_api::handle(&app, &parts, &body, name, &meta).await
    } else if let Some(name) = target.strip_prefix(CLOUDTRAIL_PREFIX).or_else(|| target.strip_prefix(CLOUDTRAIL_SMITHY_PREFIX)) {
        crate::cloudtrail_api::handle(&app, &parts, &body, name, &meta).await
    } else {
        let err = ApiError::bad_request(
            "UnknownOperationException",
            if target.is_empty() { "Missing X-Amz-Target header.".to_string() } else { format!("Unknown operation {target}") },
        );
        error_response(&meta.request_id, &err)
    };
    Ok(resp)
}

/// What a request's records need of it: its id, the peer's address, its `User-Agent` (at most
/// 1 KB, as CloudTrail keeps it).
pub(crate) fn request_meta(parts: &hyper::http::request::Parts, request_id: String, source_ip: &str) -> RequestMeta {
    RequestMeta {
        request_id,
        source_ip: source_ip.to_string(),
        user_agent: parts.headers.get(hyper::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| {
            let mut ua = ua.to_string();
            if ua.len() > 1024 {
                let mut cut = 1024;
                while !ua.is_char_boundary(cut) {
                    cut -= 1;
                }
                ua.truncate(cut);
            }
            ua
        }),
    }
}

fn too_large() -> ApiError {
    ApiError {
        status: 413,
        code: "RequestEntityTooLargeException".into(),
        message: format!("Request body is larger than {MAX_BODY_BYTES} bytes."),
    }
}
