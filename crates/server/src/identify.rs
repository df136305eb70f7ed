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
        CredentialError::Expired => ApiError::bad_request("ExpiredTokenException", "The security token included in the request is expired"),
    })?;
    if app.options.verify_signatures {
        crate::signature::verify(app, parts, body, &auth)?;
        // Credentials STS issued sign only together with their session token.
        if let Some(session) = app.credentials.issued(&auth.access_key_id) {
            let token = parts.headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !session.token_matches(token) {
                return Err(ApiError::bad_request("UnrecognizedClientException", "The security token included in the request is invalid."));
            }
        }
    }
    Ok(Caller { principal, access_key_id: auth.access_key_id, region: auth.region })
}
