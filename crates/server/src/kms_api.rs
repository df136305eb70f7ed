//! The KMS API path: identify → (authorize inside each operation) → execute → audit → respond.

use hyper::http::request::Parts;
use hyper::Response;
use keytrail_kms::Operation;

use crate::protocol::{error_response, json_response, ApiError, Body};
use crate::records::{api_call_records, service_event_record, CallFacts, CallResult};
use crate::{App, RequestMeta};

/// The `resources` type of KMS keys (and, as AWS's example labels them, aliases).
const KMS_KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";

/// Handles `X-Amz-Target: TrentService.<name>`.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], name: &str, meta: &RequestMeta) -> Response<Body> {
    let Some(op) = Operation::from_name(name) else {
        let err = ApiError::bad_request("UnknownOperationException", format!("Unknown operation TrentService.{name}"));
        return error_response(&meta.request_id, &err);
    };
    let caller = match crate::identify::identify(app, parts, body, crate::identify::ApiScope::KMS) {
        Ok(c) => c.from_origin(meta.origin()),
        Err(e) => return error_response(&meta.request_id, &e),
    };
    let outcome = if op.may_block(body) {
        // Generating an RSA key takes long enough (seconds for RSA_4096 in a debug build) to
        // stall every connection this runtime worker serves; it runs on the blocking pool.
        let (kms, caller, body) = (app.kms.clone(), caller.clone(), body.to_vec());
        match tokio::task::spawn_blocking(move || kms.call(&caller, op, &body)).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "a blocking KMS call failed to complete");
                let err =
                    ApiError { status: 500, code: "KMSInternalException".into(), message: "The request could not be completed.".into() };
                return error_response(&meta.request_id, &err);
            }
        }
    } else {
        app.kms.call(&caller, op, body)
    };
    let error = outcome.result.as_ref().err().map(ApiError::from_kms);
    let facts = CallFacts {
        caller: &caller,
        event_source: "kms.amazonaws.com",
        event_name: op.name(),
        read_only: op.read_only(),
        request_id: &meta.request_id,
        source_ip: &meta.source_ip,
        user_agent: meta.user_agent.as_deref(),
        time: app.clock.now(),
    };
    let mut records = api_call_records(
        &facts,
        CallResult {
            error: error.as_ref().map(|e| (app.recorded_error_code(&e.code), e.message.as_str())),
            request_parameters: outcome.request_parameters,
            response_elements: outcome.response_elements,
            additional_event_data: outcome.additional_event_data,
            resources: &outcome.resources,
            resource_type: KMS_KEY_RESOURCE_TYPE,
        },
    );
    records.extend(outcome.service_events.iter().map(service_event_record));
    if let Err(e) = app.try_commit(outcome.changes, records).await {
        tracing::error!(error = %e, "call not acknowledged: it could not be made durable");
        let err = ApiError { status: 500, code: "KMSInternalException".into(), message: "The request could not be made durable.".into() };
        return error_response(&meta.request_id, &err);
    }
    match (outcome.result, error) {
        (Ok(body), _) => json_response(200, &meta.request_id, &body),
        (Err(_), Some(e)) => error_response(&meta.request_id, &e),
        (Err(e), None) => error_response(&meta.request_id, &ApiError::from_kms(&e)),
    }
}
