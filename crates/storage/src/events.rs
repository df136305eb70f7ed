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

use crate::chunk::{Chunk, Codec};
use crate::writer::Job;
use crate::Shared;

/// The on-disk history of one data dir.
pub struct DiskEventLog {
    pub(crate) shared: Arc<Shared>,
}

impl DiskEventLog {
    fn run_query(&self, q: &EventQuery) -> rusqlite::Result<Vec<Arc<StoredEvent>>> {
        let mut sql = String::from("SELECT seq, epoch, json, chunk, pos FROM events WHERE 1=1");
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
        let mut read_chunk = conn.prepare_cached("SELECT body, codec FROM event_chunks WHERE first_seq = ?1")?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        // Rows come in seq order, so the records of one chunk come together: one inflated at a time.
        let mut current: Option<(i64, Chunk)> = None;
        while out.len() < limit {
            let Some(row) = rows.next()? else { break };
            let seq: i64 = row.get(0)?;
            let epoch: i64 = row.get(1)?;
            let json = match (row.get::<_, Option<i64>>(3)?, row.get::<_, Option<i64>>(4)?) {
                (Some(first_seq), Some(pos)) => {
                    if current.as_ref().map(|(id, _)| *id) != Some(first_seq) {
                        let (body, code): (Vec<u8>, i64) = read_chunk.query_row([first_seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
                        let decoded = Codec::from_code(code).and_then(|codec| Chunk::decode(&body, codec));
                        match decoded {
                            Ok(chunk) => current = Some((first_seq, chunk)),
                            Err(e) => {
                                tracing::error!(seq, error = %e, "a stored chunk does not decode; its record skipped");
                                continue;
                            }
                        }
                    }
                    match current.as_ref().and_then(|(_, chunk)| chunk.record(pos as usize)) {
                        Some(json) => json.to_owned(),
                        None => {
                            tracing::error!(seq, pos, "a stored record is missing from its chunk; skipped");
                            continue;
                        }
                    }
                }
                _ => row.get(2)?,
            };
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
        // Newest first: the ids asked for (`since=` of a poller) are nearly always recent ones.
        conn.query_row("SELECT seq FROM events WHERE event_id = ?1 ORDER BY seq DESC LIMIT 1", [event_id], |r| r.get::<_, i64>(0))
            .ok()
            .map(|s| s as u64)
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

    fn all_seqs(log: &dyn EventLog, newest_first: bool, limit: Option<usize>) -> Vec<u64> {
        log.query(&EventQuery { newest_first, limit, ..EventQuery::default() }).iter().map(|e| e.seq).collect()
    }

    fn id(i: usize) -> String {
        format!("{:08x}-0000-4000-8000-{:012x}", i * 7919 % 1000, i)
    }

    /// A data dir as keytrail wrote it in format 1 or 2 (each record's JSON inline, three
    /// indexes, and (format 2) the event_ids copy or (format 1) a unique event_id) or in format 3
    /// (records in deflated chunks of 16, no codec column).
    fn old_format_dir(dir: &std::path::Path, version: i64, records: usize) {
        std::fs::create_dir_all(dir).unwrap();
        let conn = rusqlite::Connection::open(dir.join(crate::schema::DB_FILE)).unwrap();
        let unique = if version == 1 { "UNIQUE" } else { "" };
        let chunked = if version == 3 { ", chunk INTEGER, pos INTEGER" } else { "" };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE state(kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;
             CREATE TABLE events(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL {unique}, recipient TEXT NOT NULL,
                 region TEXT NOT NULL, event_name TEXT NOT NULL, epoch INTEGER NOT NULL, json TEXT NOT NULL{chunked});
             PRAGMA user_version = {version};"
        ))
        .unwrap();
        match version {
            3 => conn.execute_batch("CREATE TABLE event_chunks(first_seq INTEGER PRIMARY KEY, body BLOB NOT NULL);").unwrap(),
            _ => conn
                .execute_batch(
                    "CREATE INDEX events_by_recipient ON events(recipient, region, seq);
                     CREATE INDEX events_by_name ON events(event_name, seq);
                     CREATE INDEX events_by_time ON events(epoch);",
                )
                .unwrap(),
        }
        if version == 2 {
            conn.execute_batch("CREATE TABLE event_ids(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL);").unwrap();
        }
        let records: Vec<CloudTrailRecord> = (0..records).map(|i| record(&id(i))).collect();
        for (i, r) in records.iter().enumerate() {
            let seq = i as i64 + 1;
            let mut columns: Vec<rusqlite::types::Value> = vec![
                seq.into(),
                r.event_id.clone().into(),
                r.recipient_account_id.clone().into(),
                r.aws_region.clone().into(),
                r.event_name.to_string().into(),
                1_795_000_000i64.into(),
            ];
            match version {
                3 => columns.extend([String::new().into(), (seq - (i % 16) as i64).into(), ((i % 16) as i64).into()]),
                _ => columns.push(r.to_json().into()),
            }
            let marks = vec!["?"; columns.len()].join(", ");
            conn.execute(&format!("INSERT INTO events VALUES ({marks})"), rusqlite::params_from_iter(columns)).unwrap();
            if version == 2 {
                conn.execute("INSERT INTO event_ids VALUES (?1, ?2)", rusqlite::params![seq, r.event_id]).unwrap();
            }
        }
        if version == 3 {
            for (n, group) in records.chunks(16).enumerate() {
                let text = group.iter().map(CloudTrailRecord::to_json).collect::<Vec<_>>().join("\n");
                conn.execute(
                    "INSERT INTO event_chunks VALUES (?1, ?2)",
                    rusqlite::params![(n * 16) as i64 + 1, crate::chunk::tests::deflated(&text)],
                )
                .unwrap();
            }
        }
    }

    /// Records written in LZ4 chunks (format 4), in deflated chunks by format 3, and left inline
    /// by formats 1 and 2 read back the same: by id, newest first with a limit, in order, exactly
    /// as first serialized; a transaction of more records than a chunk holds is split; numbering
    /// survives a reset.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_in_chunks_and_inline_records_of_older_formats_read_back_alike() {
        for version in [4, 3, 2, 1] {
            let dir = crate::fresh_test_dir(&format!("event-format-{version}"));
            let old = if version < 4 { 40 } else { 0 };
            if version < 4 {
                old_format_dir(&dir, version, old);
            }
            let store = KeyStore::new();
            let storage = Storage::open(&dir).unwrap();
            let log = storage.event_log();
            assert_eq!(log.len(), old);
            let recorder = Recorder::with_log(log.clone(), None);
            let mut next = old;
            for size in [7, 1, 600, 7, 7] {
                recorder.record((next..next + size).map(|i| record(&id(i))).collect());
                storage.commit(&store, &[], Vec::new(), time::Duration::ZERO).await.unwrap();
                next += size;
            }
            let total = next as u64;
            assert_eq!(log.len(), total as usize);
            let everything = log.query(&EventQuery::default());
            assert_eq!(everything.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
            for e in &everything {
                assert_eq!(e.json, record(&id(e.seq as usize - 1)).to_json(), "record {} of format {version}", e.seq);
                assert_eq!(e.summary.event_id, id(e.seq as usize - 1));
            }
            assert_eq!(all_seqs(&*log, true, Some(3)), [total, total - 1, total - 2]);
            for i in [0, old.saturating_sub(1), old, old + 7, old + 300, total as usize - 1] {
                assert_eq!(log.seq_of(&id(i)), Some(i as u64 + 1), "format {version}");
                assert_eq!(by_id(&*log, &id(i)), [i as u64 + 1], "format {version}");
            }
            assert_eq!(log.seq_of("00000000-0000-4000-8000-00000000ffff"), None);
            assert!(by_id(&*log, "not-an-id").is_empty());
            storage.close();

            // A reset empties history; numbering still goes on after a restart.
            let reopened = Storage::open(&dir).unwrap();
            assert_eq!(all_seqs(&*reopened.event_log(), false, None).len(), total as usize);
            // Three more recorded but not waited for: the reset may meet them queued, unwritten.
            Recorder::with_log(reopened.event_log(), None).record((0..3).map(|i| record(&id(total as usize + i))).collect());
            reopened.wipe().await.unwrap();
            reopened.close();
            let after_reset = Storage::open(&dir).unwrap();
            assert_eq!(after_reset.event_log().len(), 0);
            assert_eq!(after_reset.event_log().last_seq(), total + 3);
            after_reset.close();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
