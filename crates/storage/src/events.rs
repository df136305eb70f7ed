//! Event history on disk: `keytrail_audit::EventLog` over the `events` table.
//!
//! Appends go to the writer thread (in sequence order, since the recorder appends under its
//! ordering lock); reads use a separate connection and see committed records only, which is every
//! record whose call has been answered. Nothing of the history is kept in memory.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use keytrail_audit::{CloudTrailRecord, EventLog, EventQuery, LookupAttribute, StoredEvent};
use rusqlite::types::Value as SqlValue;

use crate::writer::Job;
use crate::Shared;

/// The on-disk history of one data dir.
pub struct DiskEventLog {
    pub(crate) shared: Arc<Shared>,
}

impl DiskEventLog {
    fn run_query(&self, q: &EventQuery) -> rusqlite::Result<Vec<Arc<StoredEvent>>> {
        let mut sql = String::from("SELECT seq, epoch, json FROM events WHERE 1=1");
        let mut args: Vec<SqlValue> = Vec::new();
        let mut push = |clause: &str, v: SqlValue, sql: &mut String| {
            sql.push_str(clause);
            args.push(v);
        };
        if let Some(a) = &q.recipient_account {
            push(" AND recipient = ?", SqlValue::Text(a.clone()), &mut sql);
        }
        if let Some(r) = &q.region {
            push(" AND region = ?", SqlValue::Text(r.clone()), &mut sql);
        }
        if let Some(n) = &q.event_name {
            push(" AND event_name = ?", SqlValue::Text(n.clone()), &mut sql);
        }
        if let Some(s) = q.after_seq {
            push(" AND seq > ?", SqlValue::Integer(clamp(s)), &mut sql);
        }
        if let Some(s) = q.before_seq {
            push(" AND seq < ?", SqlValue::Integer(clamp(s)), &mut sql);
        }
        if let Some(t) = q.start_time {
            push(" AND epoch >= ?", SqlValue::Integer(t), &mut sql);
        }
        if let Some(t) = q.end_time {
            push(" AND epoch <= ?", SqlValue::Integer(t), &mut sql);
        }
        // Attributes with a column are pushed down; the rest are checked after decoding.
        let mut residual = q.attribute.is_some();
        match &q.attribute {
            Some(LookupAttribute::EventId(id)) => {
                push(" AND event_id = ?", SqlValue::Text(id.clone()), &mut sql);
                residual = false;
            }
            Some(LookupAttribute::EventName(n)) => {
                push(" AND event_name = ?", SqlValue::Text(n.clone()), &mut sql);
                residual = false;
            }
            _ => {}
        }
        sql.push_str(if q.newest_first { " ORDER BY seq DESC" } else { " ORDER BY seq ASC" });
        if let (Some(limit), false) = (q.limit, residual) {
            sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as usize)));
        }
        let limit = q.limit.unwrap_or(usize::MAX);
        let conn = self.shared.reader.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(row) = rows.next()? else { break };
            let seq: i64 = row.get(0)?;
            let epoch: i64 = row.get(1)?;
            let json: String = row.get(2)?;
            let record: CloudTrailRecord = match serde_json::from_str(&json) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(seq, error = %e, "a stored record does not decode; skipped");
                    continue;
                }
            };
            let e = StoredEvent { seq: seq as u64, epoch_seconds: epoch, record, json };
            if q.matches(&e) {
                out.push(Arc::new(e));
            }
        }
        Ok(out)
    }
}

fn clamp(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

impl EventLog for DiskEventLog {
    fn append(&self, events: &[Arc<StoredEvent>]) {
        if !self.shared.send(Job::Events(events.to_vec())) {
            tracing::error!(count = events.len(), "storage is closed; records not written to the data dir");
        }
    }

    fn query(&self, query: &EventQuery) -> Vec<Arc<StoredEvent>> {
        self.run_query(query).unwrap_or_else(|e| {
            tracing::error!(error = %e, "event history query failed");
            Vec::new()
        })
    }

    fn seq_of(&self, event_id: &str) -> Option<u64> {
        let conn = self.shared.reader.lock();
        conn.query_row("SELECT seq FROM events WHERE event_id = ?1", [event_id], |r| r.get::<_, i64>(0)).ok().map(|s| s as u64)
    }

    fn len(&self) -> usize {
        self.shared.event_count.load(Ordering::SeqCst) as usize
    }

    fn last_seq(&self) -> u64 {
        self.shared.initial_last_seq
    }

    fn clear(&self) {
        if !self.shared.send(Job::ClearEvents) {
            tracing::error!("storage is closed; history not cleared on disk");
        }
    }
}
