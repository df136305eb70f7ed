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
    ListPublicKeys => true, false;
}

/// The rest of the CloudTrail API: known to AWS, answered with `UnsupportedOperationException`.
const UNSUPPORTED: &[&str] = &[
    "AddTags",
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
    "ListTags",
    "PutEventConfiguration",
    "PutInsightSelectors",
    "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin",
    "RemoveTags",
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
            ListPublicKeys => public_keys::list(self.signing_keys(), scope.region, now.unix_timestamp(), body),
        };
        CallOutcome { result, trail_arn: ctx.trail_arn }
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
