//! Event history: where records are kept for `/_keytrail/events` and LookupEvents.
//!
//! `EventLog` is the storage seam: in memory by default (`MemoryEventLog`), on disk with
//! `--data-dir` (so memory stays flat however many records there are). Queries are expressed
//! once (`EventQuery`) and every log answers them the same way; `EventQuery::matches` is the
//! reference predicate, so a log may push part of a query down to its index and check the rest
//! with it.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::recorder::StoredEvent;

/// LookupEvents' lookup attributes (one per request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupAttribute {
    /// `eventID`.
    EventId(String),
    /// `eventName`.
    EventName(String),
    /// `readOnly`, `"true"`/`"false"`.
    ReadOnly(String),
    /// The user name (IAM user, role session, root).
    Username(String),
    /// A resource's `type`.
    ResourceType(String),
    /// A resource's `ARN`.
    ResourceName(String),
    /// `eventSource`.
    EventSource(String),
    /// `userIdentity.accessKeyId`.
    AccessKeyId(String),
}

impl LookupAttribute {
    /// True when `e` has this attribute value.
    pub fn matches(&self, e: &StoredEvent) -> bool {
        let r = &e.summary;
        match self {
            LookupAttribute::EventId(v) => &r.event_id == v,
            LookupAttribute::EventName(v) => &r.event_name == v,
            LookupAttribute::ReadOnly(v) => r.read_only.to_string() == *v,
            LookupAttribute::Username(v) => r.username.as_deref() == Some(v.as_str()),
            LookupAttribute::ResourceType(v) => r.resources.iter().any(|x| &x.resource_type == v),
            LookupAttribute::ResourceName(v) => r.resources.iter().any(|x| &x.arn == v),
            LookupAttribute::EventSource(v) => &r.event_source == v,
            LookupAttribute::AccessKeyId(v) => r.access_key_id.as_deref() == Some(v.as_str()),
        }
    }
}

/// A history query. Every member narrows; `None` means no constraint.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only copies delivered to this account.
    pub recipient_account: Option<String>,
    /// Only records of this region.
    pub region: Option<String>,
    /// Only records with this eventName.
    pub event_name: Option<String>,
    /// Only records with `seq > after_seq`.
    pub after_seq: Option<u64>,
    /// Only records with `seq < before_seq`.
    pub before_seq: Option<u64>,
    /// Only records at or after this time (Unix seconds).
    pub start_time: Option<i64>,
    /// Only records at or before this time (Unix seconds).
    pub end_time: Option<i64>,
    /// A LookupEvents attribute.
    pub attribute: Option<LookupAttribute>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// At most this many results.
    pub limit: Option<usize>,
}

impl EventQuery {
    /// The reference predicate (everything except ordering and limit).
    pub fn matches(&self, e: &StoredEvent) -> bool {
        let r = &e.summary;
        self.recipient_account.as_deref().is_none_or(|a| r.recipient_account_id == a)
            && self.region.as_deref().is_none_or(|g| r.aws_region == g)
            && self.event_name.as_deref().is_none_or(|n| r.event_name == n)
            && self.after_seq.is_none_or(|s| e.seq > s)
            && self.before_seq.is_none_or(|s| e.seq < s)
            && self.start_time.is_none_or(|t| e.epoch_seconds >= t)
            && self.end_time.is_none_or(|t| e.epoch_seconds <= t)
            && self.attribute.as_ref().is_none_or(|a| a.matches(e))
    }
}

/// Storage for event history.
pub trait EventLog: Send + Sync {
    /// Appends a batch (already numbered, in order).
    fn append(&self, events: &[Arc<StoredEvent>]);
    /// Answers `query`.
    fn query(&self, query: &EventQuery) -> Vec<Arc<StoredEvent>>;
    /// The sequence number of the record with this eventID, if kept.
    fn seq_of(&self, event_id: &str) -> Option<u64>;
    /// Number of records kept.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The highest sequence number kept (to continue numbering after a restart).
    fn last_seq(&self) -> u64;
    /// Forgets everything (control API `reset`).
    fn clear(&self);
}

/// History in memory, oldest first.
#[derive(Default)]
pub struct MemoryEventLog {
    events: RwLock<Vec<Arc<StoredEvent>>>,
}

impl EventLog for MemoryEventLog {
    fn append(&self, events: &[Arc<StoredEvent>]) {
        self.events.write().extend(events.iter().cloned());
    }

    fn query(&self, q: &EventQuery) -> Vec<Arc<StoredEvent>> {
        let events = self.events.read();
        let limit = q.limit.unwrap_or(usize::MAX);
        if q.newest_first {
            events.iter().rev().filter(|e| q.matches(e)).take(limit).cloned().collect()
        } else {
            events.iter().filter(|e| q.matches(e)).take(limit).cloned().collect()
        }
    }

    fn seq_of(&self, event_id: &str) -> Option<u64> {
        self.events.read().iter().find(|e| e.summary.event_id == event_id).map(|e| e.seq)
    }

    fn len(&self) -> usize {
        self.events.read().len()
    }

    fn last_seq(&self) -> u64 {
        self.events.read().last().map(|e| e.seq).unwrap_or(0)
    }

    fn clear(&self) {
        self.events.write().clear();
    }
}
