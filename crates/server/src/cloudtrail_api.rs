//! The CloudTrail API path: identify → authorize → execute → audit → respond, as for KMS.
//! CloudTrail's own management calls are recorded too (eventSource `cloudtrail.amazonaws.com`),
//! so a PutEventSelectors that excludes KMS leaves its trace, and so does a denied StopLogging.

use std::path::PathBuf;

use hyper::http::request::Parts;
use hyper::Response;
use keytrail_audit::error::CloudTrailError;
use keytrail_audit::{parameters, CloudTrail, CloudTrailOperation, CloudTrailOutcome, PolicyResource, Recorder, Resource, Scope};
use keytrail_iam::policy::{authorize_identity, Denial, DenialReason, PolicyDocument, RequestContext};
use keytrail_iam::Caller;
use time::OffsetDateTime;

use crate::protocol::{error_response, json_response, ApiError, Body};
use crate::records::{api_call_records, CallFacts, CallResult};
use crate::{App, Options, RequestMeta, StartError};

/// The `resources` type of a trail in CloudTrail's own records.
const TRAIL_RESOURCE_TYPE: &str = "AWS::CloudTrail::Trail";

/// Sets up CloudTrail over `recorder`: trail log files go under `<data-dir>/s3`, else under
/// `--trail-dir` (both made now, so a bad path stops start-up), else under a fresh temporary
/// directory chosen now and made when the first file is written (servers that never deliver
/// leave nothing behind).
pub fn start(options: &Options, recorder: &Recorder) -> Result<CloudTrail, StartError> {
    let given = match (&options.data_dir, &options.trail_dir) {
        (Some(data), _) => Some(data.join("s3")),
        (None, Some(dir)) => Some(dir.clone()),
        (None, None) => None,
    };
    let root: PathBuf = match given {
        Some(dir) => {
            keytrail_audit::delivery::create_private_dir(&dir)
                .map_err(|e| StartError(format!("cannot create the trail directory {}: {e}", dir.display())))?;
            dir
        }
        None => std::env::temp_dir().join(format!("keytrail-{}", uuid::Uuid::new_v4().simple())).join("s3"),
    };
    tracing::info!(dir = %root.display(), "trail log files go under this directory (it stands for S3)");
    let interval = i64::try_from(options.trail_delivery_seconds).unwrap_or(i64::MAX);
    Ok(CloudTrail::new(recorder, root, interval))
}

/// Handles `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<name>`.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], name: &str, meta: &RequestMeta) -> Response<Body> {
    let op = CloudTrailOperation::from_name(name);
    if op.is_none() && !keytrail_audit::service::is_unsupported_operation(name) {
        let err = ApiError::bad_request("UnknownOperationException", format!("Unknown operation {name}"));
        return error_response(&meta.request_id, &err);
    }
    let caller = match crate::identify::identify(app, parts, body, crate::identify::ApiScope::CLOUDTRAIL) {
        Ok(c) => c.from_origin(meta.origin()),
        Err(e) => return error_response(&meta.request_id, &e),
    };
    let Some(op) = op else {
        // A real CloudTrail operation keytrail does not serve: not recorded, as it is not AWS's answer.
        let err =
            ApiError::bad_request("UnsupportedOperationException", format!("keytrail does not support the CloudTrail {name} operation."));
        return error_response(&meta.request_id, &err);
    };
    let now = app.clock.now();
    let scope = Scope { account: caller.account(), region: &caller.region };
    // As for KMS: a body whose members cannot all be recorded is refused (and recorded as
    // refused) before anything runs; then the caller is authorized, then the call runs.
    let model = keytrail_audit::audit_model::MODEL.operation(op.name());
    let (members, outcome) = match parameters::record_request(&keytrail_audit::audit_model::MODEL, model, body) {
        Ok(members) => {
            let outcome = match authorize(app, &caller, scope, op, body, now) {
                Ok(()) => app.cloudtrail.call(scope, op, body, now),
                Err(denied) => denied,
            };
            (members, outcome)
        }
        Err(refused) => {
            let result = Err(CloudTrailError::new("SerializationException", refused.0));
            (parameters::RecordedMembers::new(), CloudTrailOutcome { result, trail_arn: None })
        }
    };
    let error = outcome.result.as_ref().err().map(|e| ApiError::bad_request(e.code(), e.message()));
    let facts = CallFacts {
        caller: &caller,
        event_source: "cloudtrail.amazonaws.com",
        event_name: op.name(),
        read_only: op.read_only(),
        request_id: &meta.request_id,
        source_ip: &meta.source_ip,
        user_agent: meta.user_agent.as_deref(),
        time: now,
    };
    // requestParameters and responseElements use lower camel case, as for KMS; reads and calls
    // that return nothing record `null`.
    let response_elements = match &outcome.result {
        Ok(body) if op.logs_response() => Some(parameters::response_elements(&keytrail_audit::audit_model::MODEL, model, body)),
        _ => None,
    };
    let mut records = api_call_records(
        &facts,
        CallResult {
            error: error.as_ref().map(|e| (app.recorded_error_code(&e.code), e.message.as_str())),
            request_parameters: parameters::request_parameters(members, &[]),
            response_elements,
            additional_event_data: None,
            resources: &[],
            resource_type: TRAIL_RESOURCE_TYPE,
        },
    );
    // Choice: the trail a call named is listed in `resources`, so LookupEvents finds trail
    // changes by ResourceType/ResourceName as the console's event history does.
    if let Some(arn) = outcome.trail_arn {
        let account_id = arn.split(':').nth(4).unwrap_or_default().to_string();
        let trail = Resource { account_id, resource_type: TRAIL_RESOURCE_TYPE.into(), arn };
        for r in &mut records {
            r.resources = Some(vec![trail.clone()]);
        }
    }
    // With a data dir, a call that changed trails stores the whole (small) trail set with its record.
    let trails_changed = error.is_none() && !op.read_only();
    if let Err(e) = app.try_commit_with(Vec::new(), records, trails_changed.then(|| app.cloudtrail.trails.snapshot())).await {
        let err = ApiError { status: 500, code: "InternalFailure".into(), message: format!("The call could not be made durable: {e}") };
        return error_response(&meta.request_id, &err);
    }
    match error {
        Some(e) => error_response(&meta.request_id, &e),
        None => json_response(200, &meta.request_id, &outcome.result.unwrap_or_default()),
    }
}

/// Authorizes a CloudTrail call: its `cloudtrail:<Operation>` action on the trail it names (or
/// `*`), through the caller's identity policies — CloudTrail trails have no resource policy, so
/// an explicit Deny wins, an account's root is allowed, anyone else needs an Allow. A trail of
/// another account is refused as a cross-account request without a resource policy allowing it
/// is ("Policy evaluation logic", IAM User Guide; choice: before looking the trail up, so the
/// answer does not tell whether it exists). A refusal is the call's outcome: an
/// `AccessDeniedException` (HTTP 400, IAM's message form), recorded with the trail as resource.
fn authorize(
    app: &App,
    caller: &Caller,
    scope: Scope<'_>,
    op: CloudTrailOperation,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), CloudTrailOutcome> {
    let resource = app.cloudtrail.policy_resource(scope, op, body);
    let principal = &caller.principal;
    let identity = app.credentials.policies_of(principal);
    let arn = resource.arn();
    let context = if identity.iter().any(PolicyDocument::reads_context) {
        let context = RequestContext::for_caller(caller, op.action(), arn, now, app.credentials.tags_of(principal));
        match &resource {
            PolicyResource::Trail { account, .. } => context.with_value("aws:ResourceAccount", account.as_str()),
            PolicyResource::Any => context,
        }
    } else {
        RequestContext::without_keys(principal, op.action(), arn)
    };
    let decision = match &resource {
        PolicyResource::Trail { account, .. } if account != caller.account() => {
            Err(Denial::new(DenialReason::NoResourcePolicyAllows, &context))
        }
        _ => authorize_identity(identity, &context),
    };
    decision.map_err(|denial| CloudTrailOutcome {
        result: Err(CloudTrailError::new("AccessDeniedException", denial.message())),
        trail_arn: match &resource {
            PolicyResource::Trail { arn, .. } => Some(arn.clone()),
            PolicyResource::Any => None,
        },
    })
}
