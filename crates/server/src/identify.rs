//! Identify: who is calling, from the SigV4 `Authorization` header.
//!
//! In order, as AWS refuses them: no `Authorization` header (`MissingAuthenticationTokenException`),
//! a header that cannot be read (`IncompleteSignatureException`), a credential scope that does not
//! fit the API called (`InvalidSignatureException`: region, service, terminator, date — always
//! checked, as they cost nothing and decide where keys and records go), an access key keytrail
//! refuses (`UnrecognizedClientException`); then, with `--verify-signatures`, the signature and the
//! session token (`signature.rs`).

use hyper::http::request::Parts;
use keytrail_iam::sigv4::SigV4Authorization;
use keytrail_iam::Caller;

use crate::protocol::ApiError;
use crate::App;

/// What one API route expects of a request's credential scope. Each route passes its own, so an
/// API added later (STS, S3) states its signing name the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiScope {
    /// The signing name the scope must carry (`kms`); `None` takes any.
    pub service: Option<&'static str>,
}

impl ApiScope {
    /// KMS (`TrentService.*`): signing name `kms`.
    pub const KMS: ApiScope = ApiScope { service: Some("kms") };
    /// CloudTrail: signing name `cloudtrail`.
    pub const CLOUDTRAIL: ApiScope = ApiScope { service: Some("cloudtrail") };
    /// STS (query protocol): signing name `sts`.
    pub const STS: ApiScope = ApiScope { service: Some("sts") };
    /// The control API (`/_keytrail/*`) is not an AWS service and has no signing name of its own:
    /// any is taken. A request signed for another API cannot be replayed there, since the
    /// signature covers the path.
    pub const CONTROL: ApiScope = ApiScope { service: None };
}

/// Reads the caller from the request; with `--verify-signatures` also checks the signature.
pub fn identify(app: &App, parts: &Parts, body: &[u8], api: ApiScope) -> Result<Caller, ApiError> {
    authenticate(app, parts, body, api, app.options.verify_signatures)
}

/// [`identify`], verifying the signature when `verify` (the control API verifies whenever it
/// needs a signed request, whatever `--verify-signatures` says).
pub(crate) fn authenticate(app: &App, parts: &Parts, body: &[u8], api: ApiScope, verify: bool) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("MissingAuthenticationTokenException", "Missing Authentication Token"))?;
    let auth = SigV4Authorization::parse(header).map_err(|e| ApiError::bad_request("IncompleteSignatureException", e.0))?;
    // The scope's date is compared with X-Amz-Date whenever the request has one (with
    // --verify-signatures it must: signature.rs).
    let amz_date = parts.headers.get("x-amz-date").and_then(|v| v.to_str().ok());
    if let Some(message) = auth.scope_error(api.service, amz_date) {
        return Err(ApiError::bad_request("InvalidSignatureException", message));
    }
    let principal = app.credentials.principal_for(&auth.access_key_id).map_err(|e| ApiError::bad_request(e.code(), e.message()))?;
    if verify {
        crate::signature::verify(app, parts, body, &auth)?;
    }
    Ok(Caller::new(principal, auth.access_key_id, auth.region))
}
