//! SigV4 signature verification (`--verify-signatures`).
//!
//! The request is signed again with the configured secret of its access key, over exactly the
//! headers the client listed as signed, with their values as received, and the time from
//! `X-Amz-Date`; the result must equal the client's signature. `aws-sigv4` defines the result:
//! requests of the shape every SDK call has go through `signature_fast` (same result, a fifth of
//! the work; property test below), every other through `aws_sigv4::http_request::sign`. Dates more than 15
//! minutes from the real (not mock) clock get AWS's "Signature expired" error, as clock skew does.
//!
//! Before the signature is compared: `host`, `x-amz-date` and every `x-amz-*` header the request
//! carries (`X-Amz-Target` among them) must be signed, so that no part of a captured request that
//! decides what it does can be changed (a signed DescribeKey replayed as ScheduleKeyDeletion);
//! every SDK signs all of them. Then the `X-Amz-Security-Token` must be the one the access key
//! needs (`CredentialDirectory::check_session_token`): none for a long-term key, its own for a
//! role session.
//!
//! Choice: an access key that is not configured has no secret to check against; unless
//! `--strict-credentials` refuses it, it is accepted unverified (it acts as an account root), and
//! none of the checks here apply to it.

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
use crate::signature_fast::SignedRequest;
use crate::App;

/// How far a request's date may be from now.
const MAX_SKEW: time::Duration = time::Duration::minutes(15);

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidSignatureException", message)
}

fn amz_date(t: OffsetDateTime) -> String {
    t.format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap_or_default()
}

/// Verifies the request's signature against the secret of its access key: configured, or
/// issued by STS.
pub fn verify(app: &App, parts: &Parts, body: &[u8], auth: &SigV4Authorization) -> Result<(), ApiError> {
    verify_as(app, parts, body, auth, false)
}

/// [`verify`] for an S3 request, signed as S3 signs: the URI path encoded once and not
/// normalized, the payload hash taken from `x-amz-content-sha256` (S3 requests may sign
/// `UNSIGNED-PAYLOAD`). Its body is never read.
pub fn verify_s3(app: &App, parts: &Parts, auth: &SigV4Authorization) -> Result<(), ApiError> {
    verify_as(app, parts, &[], auth, true)
}

fn verify_as(app: &App, parts: &Parts, body: &[u8], auth: &SigV4Authorization, s3: bool) -> Result<(), ApiError> {
    let issued = app.credentials.issued(&auth.access_key_id);
    let secret = match (app.credentials.configured(&auth.access_key_id), &issued) {
        (Some(key), _) => key.secret.as_str(),
        (None, Some(session)) => session.secret(),
        (None, None) => return Ok(()),
    };
    let date_header = parts.headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        ApiError::bad_request(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = parse_amz_date(date_header).ok_or_else(|| {
        ApiError::bad_request("IncompleteSignatureException", format!("Date must be in ISO-8601 'basic format'. Got '{date_header}'."))
    })?;
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
    require_signed_headers(parts, auth)?;
    let token = parts.headers.get("x-amz-security-token").map(|v| v.to_str().unwrap_or("\u{0}"));
    app.credentials.check_session_token(&auth.access_key_id, token).map_err(|e| ApiError::bad_request(e.code(), e.message()))?;
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(8);
    for name in auth.signed_headers() {
        let value = parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid(format!("The request signature does not match: signed header {name} is missing.")))?;
        headers.push((name, value));
    }
    let uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = SignedRequest {
        method: parts.method.as_str(),
        path_and_query: uri,
        headers: &headers,
        body,
        amz_date: date_header,
        signed_at: SystemTime::from(signed_at),
        access_key_id: &auth.access_key_id,
        region: &auth.region,
        service: &auth.service,
    };
    let expected = match (s3, app.signing_keys.signature(&request, secret)) {
        (false, Some(signature)) => signature,
        _ => reference_signature(&request, secret, s3)?,
    };
    if !keytrail_iam::credentials::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

/// `host`, `x-amz-date` and every `x-amz-*` header present must be signed; AWS's message names
/// the first one that is not ("'<Header>' must be a 'SignedHeader' in the AWS Authorization.",
/// the form AWS's JSON services use for Host; for Host itself, their current text).
fn require_signed_headers(parts: &Parts, auth: &SigV4Authorization) -> Result<(), ApiError> {
    if !auth.signs("host") {
        return Err(invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
    }
    if !auth.signs("x-amz-date") {
        return Err(invalid("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."));
    }
    for name in parts.headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-") && !auth.signs(name) {
            return Err(invalid(format!("'{}' must be a 'SignedHeader' in the AWS Authorization.", header_title(name))));
        }
    }
    Ok(())
}

/// `x-amz-target` → `X-Amz-Target`: how AWS's messages spell header names.
fn header_title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = c == '-';
    }
    out
}

/// The signature `aws_sigv4` computes for `req` with `secret` (`s3`: with S3's settings).
fn reference_signature(req: &SignedRequest<'_>, secret: &str, s3: bool) -> Result<String, ApiError> {
    let identity: Identity = Credentials::new(req.access_key_id, secret, None, None, "keytrail").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let mut body = SignableBody::Bytes(req.body);
    if s3 {
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        if let Some((_, hash)) = req.headers.iter().find(|(n, _)| *n == "x-amz-content-sha256") {
            body = SignableBody::Precomputed(hash.to_string());
        }
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(req.region)
        .name(req.service)
        .time(req.signed_at)
        .settings(settings)
        .build()
        .map_err(|_| invalid("The request signature could not be checked."))?
        .into();
    let signable = SignableRequest::new(req.method, req.path_and_query, req.headers.iter().copied(), body)
        .map_err(|_| invalid("The request signature could not be checked."))?;
    let signed = sign(signable, &params).map_err(|_| invalid("The request signature could not be checked."))?;
    Ok(signed.signature().to_string())
}

/// `YYYYMMDDTHHMMSSZ`, read by hand: `time`'s format-description parser was ~1% of a signed
/// call. Same result (unit test below).
fn parse_amz_date(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let month = time::Month::try_from(u8::try_from(number(4, 6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(number(0, 4)?).ok()?, month, u8::try_from(number(6, 8)?).ok()?).ok()?;
    let clock =
        time::Time::from_hms(u8::try_from(number(9, 11)?).ok()?, u8::try_from(number(11, 13)?).ok()?, u8::try_from(number(13, 15)?).ok()?)
            .ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_utc())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature_fast::SigningKeyCache;

    fn header_value() -> impl Strategy<Value = String> {
        // Printable ASCII with runs of spaces, sometimes at the ends.
        proptest::string::string_regex("[ ]{0,2}[!-~]{0,6}([ ]{1,3}[!-~]{1,6}){0,3}[ ]{0,2}").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The direct computation and aws_sigv4 agree on every request of the simple shape,
        /// and the cached signing key is the one aws_sigv4 derives (same key asked twice).
        #[test]
        fn fast_signature_is_aws_sigv4s(
            extra in proptest::collection::btree_map("x-[a-z0-9-]{1,12}", header_value(), 0..4),
            target in header_value(),
            body in proptest::collection::vec(any::<u8>(), 0..300),
            secret in "[A-Za-z0-9/+]{1,40}",
            region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
            day in 1u32..28,
        ) {
            let amz_date = format!("202611{day:02}T101112Z");
            let signed_at = PrimitiveDateTime::parse(&amz_date, format_description!("[year][month][day]T[hour][minute][second]Z"))
                .unwrap()
                .assume_utc();
            let mut headers: Vec<(&str, &str)> = vec![
                ("x-amz-target", target.as_str()),
                ("host", "127.0.0.1:4566"),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-date", amz_date.as_str()),
            ];
            headers.extend(extra.iter().filter(|(n, _)| !["x-amz-target", "x-amz-date"].contains(&n.as_str())).map(|(n, v)| (n.as_str(), v.as_str())));
            let req = SignedRequest {
                method: "POST",
                path_and_query: "/",
                headers: &headers,
                body: &body,
                amz_date: &amz_date,
                signed_at: SystemTime::from(signed_at),
                access_key_id: "AKIAPROPTEST",
                region: &region,
                service: "kms",
            };
            let cache = SigningKeyCache::default();
            let reference = reference_signature(&req, &secret, false).unwrap();
            prop_assert_eq!(cache.signature(&req, &secret), Some(reference.clone()));
            prop_assert_eq!(cache.signature(&req, &secret), Some(reference.clone()), "from the cached key");
            let other_secret = format!("{secret}x");
            prop_assert_ne!(cache.signature(&req, &other_secret), Some(reference), "a changed secret is not served the old key");
        }
    }

    /// The per-thread last key and the shared map, taken in turns by two credentials.
    #[test]
    fn alternating_credentials_get_their_own_keys() {
        let cache = SigningKeyCache::default();
        let headers: &[(&str, &str)] = &[("host", "h"), ("x-amz-date", "20261129T101112Z")];
        let request = |access_key_id, region| SignedRequest {
            method: "POST",
            path_and_query: "/",
            headers,
            body: b"{}",
            amz_date: "20261129T101112Z",
            signed_at: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_947_072),
            access_key_id,
            region,
            service: "kms",
        };
        for _ in 0..2 {
            for (akid, region, secret) in [("AK1", "us-east-1", "s1"), ("AK2", "us-east-1", "s2"), ("AK1", "eu-west-1", "s1")] {
                let req = request(akid, region);
                assert_eq!(cache.signature(&req, secret).unwrap(), reference_signature(&req, secret, false).unwrap(), "{akid} {region}");
            }
        }
    }

    #[test]
    fn amz_dates_read_as_time_reads_them() {
        let by_time = |t: &str| {
            PrimitiveDateTime::parse(t, format_description!("[year][month][day]T[hour][minute][second]Z")).ok().map(|d| d.assume_utc())
        };
        for t in [
            "20261129T235959Z",
            "20240229T000000Z",
            "20230229T000000Z",
            "20261301T000000Z",
            "20261100T000000Z",
            "20261129T240000Z",
            "20261129T235960Z",
            "2026-11-29T00:00Z",
            "20261129 000000Z",
            "20261129T000000z",
            "2026112９T00000Z",
            "",
            "+0261129T000000Z",
        ] {
            assert_eq!(parse_amz_date(t), by_time(t), "{t:?}");
        }
        assert!(parse_amz_date("20261129T101112Z").is_some());
    }

    #[test]
    fn unusual_requests_are_left_to_aws_sigv4() {
        let cache = SigningKeyCache::default();
        let base = |path: &'static str, headers: &'static [(&'static str, &'static str)]| SignedRequest {
            method: "POST",
            path_and_query: path,
            headers,
            body: b"{}",
            amz_date: "20261129T101112Z",
            signed_at: SystemTime::UNIX_EPOCH,
            access_key_id: "AK",
            region: "us-east-1",
            service: "kms",
        };
        let ok: &[(&str, &str)] = &[("host", "h"), ("x-amz-date", "20261129T101112Z")];
        assert!(cache.signature(&base("/", ok), "s").is_some());
        assert!(cache.signature(&base("/?a=b", ok), "s").is_none(), "a query string");
        assert!(cache.signature(&base("/x", ok), "s").is_none(), "another path");
        assert!(cache.signature(&base("/", &[("host", "h")]), "s").is_none(), "x-amz-date not signed");
        assert!(cache.signature(&base("/", &[("host", "h"), ("host", "i"), ("x-amz-date", "20261129T101112Z")]), "s").is_none());
        assert!(cache.signature(&base("/", &[("host", "h\u{e9}"), ("x-amz-date", "20261129T101112Z")]), "s").is_none(), "not ASCII");
        assert!(cache.signature(&base("/", &[("host", "h\tx"), ("x-amz-date", "20261129T101112Z")]), "s").is_none(), "a tab");
    }
}
