//! Identify: who is calling, from the SigV4 `Authorization` header.

use hyper::http::request::Parts;
use keytrail_iam::sigv4::SigV4Authorization;
use keytrail_iam::{Caller, CredentialError};

use crate::protocol::ApiError;
use crate::App;

/// Reads the caller from the request; with `--verify-signatures` also checks the signature.
pub fn identify(app: &App, parts: &Parts, body: &[u8]) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("MissingAuthenticationTokenException", "Missing Authentication Token"))?;
    let auth = SigV4Authorization::parse(header).map_err(|e| ApiError::bad_request("IncompleteSignatureException", e.0))?;
    let principal = app.credentials.principal_for(&auth.access_key_id).map_err(|e| match e {
        CredentialError::Unrecognized => {
            ApiError::bad_request("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
    })?;
    if app.options.verify_signatures {
        crate::signature::verify(app, parts, body, &auth)?;
    }
    Ok(Caller::new(principal, auth.access_key_id, auth.region))
}
