//! The CloudTrail API path: identify → authorize → execute → audit → respond, as for KMS.
//! CloudTrail's own management calls are recorded too (eventSource `cloudtrail.amazonaws.com`),
//! so a PutEventSelectors that excludes KMS leaves its trace, and so does a denied StopLogging.

use std::path::PathBuf;
use std::sync::Arc;

use hyper::http::request::Parts;
use hyper::Response;
use keytrail_audit::delivery::folder::BucketFolder;
use keytrail_audit::delivery::remote::Uploader;
use keytrail_audit::delivery::{Delivery, Destination};
use keytrail_audit::error::CloudTrailError;
use keytrail_audit::signing::SigningKeys;
use keytrail_audit::trail_keys::{KeyProblem, TrailKeyResolver};
use keytrail_audit::trails::Trails;
use keytrail_audit::{parameters, CloudTrail, CloudTrailOperation, CloudTrailOutcome, PolicyResource, Recorder, Resource, Scope};
use keytrail_iam::policy::{authorize_identity, Denial, DenialReason, PolicyDocument, RequestContext};
use keytrail_iam::Caller;
use keytrail_kms::key_ref::KeyRef;
use keytrail_kms::{AliasUse, Clock, KeyStore};
use time::OffsetDateTime;

use crate::protocol::{error_response, json_response, ApiError, Body};
use crate::records::{api_call_records, CallFacts, CallResult};
use crate::{App, Options, RequestMeta, StartError};

/// The `resources` type of a trail in CloudTrail's own records.
const TRAIL_RESOURCE_TYPE: &str = "AWS::CloudTrail::Trail";

/// Where files wait for the uploader, inside the trail directory (not a bucket name, so the S3
/// API never shows it).
pub const OUTBOX_DIR: &str = ".outbox";

/// Sets up CloudTrail over `recorder`: trail files go into the bucket folder `<data-dir>/s3`,
/// else `--trail-dir` (both made now, so a bad path stops start-up), else a fresh temporary
/// directory chosen now and made when the first file is written (servers that never deliver
/// leave nothing behind). With `--s3-endpoint` they wait in `<that folder>/.outbox` for the
/// uploader instead. Trails name KMS keys of `store`; statuses are in `clock`'s mock time.
/// Returns CloudTrail and the trail directory (the bucket folder keytrail's S3 API serves).
pub fn start(options: &Options, recorder: &Recorder, store: &KeyStore, clock: &Clock) -> Result<(CloudTrail, PathBuf), StartError> {
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
    let interval = i64::try_from(options.trail_delivery_seconds).unwrap_or(i64::MAX);
    let trails = Trails::new();
    let destination = match &options.s3_endpoint {
        None => {
            tracing::info!(dir = %root.display(), "trail log files go under this directory (it stands for S3)");
            Destination::Folder(BucketFolder::new(root.clone()))
        }
        Some(endpoint) => {
            let outbox = root.join(OUTBOX_DIR);
            tracing::info!(%endpoint, outbox = %outbox.display(), "trail files go to this S3 store; they wait in the outbox until it has them");
            let clock = clock.clone();
            let now = Arc::new(move || clock.now().unix_timestamp());
            Destination::Outbox(Uploader::start(outbox, endpoint, trails.clone(), now).map_err(StartError)?)
        }
    };
    let delivery = Arc::new(Delivery::with_destination(trails.clone(), destination, interval, SigningKeys::new()));
    Ok((CloudTrail::with_delivery(recorder, trails, delivery, Arc::new(TrailKeys(store.clone()))), root))
}

/// Whether `url` can be an S3 endpoint: `http://` or `https://` and a host.
pub fn check_s3_endpoint(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|_| format!("\"{url}\" is not a URL"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!("\"{url}\" must be an http:// or https:// URL with a host")),
    }
}

/// A trail's `KmsKeyId`, resolved in the trail's account and region like a KMS call's key id.
struct TrailKeys(KeyStore);

impl TrailKeyResolver for TrailKeys {
    fn resolve(&self, account: &str, region: &str, key_id: &str) -> Result<String, KeyProblem> {
        KeyRef::parse(key_id).map_err(|_| KeyProblem::Malformed)?;
        let arn = self.0.resolve(account, region, key_id, AliasUse::Allowed).map_err(|_| KeyProblem::NotFound)?;
        match self.0.with_key(&arn, |k| k.is_symmetric_encryption()) {
            Some(true) => Ok(arn),
            Some(false) => Err(KeyProblem::NotSymmetric),
            None => Err(KeyProblem::NotFound),
        }
    }
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
    if op == CloudTrailOperation::ListPublicKeys && !app.cloudtrail.signing_keys().has_key_at(&caller.region, now.unix_timestamp()) {
        // Making the region's first key takes a while: not on a worker thread.
        let (keys, region) = (app.cloudtrail.signing_keys().clone(), caller.region.clone());
        let _ = tokio::task::spawn_blocking(move || keys.ensure_current(&region, now.unix_timestamp())).await;
    }
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
