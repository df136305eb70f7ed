//! Report-only enforcement (`--enforcement report`), for teams adopting policies: a wrapper
//! around any [`Authorizer`] that lets every access through, and lists each one the wrapped
//! authorizer would have denied, with why, as far as it says (its AccessDenied message names
//! the kind of policy and whether a Deny applied). Calls then happen, and their records are the
//! records of calls that happened.
//!
//! Only denials are let through: other refusals the authorizer makes (a malformed grant token)
//! stay errors, since they are not policy decisions.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::authorize::{AccessRequest, Authorizer};
use crate::clock::Clock;
use crate::store::KeyStore;
use crate::{ErrorCode, KmsError};

/// Denials kept at most (the oldest go first): a long report run stays bounded in memory.
pub const MAX_DENIALS: usize = 10_000;

/// One access strict enforcement would have refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedDenial {
    /// When (mock clock), RFC 3339 to the second.
    pub time: String,
    /// The caller's ARN.
    pub principal: String,
    /// The IAM action, `kms:Decrypt`.
    pub action: String,
    /// The key ARN, or `*` for account-level actions.
    pub resource: String,
    /// Which policy decided: `key policy`, `identity policy`, or unknown.
    pub policy: Option<&'static str>,
    /// Whether an explicit Deny decided (rather than no Allow).
    pub explicit_deny: bool,
    /// The AccessDenied message strict enforcement would have answered with.
    pub message: String,
}

impl ReportedDenial {
    /// The JSON `GET /_keytrail/denials` lists. `statement` is `null` until the evaluator names
    /// the statement that decided.
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.time,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "policy": self.policy,
            "statement": Value::Null,
            "explicitDeny": self.explicit_deny,
            "message": self.message,
        })
    }
}

/// The denials reported so far, oldest first.
#[derive(Default)]
pub struct DenialLog {
    entries: Mutex<VecDeque<ReportedDenial>>,
}

impl DenialLog {
    /// Every denial kept, oldest first.
    pub fn list(&self) -> Vec<ReportedDenial> {
        self.entries.lock().iter().cloned().collect()
    }

    /// Forgets them (reset).
    pub fn clear(&self) {
        self.entries.lock().clear();
    }

    fn push(&self, denial: ReportedDenial) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_DENIALS {
            entries.pop_front();
        }
        entries.push_back(denial);
    }
}

/// Lets through what `inner` denies, noting it in `log`.
pub struct ReportOnly {
    inner: Arc<dyn Authorizer>,
    log: Arc<DenialLog>,
    clock: Clock,
}

impl ReportOnly {
    /// Wraps `inner`; denials go to `log`, timed by `clock`.
    pub fn new(inner: Arc<dyn Authorizer>, log: Arc<DenialLog>, clock: Clock) -> Self {
        ReportOnly { inner, log, clock }
    }
}

fn rfc3339_seconds(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// What an AccessDenied message says of the policy that decided (the four forms in
/// `keytrail_iam::policy::DenialReason`).
fn classify(message: &str) -> (Option<&'static str>, bool) {
    if message.ends_with("with an explicit deny in a resource-based policy") {
        (Some("key policy"), true)
    } else if message.ends_with("with an explicit deny in an identity-based policy") {
        (Some("identity policy"), true)
    } else if message.contains("because no resource-based policy allows") {
        (Some("key policy"), false)
    } else if message.contains("because no identity-based policy allows") {
        (Some("identity policy"), false)
    } else {
        (None, false)
    }
}

impl Authorizer for ReportOnly {
    fn authorize(&self, store: &KeyStore, request: &AccessRequest<'_>) -> Result<(), KmsError> {
        match self.inner.authorize(store, request) {
            Err(e) if e.code() == ErrorCode::AccessDenied => {
                let (policy, explicit_deny) = classify(e.message());
                tracing::warn!(
                    principal = %request.caller.principal.arn(),
                    action = request.action,
                    "report-only enforcement let through what strict enforcement denies: {}",
                    e.message()
                );
                self.log.push(ReportedDenial {
                    time: rfc3339_seconds(self.clock.now()),
                    principal: request.caller.principal.arn(),
                    action: request.action.to_owned(),
                    resource: request.key.map_or_else(|| "*".to_owned(), |k| k.arn()),
                    policy,
                    explicit_deny,
                    message: e.message().to_owned(),
                });
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keytrail_iam::{Caller, Principal};

    struct DenyAll;

    impl Authorizer for DenyAll {
        fn authorize(&self, _: &KeyStore, r: &AccessRequest<'_>) -> Result<(), KmsError> {
            if r.action == "kms:Bad" {
                return Err(KmsError::new(ErrorCode::InvalidGrantToken, "bad token"));
            }
            Err(KmsError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {} on resource: * with an explicit deny in an identity-based policy",
                    r.caller.principal.arn(),
                    r.action
                ),
            ))
        }
    }

    #[test]
    fn denials_pass_and_are_listed_other_errors_stay() {
        let log = Arc::new(DenialLog::default());
        let report = ReportOnly::new(Arc::new(DenyAll), log.clone(), Clock::new());
        let caller = Caller::new(Principal::root("111122223333"), "AKIA".into(), "us-east-1".into());
        let store = KeyStore::new();
        assert!(report.authorize(&store, &AccessRequest::new(&caller, "kms:CreateKey", None)).is_ok());
        assert!(report.authorize(&store, &AccessRequest::new(&caller, "kms:Bad", None)).is_err(), "not a policy decision");
        let listed = log.list();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].action.as_str(), listed[0].resource.as_str()), ("kms:CreateKey", "*"));
        assert_eq!((listed[0].policy, listed[0].explicit_deny), (Some("identity policy"), true));
        assert_eq!(listed[0].to_json()["statement"], Value::Null);
    }
}
