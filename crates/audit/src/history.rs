//! Event history: where records are kept for `/_keytrail/events` and LookupEvents.
//!
//! `EventLog` is the storage seam: in memory by default (`MemoryEventLog`), on disk with
//! `--data-dir` (so memory stays flat however many records there are). Queries are expressed
//! once (`EventQuery`) and every log answers them the same way; `EventQuery::matches` is the
//! reference predicate, so a log may push part of a query down to its index and check the rest
//! with it.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::packed::{PackedGroup, Scratch, GROUP};
use crate::recorder::StoredEvent;
use crate::summary::Field;

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
        self.holds_for(e)
    }

    /// [`LookupAttribute::matches`] over any form history keeps a record in.
    pub(crate) fn holds_for(&self, e: &impl Searchable) -> bool {
        let is = |field: Field, v: &str| e.text(field) == Some(v);
        match self {
            LookupAttribute::EventId(v) => is(Field::EventId, v),
            LookupAttribute::EventName(v) => is(Field::EventName, v),
            LookupAttribute::ReadOnly(v) => e.read_only().to_string() == *v,
            LookupAttribute::Username(v) => is(Field::Username, v),
            LookupAttribute::ResourceType(v) => e.any_resource(&mut |resource_type, _| resource_type == v),
            LookupAttribute::ResourceName(v) => e.any_resource(&mut |_, arn| arn == v),
            LookupAttribute::EventSource(v) => is(Field::EventSource, v),
            LookupAttribute::AccessKeyId(v) => is(Field::AccessKeyId, v),
        }
    }
}

/// What a query reads of a record, whatever form history keeps it in: whole (`StoredEvent`) or
/// packed with the older records of its group (`packed.rs`).
pub(crate) trait Searchable {
    /// The record's place in history.
    fn seq(&self) -> u64;
    /// Its `eventTime` as Unix seconds.
    fn epoch_seconds(&self) -> i64;
    /// One of its summary's text fields.
    fn text(&self, field: Field) -> Option<&str>;
    /// `readOnly`.
    fn read_only(&self) -> bool;
    /// Whether `test(type, ARN)` holds for one of its resources.
    fn any_resource(&self, test: &mut dyn FnMut(&str, &str) -> bool) -> bool;
}

impl Searchable for StoredEvent {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn epoch_seconds(&self) -> i64 {
        self.epoch_seconds
    }
    fn text(&self, field: Field) -> Option<&str> {
        self.summary.text(field)
    }
    fn read_only(&self) -> bool {
        self.summary.read_only
    }
    fn any_resource(&self, test: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.summary.resources.iter().any(|r| test(&r.resource_type, &r.arn))
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
        self.holds_for(e)
    }

    /// [`EventQuery::matches`] over any form history keeps a record in.
    pub(crate) fn holds_for(&self, e: &impl Searchable) -> bool {
        let is = |field: Field, wanted: &Option<String>| wanted.as_deref().is_none_or(|v| e.text(field) == Some(v));
        is(Field::RecipientAccountId, &self.recipient_account)
            && is(Field::AwsRegion, &self.region)
            && is(Field::EventName, &self.event_name)
            && self.after_seq.is_none_or(|s| e.seq() > s)
            && self.before_seq.is_none_or(|s| e.seq() < s)
            && self.start_time.is_none_or(|t| e.epoch_seconds() >= t)
            && self.end_time.is_none_or(|t| e.epoch_seconds() <= t)
            && self.attribute.as_ref().is_none_or(|a| a.holds_for(e))
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
    /// Work the log does after an append, outside the recorder's order lock so that other calls
    /// keep recording meanwhile (the memory log packs its older records here).
    fn compact(&self) {}
}

/// History in memory, oldest first.
///
/// The newest records are kept whole; every [`GROUP`] of them is then packed (`packed.rs`):
/// their JSON compressed together, their summaries as indexes into the group's strings. Why: a
/// record kept whole is ~2.1 KB (its JSON, its summary's dozen strings), and on the machines
/// keytrail is measured on, memory that history grows into costs ~2.8 µs of CPU per KB (the
/// kernel zeroing it, the allocator's first touch) — ~9% of a recorded call (BENCHMARKS.md).
/// Packed, a record takes a few hundred bytes, and the whole JSON it came from is freed for the
/// next calls to reuse. Queries read summaries in place and unpack a group only for the records
/// they return. Packing happens in `compact`, after the recorder's order lock is released.
#[derive(Default)]
pub struct MemoryEventLog {
    events: RwLock<Kept>,
    /// Held by the call packing a group, with the buffers packing reuses.
    packer: Mutex<Scratch>,
}

#[derive(Default)]
struct Kept {
    /// Packed groups, oldest first, each of exactly [`GROUP`] records. A group's handle is 64
    /// bytes, so growing this copies ~1 MB per million records, rarely (the per-record `Vec`
    /// it replaces copied 8 MB per million under the write lock).
    packed: Vec<PackedGroup>,
    /// The records after them, kept whole until packed (fewer than [`GROUP`] at rest).
    open: Vec<Arc<StoredEvent>>,
    len: usize,
}

impl EventLog for MemoryEventLog {
    fn append(&self, events: &[Arc<StoredEvent>]) {
        let mut kept = self.events.write();
        kept.open.extend(events.iter().cloned());
        kept.len += events.len();
    }

    fn compact(&self) {
        // One packer at a time; a call that finds one at work leaves the packing to it (it
        // packs until fewer than a group remain, or the next call's compact does).
        let Some(mut scratch) = self.packer.try_lock() else { return };
        loop {
            // Packed from a copy of the group's handles, with no lock held: calls keep
            // recording and readers keep reading meanwhile.
            let group: Vec<Arc<StoredEvent>> = {
                let kept = self.events.read();
                match kept.open.get(..GROUP) {
                    Some(group) => group.to_vec(),
                    None => return,
                }
            };
            let packed = PackedGroup::pack(&group, &mut scratch);
            let mut kept = self.events.write();
            // A reset may have emptied history meanwhile: only the same records are replaced.
            if kept.open.len() < GROUP || kept.open[0].seq != group[0].seq {
                return;
            }
            kept.open.drain(..GROUP);
            kept.packed.push(packed);
        }
    }

    fn query(&self, q: &EventQuery) -> Vec<Arc<StoredEvent>> {
        let kept = self.events.read();
        let limit = q.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if q.newest_first {
            out.extend(kept.open.iter().rev().filter(|e| q.matches(e)).take(limit).cloned());
            for group in kept.packed.iter().rev() {
                if out.len() >= limit {
                    break;
                }
                group.collect(q, true, limit, &mut out);
            }
        } else {
            for group in &kept.packed {
                if out.len() >= limit {
                    break;
                }
                group.collect(q, false, limit, &mut out);
            }
            let room = limit - out.len();
            out.extend(kept.open.iter().filter(|e| q.matches(e)).take(room).cloned());
        }
        out
    }

    fn seq_of(&self, event_id: &str) -> Option<u64> {
        // Newest first: `since=` pollers ask for a record they saw recently.
        let kept = self.events.read();
        kept.open
            .iter()
            .rev()
            .find(|e| e.summary.event_id == event_id)
            .map(|e| e.seq)
            .or_else(|| kept.packed.iter().rev().find_map(|group| group.seq_of(event_id)))
    }

    fn len(&self) -> usize {
        self.events.read().len
    }

    fn last_seq(&self) -> u64 {
        let kept = self.events.read();
        kept.open.last().map(|e| e.seq).or_else(|| kept.packed.last().map(PackedGroup::last_seq)).unwrap_or(0)
    }

    fn clear(&self) {
        *self.events.write() = Kept::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CloudTrailRecord, Resource};
    use crate::summary::RecordSummary;

    /// A record that varies with `seq` in every field queries read.
    fn record(seq: u64) -> CloudTrailRecord {
        let mut record = CloudTrailRecord { event_id: format!("id-{seq}"), ..crate::record::tests::sample() };
        record.event_name = ["Decrypt", "Encrypt", "CreateKey"][seq as usize % 3].into();
        record.aws_region = ["us-east-1", "eu-west-1"][seq as usize % 2].into();
        record.recipient_account_id = ["111122223333", "444455556666"][seq as usize % 5 / 4].into();
        record.read_only = !seq.is_multiple_of(4);
        record.error_code = seq.is_multiple_of(7).then(|| "AccessDeniedException".into());
        record.resources = (!seq.is_multiple_of(6)).then(|| {
            (0..seq % 3)
                .map(|n| Resource {
                    account_id: "111122223333".into(),
                    resource_type: "AWS::KMS::Key".into(),
                    arn: format!("arn:aws:kms:us-east-1:111122223333:key/k{}", (seq + n) % 10),
                })
                .collect()
        });
        record
    }

    fn event(seq: u64) -> Arc<StoredEvent> {
        let record = record(seq);
        let json = record.to_json();
        Arc::new(StoredEvent { seq, epoch_seconds: 1_795_000_000 + seq as i64 / 10, summary: RecordSummary::of(&record), json })
    }

    fn filled(total: u64) -> MemoryEventLog {
        let log = MemoryEventLog::default();
        for first in (1..=total).step_by(3) {
            let batch: Vec<_> = (first..(first + 3).min(total + 1)).map(event).collect();
            log.append(&batch);
            log.compact();
        }
        assert_eq!(log.events.read().packed.len(), total as usize / GROUP, "every full group packed");
        log
    }

    #[test]
    fn memory_history_answers_the_same_across_groups() {
        let total = 3 * GROUP as u64 + 5;
        let log = filled(total);
        assert_eq!(log.len(), total as usize);
        assert_eq!(log.last_seq(), total);
        let seqs = |q: EventQuery| log.query(&q).iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(EventQuery::default()), (1..=total).collect::<Vec<_>>(), "oldest first, nothing lost or repeated");
        assert_eq!(seqs(EventQuery { newest_first: true, limit: Some(3), ..EventQuery::default() }), [total, total - 1, total - 2]);
        let around = GROUP as u64;
        assert_eq!(
            seqs(EventQuery { after_seq: Some(around - 2), before_seq: Some(around + 3), ..EventQuery::default() }),
            [around - 1, around, around + 1, around + 2],
            "a range across a group boundary"
        );
        for seq in [1, around, around + 1, total] {
            assert_eq!(log.seq_of(&format!("id-{seq}")), Some(seq));
        }
        assert_eq!(log.seq_of("id-0"), None);
        log.clear();
        assert_eq!((log.len(), log.last_seq()), (0, 0));
        assert!(log.query(&EventQuery::default()).is_empty());
    }

    /// Packed records come back exactly as recorded (JSON byte for byte, summary field for field)
    /// and every kind of query selects the same records from them as the reference predicate
    /// does from the records whole.
    #[test]
    fn packed_records_read_back_whole_and_answer_like_the_reference() {
        let total = 4 * GROUP as u64 + 17;
        let log = filled(total);
        let whole: Vec<Arc<StoredEvent>> = (1..=total).map(event).collect();
        for e in log.query(&EventQuery::default()) {
            let original = &whole[e.seq as usize - 1];
            assert_eq!(e.json, original.json, "record {}", e.seq);
            assert_eq!(e.summary, original.summary, "record {}", e.seq);
            assert_eq!(e.epoch_seconds, original.epoch_seconds);
        }
        let attributes = [
            LookupAttribute::EventId("id-70".into()),
            LookupAttribute::EventName("Encrypt".into()),
            LookupAttribute::ReadOnly("false".into()),
            LookupAttribute::Username("alice".into()),
            LookupAttribute::ResourceType("AWS::KMS::Key".into()),
            LookupAttribute::ResourceName("arn:aws:kms:us-east-1:111122223333:key/k3".into()),
            LookupAttribute::EventSource("kms.amazonaws.com".into()),
            LookupAttribute::AccessKeyId("nothing".into()),
        ];
        let mut queries: Vec<EventQuery> =
            attributes.into_iter().map(|a| EventQuery { attribute: Some(a), ..EventQuery::default() }).collect();
        queries.push(EventQuery {
            recipient_account: Some("444455556666".into()),
            region: Some("eu-west-1".into()),
            ..EventQuery::default()
        });
        queries.push(EventQuery {
            event_name: Some("CreateKey".into()),
            start_time: Some(1_795_000_010),
            end_time: Some(1_795_000_020),
            ..EventQuery::default()
        });
        let mut selective = 0;
        for q in queries {
            let selected = whole.iter().filter(|e| q.matches(e)).count();
            selective += usize::from(selected > 0 && selected < whole.len());
            for (newest_first, limit) in [(false, None), (true, None), (true, Some(5)), (false, Some(70))] {
                let q = EventQuery { newest_first, limit, ..q.clone() };
                let mut expected: Vec<u64> = whole.iter().filter(|e| q.matches(e)).map(|e| e.seq).collect();
                if newest_first {
                    expected.reverse();
                }
                expected.truncate(limit.unwrap_or(usize::MAX));
                let got: Vec<u64> = log.query(&q).iter().map(|e| e.seq).collect();
                assert_eq!(got, expected, "{q:?}");
            }
        }
        assert!(selective >= 7, "only {selective} of the queries select some records but not all");
    }
}
