//! The CloudTrail API without HTTP: which operations exist, and one entry point that runs a call
//! and reports what its own record needs (cloudtrail.amazonaws.com records are written by the
//! server, like KMS's).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::delivery::Delivery;
use crate::error::{decode, CloudTrailError};
use crate::lookup::lookup_events;
use crate::recorder::Recorder;
use crate::signing::SigningKeys;
use crate::trail_keys::{NoKeys, TrailKeyResolver};
use crate::trails::Trails;
use crate::{public_keys, trail_ops};

macro_rules! operations {
    ($($name:ident => $read_only:expr, $logs_response:expr;)*) => {
        /// The CloudTrail operations keytrail serves (botocore `cloudtrail` 2013-11-01).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Operation { $($name,)* }

        impl Operation {
            /// The operation named `name`, if keytrail serves it.
            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $(stringify!($name) => Some(Operation::$name),)* _ => None }
            }

            /// The API name, also the record's `eventName`.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name),)* }
            }

            /// Whether CloudTrail records the call as read-only.
            pub fn read_only(self) -> bool {
                match self { $(Operation::$name => $read_only,)* }
            }

            /// The IAM action that authorizes the call, `cloudtrail:<Operation>`.
            pub fn action(self) -> &'static str {
                match self { $(Operation::$name => concat!("cloudtrail:", stringify!($name)),)* }
            }

            /// Whether the record's `responseElements` shows the response (CreateTrail,
            /// UpdateTrail, PutEventSelectors); otherwise it is `null`.
            pub fn logs_response(self) -> bool {
                match self { $(Operation::$name => $logs_response,)* }
            }
        }
    };
}

operations! {
    LookupEvents => true, false;
    CreateTrail => false, true;
    GetTrail => true, false;
    DescribeTrails => true, false;
    ListTrails => true, false;
    UpdateTrail => false, true;
    DeleteTrail => false, false;
    GetTrailStatus => true, false;
    StartLogging => false, false;
    StopLogging => false, false;
    PutEventSelectors => false, true;
    GetEventSelectors => true, false;
    AddTags => false, false;
    RemoveTags => false, false;
    ListTags => true, false;
    ListPublicKeys => true, false;
}

/// The rest of the CloudTrail API: known to AWS, answered with `UnsupportedOperationException`.
const UNSUPPORTED: &[&str] = &[
    "CancelQuery",
    "CreateChannel",
    "CreateDashboard",
    "CreateEventDataStore",
    "DeleteChannel",
    "DeleteDashboard",
    "DeleteEventDataStore",
    "DeleteResourcePolicy",
    "DeregisterOrganizationDelegatedAdmin",
    "DescribeQuery",
    "DisableFederation",
    "EnableFederation",
    "GenerateQuery",
    "GetChannel",
    "GetDashboard",
    "GetEventConfiguration",
    "GetEventDataStore",
    "GetImport",
    "GetInsightSelectors",
    "GetQueryResults",
    "GetResourcePolicy",
    "ListChannels",
    "ListDashboards",
    "ListEventDataStores",
    "ListImportFailures",
    "ListImports",
    "ListInsightsData",
    "ListInsightsMetricData",
    "ListQueries",
    "PutEventConfiguration",
    "PutInsightSelectors",
    "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin",
    "RestoreEventDataStore",
    "SearchSampleQueries",
    "StartDashboardRefresh",
    "StartEventDataStoreIngestion",
    "StartImport",
    "StartQuery",
    "StopEventDataStoreIngestion",
    "StopImport",
    "UpdateChannel",
    "UpdateDashboard",
    "UpdateEventDataStore",
];

/// Whether `name` is a CloudTrail operation keytrail does not serve (as opposed to no operation).
pub fn is_unsupported_operation(name: &str) -> bool {
    UNSUPPORTED.contains(&name)
}

/// Who is calling, as far as CloudTrail cares: the account and the region of the request.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The region the request was signed for.
    pub region: &'a str,
}

/// What an IAM policy sees a call act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyResource {
    /// `*`: the operation takes no trail.
    Any,
    /// A trail, by ARN, and the account in it.
    Trail {
        /// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
        arn: String,
        /// The trail's account (another account's ARN may be named).
        account: String,
    },
}

impl PolicyResource {
    /// The ARN policies match, `*` for [`PolicyResource::Any`].
    pub fn arn(&self) -> &str {
        match self {
            PolicyResource::Any => "*",
            PolicyResource::Trail { arn, .. } => arn,
        }
    }
}

/// A call's result and what its record needs.
#[derive(Debug)]
pub struct CallOutcome {
    /// The response body, or the error.
    pub result: Result<Value, CloudTrailError>,
    /// The trail the call named or created, for the record's `resources`.
    pub trail_arn: Option<String>,
}

/// The CloudTrail service: trails, their delivery, and event history. A cheap `Clone` handle.
#[derive(Clone)]
pub struct CloudTrail {
    /// The trail registry.
    pub trails: Trails,
    /// Log-file delivery (registered as a sink on the recorder).
    pub delivery: Arc<Delivery>,
    /// Resolves a trail's `KmsKeyId` (the server's KMS).
    pub(crate) key_resolver: Arc<dyn TrailKeyResolver>,
    recorder: Recorder,
}

impl CloudTrail {
    /// CloudTrail over `recorder`'s history, delivering trail log files into the bucket folder
    /// `s3_root` every `interval_seconds` of mock time, with no KMS keys to encrypt with.
    /// Registers the delivery sink on `recorder`.
    pub fn new(recorder: &Recorder, s3_root: PathBuf, interval_seconds: i64) -> Self {
        let trails = Trails::new();
        let delivery = Arc::new(Delivery::new(trails.clone(), s3_root, interval_seconds));
        CloudTrail::with_delivery(recorder, trails, delivery, Arc::new(NoKeys))
    }

    /// CloudTrail over `recorder`'s history with its `trails`, their `delivery`, and the KMS
    /// keys trails may name. Registers the delivery sink on `recorder`.
    pub fn with_delivery(recorder: &Recorder, trails: Trails, delivery: Arc<Delivery>, key_resolver: Arc<dyn TrailKeyResolver>) -> Self {
        recorder.add_sink(delivery.clone());
        CloudTrail { trails, delivery, key_resolver, recorder: recorder.clone() }
    }

    /// The digest signing keys.
    pub fn signing_keys(&self) -> &SigningKeys {
        self.delivery.signing_keys()
    }

    /// Runs one call for `scope` at mock time `now`.
    pub fn call(&self, scope: Scope<'_>, op: Operation, body: &[u8], now: OffsetDateTime) -> CallOutcome {
        let mut ctx = trail_ops::Ctx { cloudtrail: self, scope, now: now.unix_timestamp(), trail_arn: None };
        use Operation::*;
        let result = match op {
            LookupEvents => decode(body).and_then(|req| lookup_events(&self.recorder, scope.account, scope.region, now, &req)),
            CreateTrail => trail_ops::create(&mut ctx, body),
            GetTrail => trail_ops::get(&mut ctx, body),
            DescribeTrails => trail_ops::describe(&mut ctx, body),
            ListTrails => trail_ops::list(&mut ctx, body),
            UpdateTrail => trail_ops::update(&mut ctx, body),
            DeleteTrail => trail_ops::delete(&mut ctx, body),
            GetTrailStatus => trail_ops::status(&mut ctx, body),
            StartLogging => trail_ops::set_logging(&mut ctx, body, true),
            StopLogging => trail_ops::set_logging(&mut ctx, body, false),
            PutEventSelectors => trail_ops::put_selectors(&mut ctx, body),
            GetEventSelectors => trail_ops::get_selectors(&mut ctx, body),
            AddTags => crate::trail_tags::add(&mut ctx, body),
            RemoveTags => crate::trail_tags::remove(&mut ctx, body),
            ListTags => crate::trail_tags::list(&mut ctx, body),
            ListPublicKeys => public_keys::list(self.signing_keys(), scope.region, now.unix_timestamp(), body),
        };
        CallOutcome { result, trail_arn: ctx.trail_arn }
    }

    /// The resource `op` is authorized on, read from the request (Service Authorization
    /// Reference, "Actions, resources, and condition keys for AWS CloudTrail",
    /// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html):
    /// the trail's ARN for CreateTrail, GetTrail, UpdateTrail, DeleteTrail, GetTrailStatus,
    /// StartLogging, StopLogging, PutEventSelectors, GetEventSelectors, AddTags and RemoveTags;
    /// `*` for LookupEvents, DescribeTrails, ListTrails, ListPublicKeys and ListTags, and for a request that names no valid trail (the call then
    /// fails its own validation, if the caller may call the action on `*` at all).
    ///
    /// Choice: GetTrail takes the trail (older versions of the reference listed no resource).
    pub fn policy_resource(&self, scope: Scope<'_>, op: Operation, body: &[u8]) -> PolicyResource {
        use Operation::*;
        let member = match op {
            LookupEvents | DescribeTrails | ListTrails | ListPublicKeys => return PolicyResource::Any,
            // Choice: ListTags names any number of trails (ResourceIdList); it is authorized on
            // `*`, as one resource cannot stand for the list.
            ListTags => return PolicyResource::Any,
            AddTags | RemoveTags => "ResourceId",
            PutEventSelectors | GetEventSelectors => "TrailName",
            CreateTrail | GetTrail | UpdateTrail | DeleteTrail | GetTrailStatus | StartLogging | StopLogging => "Name",
        };
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let Some(given) = request.get(member).and_then(Value::as_str) else { return PolicyResource::Any };
        let arn = if op == CreateTrail {
            // A new trail lives in the caller's account and region, whatever it is named.
            (!given.starts_with("arn:")).then(|| crate::trails::trail_arn(scope.region, scope.account, given))
        } else {
            trail_ops::named_trail_arn(self, scope, given)
        };
        match arn {
            Some(arn) => {
                let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
                PolicyResource::Trail { arn, account }
            }
            None => PolicyResource::Any,
        }
    }

    /// Writes the trail log files due at `now` (the server's tick).
    pub fn deliver_due(&self, now: OffsetDateTime) -> Vec<PathBuf> {
        self.delivery.deliver_due(now)
    }

    /// Writes every pending record (shutdown); with `end_chains`, digest chains end too.
    pub fn flush_all(&self, now: OffsetDateTime, end_chains: bool) -> Vec<PathBuf> {
        self.delivery.flush_all(now, end_chains)
    }

    /// Forgets every trail and pending record (control API `reset`).
    pub fn clear(&self) {
        self.trails.clear();
        self.delivery.clear();
    }
}
