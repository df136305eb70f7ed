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
    events: RwLock<Chunks>,
}

/// Records per chunk of the in-memory history.
const CHUNK: usize = 4096;

/// A list that grows by whole chunks and never moves what it holds.
///
/// Why: one `Vec` of a million records doubles by copying 8 MB while appends wait on the write
/// lock — a latency spike for every call in flight at that moment. A new chunk is one small
/// allocation.
#[derive(Default)]
struct Chunks {
    chunks: Vec<Vec<Arc<StoredEvent>>>,
    len: usize,
}

impl Chunks {
    fn push(&mut self, e: Arc<StoredEvent>) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(e),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(e);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<StoredEvent>> {
        self.chunks.iter().flatten()
    }

    fn last(&self) -> Option<&Arc<StoredEvent>> {
        self.chunks.last().and_then(|c| c.last())
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

impl EventLog for MemoryEventLog {
    fn append(&self, events: &[Arc<StoredEvent>]) {
        let mut kept = self.events.write();
        for e in events {
            kept.push(e.clone());
        }
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
        self.events.read().len
    }

    fn last_seq(&self) -> u64 {
        self.events.read().last().map(|e| e.seq).unwrap_or(0)
    }

    fn clear(&self) {
        self.events.write().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::RecordSummary;

    fn event(seq: u64) -> Arc<StoredEvent> {
        let record = crate::record::CloudTrailRecord { event_id: format!("id-{seq}"), ..crate::record::tests::sample() };
        Arc::new(StoredEvent { seq, epoch_seconds: seq as i64, summary: RecordSummary::of(&record), json: String::new() })
    }

    #[test]
    fn memory_history_answers_the_same_across_chunks() {
        let log = MemoryEventLog::default();
        let total = 2 * CHUNK as u64 + 5;
        for first in (1..=total).step_by(3) {
            let batch: Vec<_> = (first..(first + 3).min(total + 1)).map(event).collect();
            log.append(&batch);
        }
        assert_eq!(log.len(), total as usize);
        assert_eq!(log.last_seq(), total);
        let seqs = |q: EventQuery| log.query(&q).iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(EventQuery::default()), (1..=total).collect::<Vec<_>>(), "oldest first, nothing lost or repeated");
        assert_eq!(seqs(EventQuery { newest_first: true, limit: Some(3), ..EventQuery::default() }), [total, total - 1, total - 2]);
        let around = CHUNK as u64;
        assert_eq!(
            seqs(EventQuery { after_seq: Some(around - 2), before_seq: Some(around + 3), ..EventQuery::default() }),
            [around - 1, around, around + 1, around + 2],
            "a range across a chunk boundary"
        );
        assert_eq!(log.seq_of(&format!("id-{}", around + 1)), Some(around + 1));
        assert_eq!(log.seq_of("id-0"), None);
        log.clear();
        assert_eq!((log.len(), log.last_seq()), (0, 0));
        assert!(log.query(&EventQuery::default()).is_empty());
    }
}
