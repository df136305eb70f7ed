//! The S3 path (the trail bucket, `keytrail-s3`): identify → execute (authorizing inside) →
//! audit the management events → respond, with S3's own errors for authentication failures.

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::request::Parts;
use hyper::Response;
use keytrail_audit::Resource;
use keytrail_iam::sigv4::SigV4Authorization;
use keytrail_iam::{Caller, CredentialError};
use keytrail_s3::request::S3Request;
use keytrail_s3::response::{error_response, RequestIds, S3Error};
use serde_json::json;

use crate::protocol::{ApiError, Body};
use crate::records::{api_call_records, CallFacts, CallResult};
use crate::App;

/// Handles one S3 request.
pub async fn handle(app: &App, parts: &Parts, source_ip: &str) -> Response<Body> {
    let head = parts.method == hyper::Method::HEAD;
    let refuse = |err: S3Error| into_body(error_response(&RequestIds::new(), &err, head));
    let caller = match identify(app, parts, source_ip) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    // Reading files (and hashing them for ETags) is blocking work: not on a worker thread.
    let (s3, credentials, who) = (app.s3.clone(), app.credentials.clone(), caller.clone());
    let (method, uri, headers) = (parts.method.clone(), parts.uri.clone(), parts.headers.clone());
    let answered = tokio::task::spawn_blocking(move || {
        let req = S3Request::parse(&method, &uri, &headers)?;
        let policies = who.as_ref().map(|c| credentials.policies_of(&c.principal)).unwrap_or(&[]);
        let s3_caller = who.as_ref().map(|c| keytrail_s3::Caller { principal: &c.principal, policies });
        Ok::<_, S3Error>(s3.handle(&req, s3_caller.as_ref()))
    })
    .await;
    let outcome = match answered {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => return refuse(e),
        Err(_) => return refuse(S3Error::new("InternalError", 500, "We encountered an internal error. Please try again.")),
    };
    if let (Some(event), Some(caller)) = (&outcome.event, &caller) {
        let meta = crate::http::request_meta(parts, outcome.ids.request_id.clone(), source_ip);
        let facts = CallFacts {
            caller,
            event_source: "s3.amazonaws.com",
            event_name: event.event_name,
            read_only: true,
            request_id: &meta.request_id,
            source_ip: &meta.source_ip,
            user_agent: meta.user_agent.as_deref(),
            time: app.clock.now(),
        };
        // As S3 records a call made with a SigV4 Authorization header over HTTP.
        let additional = json!({
            "SignatureVersion": "SigV4",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": outcome.ids.id2,
            "bytesTransferredOut": event.bytes_out,
        });
        let mut records = api_call_records(
            &facts,
            CallResult {
                error: event.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str())),
                request_parameters: Some(event.request_parameters.clone()),
                response_elements: None,
                additional_event_data: Some(additional),
                resources: &[],
                resource_type: "AWS::S3::Bucket",
            },
        );
        if let Some((bucket, owner)) = &event.bucket {
            let resource =
                Resource { account_id: owner.clone(), resource_type: "AWS::S3::Bucket".into(), arn: format!("arn:aws:s3:::{bucket}") };
            for r in &mut records {
                r.resources = Some(vec![resource.clone()]);
            }
        }
        if let Err(e) = app.try_commit(Vec::new(), records).await {
            let err =
                S3Error::new("InternalError", 500, format!("We encountered an internal error: the call could not be made durable ({e})."));
            return into_body(error_response(&outcome.ids, &err, head));
        }
    }
    into_body(outcome.response)
}

/// The caller from the SigV4 `Authorization` header, checked as for the other APIs; `None` for
/// an unsigned request (refused by the API as anonymous). Failures are S3's errors.
fn identify(app: &App, parts: &Parts, source_ip: &str) -> Result<Option<Caller>, S3Error> {
    let Some(header) = parts.headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if header.starts_with("AWS ") {
        return Err(S3Error::new(
            "InvalidRequest",
            400,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ));
    }
    let auth = SigV4Authorization::parse(header).map_err(|e| S3Error::new("AuthorizationHeaderMalformed", 400, e.0))?;
    if auth.service != "s3" {
        // A request sent to an S3 host but signed for another service, as S3 words it.
        return Err(S3Error::new(
            "AuthorizationHeaderMalformed",
            400,
            format!("The authorization header is malformed; incorrect service \"{}\". This endpoint belongs to \"s3\".", auth.service),
        ));
    }
    // The scope's region and date, checked as for the other APIs (S3 words the refusal its way).
    let amz_date = parts.headers.get("x-amz-date").and_then(|v| v.to_str().ok());
    if let Some(message) = auth.scope_error(Some("s3"), amz_date) {
        return Err(S3Error::new("AuthorizationHeaderMalformed", 400, format!("The authorization header is malformed; {message}")));
    }
    let principal = app.credentials.principal_for(&auth.access_key_id).map_err(|e| match e {
        CredentialError::Unrecognized => {
            S3Error::new("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
                .with("AWSAccessKeyId", auth.access_key_id.clone())
        }
        CredentialError::Expired => S3Error::new("ExpiredToken", 400, "The provided token has expired."),
        CredentialError::InvalidSessionToken => S3Error::new("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
    })?;
    if app.options.verify_signatures {
        crate::signature::verify_s3(app, parts, &auth).map_err(s3_signature_error)?;
    }
    let origin = keytrail_iam::RequestOrigin {
        source_ip: source_ip.parse().ok(),
        secure_transport: false,
        user_agent: parts.headers.get(hyper::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    Ok(Some(Caller::new(principal, auth.access_key_id, auth.region).from_origin(origin)))
}

/// A signature check's failure as S3 words it.
fn s3_signature_error(e: ApiError) -> S3Error {
    if e.message.starts_with("Signature expired") || e.message.starts_with("Signature not yet current") {
        S3Error::new("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
    } else if e.code == "IncompleteSignatureException" {
        S3Error::new("AuthorizationHeaderMalformed", 400, e.message)
    } else {
        S3Error::new(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    }
}

fn into_body(resp: Response<Bytes>) -> Response<Body> {
    resp.map(Full::new)
}
