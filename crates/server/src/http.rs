//! HTTP routing: one endpoint for KMS, CloudTrail, STS and the control API (plus moto's reset
//! route), and an answer in their own protocol for services keytrail does not serve.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::BodyExt;
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

/// How much of a body over the limit is still read (and dropped) before the 413 is sent, and for
/// how long at most: a client that writes its whole body before reading (most do) then reads the
/// 413 instead of a reset connection (`Broken pipe`). A larger or slower body is cut off.
pub const DRAIN_LIMIT: u64 = 32 * 1024 * 1024;
/// See [`DRAIN_LIMIT`].
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a body was not read whole.
enum BodyError {
    /// Past [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed mid-body.
    Unreadable,
}

/// Handles one request; never fails (errors become AWS-style responses).
pub async fn handle(app: Arc<App>, req: Request<Incoming>, source_ip: Arc<str>) -> Result<Response<Body>, std::convert::Infallible> {
    let request_id = new_request_id();
    let (parts, mut body) = req.into_parts();
    // S3 (the trail bucket) is answered before any body is read: it only reads, and a refused
    // upload must get S3's error, not the JSON body limit's.
    if keytrail_s3::is_s3_request(&parts.uri, &parts.headers) {
        return Ok(crate::s3_api::handle(&app, &parts, &source_ip).await);
    }
    // A body announced larger than the limit is refused before any of it is kept; it is drained
    // first when that is cheap enough, so the client gets to read the answer.
    let announced = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        // A client waiting for `100 Continue` sends nothing more once answered.
        let waits = parts.headers.get(hyper::header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits && announced.is_some_and(|n| n <= DRAIN_LIMIT) {
            drain(&mut body).await;
        }
        return Ok(closing(error_response(&request_id, &too_large())));
    }
    let collected = {
        let mut collect = std::pin::pin!(read_limited(&mut body));
        // A body that came with the headers (nearly every KMS call) is read without arming a timer.
        let ready = std::future::poll_fn(|cx| {
            Poll::Ready(match collect.as_mut().poll(cx) {
                Poll::Ready(c) => Some(c),
                Poll::Pending => None,
            })
        })
        .await;
        match ready {
            Some(c) => Some(c),
            None => tokio::time::timeout(BODY_READ_TIMEOUT, collect).await.ok(),
        }
    };
    let body: Bytes = match collected {
        Some(Ok(b)) => b,
        Some(Err(BodyError::TooLarge)) => {
            drain(&mut body).await;
            return Ok(closing(error_response(&request_id, &too_large())));
        }
        Some(Err(BodyError::Unreadable)) => {
            return Ok(error_response(
                &request_id,
                &ApiError::bad_request("SerializationException", "The request body could not be read."),
            ));
        }
        None => {
            let err = ApiError {
                status: 408,
                code: "RequestTimeoutException".into(),
                message: format!("The request body was not received within {} seconds.", BODY_READ_TIMEOUT.as_secs()),
            };
            return Ok(closing(error_response(&request_id, &err)));
        }
    };
    let path = parts.uri.path();
    if path.starts_with("/_keytrail/") {
        return Ok(crate::control::handle(&app, &parts, &body, &request_id).await);
    }
    if path == MOTO_RESET && parts.method == Method::POST {
        // moto's server mode resets between tests here; suites written for it run unmodified.
        return Ok(crate::control::handle(&app, &parts, &body, &request_id).await);
    }
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    // KMS and CloudTrail name themselves in X-Amz-Target; anything else is routed by the service
    // its signature is scoped to: STS (query protocol), or a service keytrail does not serve.
    if !target.starts_with(KMS_PREFIX) && !target.starts_with(CLOUDTRAIL_PREFIX) && !target.starts_with(CLOUDTRAIL_SMITHY_PREFIX) {
        let service = scope_service(&parts);
        match service.as_deref() {
            Some("sts") => {
                let meta = request_meta(&parts, request_id, &source_ip);
                return Ok(crate::sts_api::handle(&app, &parts, &body, &meta).await);
            }
            // An unsigned query-protocol call: STS answers it (MissingAuthenticationToken).
            None if keytrail_sts::QueryRequest::names_an_action(parts.uri.query(), &body) => {
                let meta = request_meta(&parts, request_id, &source_ip);
                return Ok(crate::sts_api::handle(&app, &parts, &body, &meta).await);
            }
            Some(other) if other != "kms" && other != "cloudtrail" => {
                return Ok(crate::unserved::respond(&app.unserved, other, &parts, &body, &request_id));
            }
            _ => {}
        }
    }
    if parts.method != Method::POST {
        let err = ApiError::bad_request("UnknownOperationException", "keytrail serves the AWS JSON protocol: POST / with X-Amz-Target.");
        return Ok(error_response(&request_id, &err));
    }
    let meta = request_meta(&parts, request_id, &source_ip);
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

/// The body, whole, or why not: past [`MAX_BODY_BYTES`] (announced or not) it stops reading.
async fn read_limited(body: &mut Incoming) -> Result<Bytes, BodyError> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else { continue };
        len += data.len();
        if len > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        chunks.push(data);
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => Bytes::from(chunks.concat()),
    })
}

/// Reads and drops what is left of a body, up to [`DRAIN_LIMIT`] bytes or [`DRAIN_TIMEOUT`].
async fn drain(body: &mut Incoming) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                read += data.len() as u64;
                if read > DRAIN_LIMIT {
                    return;
                }
            }
        }
    })
    .await;
}

/// `resp` with `Connection: close`: after a refused or stalled body, the connection is not reused.
fn closing(mut resp: Response<Body>) -> Response<Body> {
    resp.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    resp
}

/// moto's reset route (`moto_server`'s `/moto-api/reset`).
pub const MOTO_RESET: &str = "/moto-api/reset";

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

/// The service a request's SigV4 credential scope names (`Authorization` header, or a
/// presigned URL's `X-Amz-Credential`), if it is signed.
fn scope_service(parts: &hyper::http::request::Parts) -> Option<String> {
    if let Some(header) = parts.headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return keytrail_iam::sigv4::SigV4Authorization::parse(header).ok().map(|a| a.service);
    }
    let query = parts.uri.query()?;
    let (_, credential) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "X-Amz-Credential")?;
    credential.split('/').nth(3).map(str::to_owned)
}

fn too_large() -> ApiError {
    ApiError {
        status: 413,
        code: "RequestEntityTooLargeException".into(),
        message: format!("Request body is larger than {MAX_BODY_BYTES} bytes."),
    }
}
