//! SigV4 signature verification (`--verify-signatures`).
//!
//! The request is signed again with `aws-sigv4`, with the configured secret of its access key,
//! over exactly the headers the client listed as signed, with their values as received, and the
//! time from `X-Amz-Date`; the result must equal the client's signature. Dates more than 15
//! minutes from the real (not mock) clock get AWS's "Signature expired" error, as clock skew does.
//! Choice: an access key that is not configured has no secret to check against; unless
//! `--strict-credentials` refuses it, it is accepted unverified (it acts as an account root).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use hyper::http::request::Parts;
use keytrail_iam::sigv4::SigV4Authorization;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::protocol::ApiError;
use crate::App;

/// How far a request's date may be from now.
const MAX_SKEW: time::Duration = time::Duration::minutes(15);

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidSignatureException", message)
}

fn amz_date(t: OffsetDateTime) -> String {
    t.format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap_or_default()
}

/// Verifies the request's signature against the configured secret of its access key.
pub fn verify(app: &App, parts: &Parts, body: &[u8], auth: &SigV4Authorization) -> Result<(), ApiError> {
    let Some(key) = app.credentials.configured(&auth.access_key_id) else {
        return Ok(());
    };
    let date_header = parts.headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        ApiError::bad_request(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = PrimitiveDateTime::parse(date_header, format_description!("[year][month][day]T[hour][minute][second]Z"))
        .map_err(|_| {
            ApiError::bad_request("IncompleteSignatureException", format!("Date must be in ISO-8601 'basic format'. Got '{date_header}'."))
        })?
        .assume_utc();
    let now = OffsetDateTime::now_utc();
    let skew = MAX_SKEW;
    if signed_at < now - skew {
        return Err(invalid(format!(
            "Signature expired: {date_header} is now earlier than {} ({} - 15 min.)",
            amz_date(now - skew),
            amz_date(now)
        )));
    }
    if signed_at > now + skew {
        return Err(invalid(format!(
            "Signature not yet current: {date_header} is still later than {} ({} + 15 min.)",
            amz_date(now + skew),
            amz_date(now)
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(invalid("'Host' must be a 'SignedHeader' in the AWS Authorization."));
    }
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let value = parts
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid(format!("The request signature does not match: signed header {name} is missing.")))?;
        headers.push((name.as_str(), value));
    }
    let uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let identity: Identity = Credentials::new(&auth.access_key_id, &key.secret, None, None, "keytrail").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(SystemTime::from(signed_at))
        .settings(settings)
        .build()
        .map_err(|_| invalid("The request signature could not be checked."))?
        .into();
    let signable = SignableRequest::new(parts.method.as_str(), uri, headers.into_iter(), SignableBody::Bytes(body))
        .map_err(|_| invalid("The request signature could not be checked."))?;
    let expected = sign(signable, &params).map_err(|_| invalid("The request signature could not be checked."))?;
    if !constant_time_eq(expected.signature().as_bytes(), auth.signature.as_bytes()) {
        return Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

/// Compares without stopping at the first difference, so timing says nothing about the signature.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
