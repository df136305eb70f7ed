//! The STS path: STS's query protocol on the same endpoint (`POST /` with a form body, or
//! `GET /?Action=…`), through the same chain as KMS: identify → execute → audit → respond, with
//! STS's XML answers and errors. `AssumeRole` and `GetCallerIdentity` are recorded with
//! eventSource `sts.amazonaws.com`; credentials an AssumeRole issued are made durable with its
//! record (with `--data-dir`), so they still sign after a restart.

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::Response;
use keytrail_kms::TouchedResource;
use keytrail_sts::{QueryRequest, StsError, StsOperation};

use crate::protocol::{bytes_response, ApiError, Body};
use crate::records::{api_call_records, CallFacts, CallResult};
use crate::{App, RequestMeta};

/// The `resources` type of a role in STS's records.
const ROLE_RESOURCE_TYPE: &str = "AWS::IAM::Role";

/// Handles one STS request.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], meta: &RequestMeta) -> Response<Body> {
    let query = QueryRequest::parse(parts.uri.query(), body);
    let op = match StsOperation::from_action(query.action(), query.version()) {
        Ok(op) => op,
        Err(e) => return error_response(&meta.request_id, &e),
    };
    let caller = match crate::identify::identify(app, parts, body, crate::identify::ApiScope::STS) {
        Ok(c) => c.from_origin(meta.origin()),
        Err(e) => return error_response(&meta.request_id, &from_identify(e)),
    };
    let now = app.clock.now();
    let outcome = app.sts.call(&caller, op, &query, &meta.request_id, now);
    let error = outcome.result.as_ref().err();
    let facts = CallFacts {
        caller: &caller,
        event_source: "sts.amazonaws.com",
        event_name: op.name(),
        read_only: op.read_only(),
        request_id: &meta.request_id,
        source_ip: &meta.source_ip,
        user_agent: meta.user_agent.as_deref(),
        time: now,
    };
    let resources: Vec<TouchedResource> =
        outcome.resources.iter().map(|r| TouchedResource { account: r.account.clone(), arn: r.arn.clone() }).collect();
    let records = api_call_records(
        &facts,
        CallResult {
            error: error.map(|e| (e.code, e.message.as_str())),
            request_parameters: outcome.request_parameters,
            response_elements: outcome.response_elements,
            additional_event_data: None,
            resources: &resources,
            resource_type: ROLE_RESOURCE_TYPE,
        },
    );
    if let Err(e) = app.try_commit_session(records, outcome.issued.as_deref()).await {
        tracing::error!(error = %e, "call not acknowledged: it could not be made durable");
        let err = StsError { code: "InternalFailure", status: 500, message: "The request could not be made durable.".into() };
        return error_response(&meta.request_id, &err);
    }
    match outcome.result {
        Ok(document) => bytes_response(200, &meta.request_id, keytrail_sts::xml::CONTENT_TYPE, Bytes::from(document)),
        Err(e) => error_response(&meta.request_id, &e),
    }
}

/// STS's XML error document.
pub fn error_response(request_id: &str, e: &StsError) -> Response<Body> {
    let document = keytrail_sts::xml::error_document(e, request_id);
    bytes_response(e.status, request_id, keytrail_sts::xml::CONTENT_TYPE, Bytes::from(document))
}

/// An authentication failure as STS names it: the query protocol's common error codes (STS API
/// reference, "Common Errors") in place of the JSON protocols' `…Exception` names.
fn from_identify(e: ApiError) -> StsError {
    let (code, status) = match e.code.as_str() {
        "MissingAuthenticationTokenException" => ("MissingAuthenticationToken", 403),
        "UnrecognizedClientException" => ("InvalidClientTokenId", 403),
        "ExpiredTokenException" => ("ExpiredToken", 400),
        "InvalidSignatureException" => ("SignatureDoesNotMatch", 403),
        "IncompleteSignatureException" => ("IncompleteSignature", 400),
        _ => ("InvalidClientTokenId", 403),
    };
    StsError { code, status, message: e.message }
}
