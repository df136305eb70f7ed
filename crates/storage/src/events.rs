//! Event history on disk: `keytrail_audit::EventLog` over the `events` table.
//!
//! Appends go to the writer thread (in sequence order, since the recorder appends under its
//! ordering lock); reads use a separate connection and see committed records only, which is every
//! record whose call has been answered. Nothing of the history is kept in memory.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use keytrail_audit::summary::RecordSummary;
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
                push(" AND seq IN (SELECT seq FROM event_ids WHERE event_id = ?)", SqlValue::Text(id.clone()), &mut sql);
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
            let e = StoredEvent { seq: seq as u64, epoch_seconds: epoch, summary: RecordSummary::from_record(record), json };
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
        conn.query_row("SELECT seq FROM event_ids WHERE event_id = ?1", [event_id], |r| r.get::<_, i64>(0)).ok().map(|s| s as u64)
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

#[cfg(test)]
mod tests {
    use keytrail_audit::record::EVENT_VERSION;
    use keytrail_audit::{CloudTrailRecord, EventLog, EventQuery, LookupAttribute, Recorder, UserIdentity};
    use keytrail_kms::store::KeyStore;

    use crate::Storage;

    fn record(event_id: &str) -> CloudTrailRecord {
        CloudTrailRecord {
            event_version: EVENT_VERSION.into(),
            user_identity: UserIdentity::aws_internal("111122223333"),
            event_time: "2026-11-29T00:00:00Z".into(),
            event_source: "kms.amazonaws.com".into(),
            event_name: "Decrypt".into(),
            aws_region: "us-east-1".into(),
            source_ip_address: "127.0.0.1".into(),
            user_agent: None,
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            request_id: None,
            event_id: event_id.into(),
            read_only: true,
            resources: None,
            event_type: "AwsApiCall".into(),
            management_event: true,
            recipient_account_id: "111122223333".into(),
            shared_event_id: None,
            service_event_details: None,
            event_category: "Management".into(),
        }
    }

    fn by_id(log: &dyn EventLog, id: &str) -> Vec<u64> {
        let q = EventQuery { attribute: Some(LookupAttribute::EventId(id.into())), ..EventQuery::default() };
        log.query(&q).iter().map(|e| e.seq).collect()
    }

    /// Event ids have no index (see schema.rs); lookups by id go through `event_ids`, also for a
    /// data dir written in format 1, which is migrated on open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_are_found_by_id_in_new_and_migrated_data_dirs() {
        let dir = std::env::temp_dir().join(format!("kt-event-ids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = KeyStore::new();
        let ids: Vec<String> = (0..300).map(|i| format!("{:08x}-0000-4000-8000-{:012x}", i * 7919 % 300, i)).collect();
        let storage = Storage::open(&dir).unwrap();
        let recorder = Recorder::with_log(storage.event_log(), None);
        for chunk in ids.chunks(7) {
            recorder.record(chunk.iter().map(|id| record(id)).collect());
            storage.commit(&store, &[], Vec::new(), time::Duration::ZERO).await.unwrap();
        }
        let log = storage.event_log();
        assert_eq!(log.seq_of(&ids[0]), Some(1));
        assert_eq!(log.seq_of(&ids[299]), Some(300));
        assert_eq!(by_id(&*log, &ids[150]), [151]);
        assert_eq!(log.seq_of("00000000-0000-4000-8000-00000000ffff"), None);
        assert!(by_id(&*log, "not-an-id").is_empty());
        storage.close();

        // Back to format 1 as an older keytrail left it: no event_ids table, a unique index.
        {
            let conn = rusqlite::Connection::open(dir.join(crate::schema::DB_FILE)).unwrap();
            conn.execute_batch("DROP TABLE event_ids; CREATE UNIQUE INDEX old_unique_ids ON events(event_id); PRAGMA user_version = 1;")
                .unwrap();
        }
        let reopened = Storage::open(&dir).unwrap();
        let log = reopened.event_log();
        assert_eq!(log.seq_of(&ids[42]), Some(43));
        assert_eq!(by_id(&*log, &ids[299]), [300]);
        let recorder = Recorder::with_log(log.clone(), None);
        recorder.record(vec![record("ffffffff-0000-4000-8000-000000000000")]);
        reopened.commit(&store, &[], Vec::new(), time::Duration::ZERO).await.unwrap();
        assert_eq!(log.seq_of("ffffffff-0000-4000-8000-000000000000"), Some(301));
        // A reset empties history; numbering still goes on from 302 after a restart.
        reopened.wipe().await.unwrap();
        reopened.close();
        let after_reset = Storage::open(&dir).unwrap();
        assert_eq!(after_reset.event_log().len(), 0);
        assert_eq!(after_reset.event_log().last_seq(), 301);
        after_reset.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
