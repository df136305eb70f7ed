//! The recorder: where every call's records go, before its response is sent.
//!
//! A `Recorder` is a cheap `Clone` handle. `record` appends to the event history, writes each
//! record as one JSON line to `--events-out` (if set), and hands the batch to every registered
//! `RecordSink` (durable storage, trails). History order, file order and sink order agree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::events_out::{EventsOut, EventsWriter};
use crate::history::{EventLog, EventQuery, MemoryEventLog};

use crate::record::CloudTrailRecord;
use crate::summary::RecordSummary;

/// A record as kept in history: its place in the sequence, its time, and its JSON text.
#[derive(Debug)]
pub struct StoredEvent {
    /// Position in the history, starting at 1; strictly increasing.
    pub seq: u64,
    /// `eventTime` as Unix seconds, for time-range queries.
    pub epoch_seconds: i64,
    /// The fields queries and selectors read.
    pub summary: RecordSummary,
    /// The record, serialized once, reused by every reader.
    pub json: String,
}

/// Something that wants every batch of records as it is recorded (storage, trails).
pub trait RecordSink: Send + Sync {
    /// Called once per batch, in history order, before the call's response is sent.
    fn accept(&self, events: &[Arc<StoredEvent>]);
}

/// Which records `GET /_keytrail/events` returns.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Only records delivered to this account (`recipientAccountId`).
    pub account: Option<String>,
    /// Only records with this `eventName`.
    pub event_name: Option<String>,
    /// Only records after the one with this `eventID`.
    pub since: Option<String>,
}

/// The handle through which all records flow.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    history: Arc<dyn EventLog>,
    next_seq: AtomicU64,
    /// Held while a batch is appended everywhere, so every output sees the same order.
    order: Mutex<()>,
    events_out: Option<EventsOut>,
    sinks: RwLock<Vec<Arc<dyn RecordSink>>>,
}

impl Recorder {
    /// A recorder that keeps history in memory and writes JSON lines to `events_out` if given.
    pub fn new(events_out: Option<Box<dyn EventsWriter>>) -> Self {
        Recorder::with_log(Arc::new(MemoryEventLog::default()), events_out)
    }

    /// A recorder over a given history store (on disk with `--data-dir`).
    pub fn with_log(history: Arc<dyn EventLog>, events_out: Option<Box<dyn EventsWriter>>) -> Self {
        let next = history.last_seq() + 1;
        Recorder {
            inner: Arc::new(Inner {
                history,
                next_seq: AtomicU64::new(next),
                order: Mutex::new(()),
                events_out: events_out.map(EventsOut::start),
                sinks: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Registers a sink that receives every later batch.
    pub fn add_sink(&self, sink: Arc<dyn RecordSink>) {
        self.inner.sinks.write().push(sink);
    }

    /// Records one call's records (one, or two for a cross-account call). Returns when they are
    /// in history, queued for `--events-out`, and handed to every sink.
    pub fn record(&self, records: Vec<CloudTrailRecord>) -> Vec<Arc<StoredEvent>> {
        if records.is_empty() {
            return Vec::new();
        }
        // Serialized before taking the order lock: only numbering needs it.
        let prepared: Vec<(i64, RecordSummary, String)> = records
            .into_iter()
            .map(|record| {
                let epoch_seconds = time::OffsetDateTime::parse(&record.event_time, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp())
                    .unwrap_or_default();
                let json = record.to_json();
                (epoch_seconds, RecordSummary::from_record(record), json)
            })
            .collect();
        let order = self.inner.order.lock();
        let stored: Vec<Arc<StoredEvent>> = prepared
            .into_iter()
            .map(|(epoch_seconds, summary, json)| {
                Arc::new(StoredEvent { seq: self.inner.next_seq.fetch_add(1, Ordering::Relaxed), epoch_seconds, summary, json })
            })
            .collect();
        if let Some(out) = &self.inner.events_out {
            out.append_lines(stored.iter().map(|e| e.json.as_bytes()), b"\n");
        }
        // After the file's queue: a record seen in history is always on its way to the file.
        self.inner.history.append(&stored);
        for sink in self.inner.sinks.read().iter() {
            sink.accept(&stored);
        }
        drop(order);
        self.inner.history.compact();
        stored
    }

    /// Records kept in history that match `filter`, oldest first.
    pub fn events(&self, filter: &EventFilter) -> Vec<Arc<StoredEvent>> {
        let after_seq = match &filter.since {
            Some(id) => match self.inner.history.seq_of(id) {
                Some(seq) => Some(seq),
                None => return Vec::new(),
            },
            None => None,
        };
        self.query(&EventQuery {
            recipient_account: filter.account.clone(),
            event_name: filter.event_name.clone(),
            after_seq,
            ..EventQuery::default()
        })
    }

    /// Answers a history query (LookupEvents, trails).
    pub fn query(&self, query: &EventQuery) -> Vec<Arc<StoredEvent>> {
        self.inner.history.query(query)
    }

    /// How many records history holds.
    pub fn len(&self) -> usize {
        self.inner.history.len()
    }

    /// True when nothing has been recorded since start or the last reset.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the history (control API `reset`) and empties the `--events-out` file with it;
    /// sequence numbers keep increasing.
    pub fn clear(&self) {
        let _order = self.inner.order.lock();
        self.inner.history.clear();
        if let Some(out) = &self.inner.events_out {
            out.truncate();
        }
    }

    /// Empties the `--events-out` file (start-up with an empty history: the file starts afresh).
    pub fn empty_events_out(&self) {
        let _order = self.inner.order.lock();
        if let Some(out) = &self.inner.events_out {
            out.truncate();
        }
    }

    /// Returns once every record so far is written to `--events-out` (at shutdown, and before
    /// `GET /_keytrail/events` answers, so what a client sees in history is in the file too).
    pub fn flush(&self) {
        if let Some(out) = &self.inner.events_out {
            out.flush();
        }
    }
}
