//! What one call carries through an operation: the caller, the time, and what the audit and
//! persistence layers need to know afterwards.

use keytrail_iam::Caller;
use serde_json::Value;
use time::OffsetDateTime;

/// A key (or alias) the call touched, for `resources` in its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TouchedResource {
    /// The owner account.
    pub account: String,
    /// The key or alias ARN.
    pub arn: String,
}

/// State a call changed, so it can be made durable before the response is sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The key with this ARN changed (or was removed).
    Key(String),
    /// The alias with this ARN changed (or was removed).
    Alias(String),
    /// A grant changed (or was removed): key ARN and grant id.
    Grant(String, String),
}

/// Something KMS does on its own as a consequence of a call or of time passing (RotateKey,
/// DeleteKey), recorded as an `AwsServiceEvent`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceEvent {
    /// `RotateKey`, `DeleteKey`.
    pub name: &'static str,
    /// The key owner.
    pub account: String,
    /// The key's region.
    pub region: String,
    /// The key ARN.
    pub key_arn: String,
    /// `serviceEventDetails`, if the event has them.
    pub details: Option<Value>,
    /// `responseElements`, if the event has them.
    pub response_elements: Option<Value>,
    /// When it happened.
    pub at: OffsetDateTime,
}

/// The per-call context every operation receives.
pub struct CallContext<'a> {
    /// Who is calling, from which account and region.
    pub caller: &'a Caller,
    /// The mock-clock time of the call.
    pub now: OffsetDateTime,
    /// Keys and aliases touched, in order (source key before destination key).
    pub resources: Vec<TouchedResource>,
    /// `responseElements` for the record; `None` records `null`.
    pub response_elements: Option<Value>,
    /// `additionalEventData` for the record.
    pub additional_event_data: Option<Value>,
    /// State changed by the call.
    pub changes: Vec<Change>,
    /// Service events the call set off.
    pub service_events: Vec<ServiceEvent>,
    /// Values KMS filled in for members the caller left out, shown in `requestParameters`.
    pub request_defaults: Vec<(&'static str, Value)>,
}

impl<'a> CallContext<'a> {
    /// A fresh context for `caller` at `now`.
    pub fn new(caller: &'a Caller, now: OffsetDateTime) -> Self {
        CallContext {
            caller,
            now,
            resources: Vec::new(),
            response_elements: None,
            additional_event_data: None,
            changes: Vec::new(),
            service_events: Vec::new(),
            request_defaults: Vec::new(),
        }
    }

    /// Notes that the call touched the resource `arn` owned by `account` (once per ARN).
    pub fn touch(&mut self, account: &str, arn: &str) {
        if !self.resources.iter().any(|r| r.arn == arn) {
            self.resources.push(TouchedResource { account: account.to_string(), arn: arn.to_string() });
        }
    }

    /// Shows `value` for `member` in `requestParameters` when the caller did not send it.
    pub fn default_param(&mut self, member: &'static str, value: Value) {
        self.request_defaults.push((member, value));
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        self.caller.account()
    }

    /// The region the call was signed for.
    pub fn region(&self) -> &str {
        &self.caller.region
    }

    /// Unix seconds of `now`.
    pub fn now_secs(&self) -> i64 {
        self.now.unix_timestamp()
    }
}
