//! Group commit: one thread owns the write connection. Callers queue jobs; the thread takes
//! everything queued, writes it in one transaction, commits (one fsync for all of them), and only
//! then answers every barrier in the batch. A caller that sent its work and then a barrier knows,
//! when the barrier answers, that its work is on disk. A caller's work and its barrier may land
//! in different batches, so after a failed commit no barrier is answered with success again until
//! a restart (`run`).

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use keytrail_audit::StoredEvent;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use crate::checkpoint::Checkpointer;
use crate::chunk::{self, ChunkEncoder};
use crate::{Shared, StorageError};

/// Most jobs written in one transaction.
const MAX_BATCH: usize = 8192;

/// One change to the generic `state` table.
#[derive(Clone, Debug)]
pub enum StateOp {
    /// Insert or replace `(kind, id)` with `body`.
    Put {
        /// `key`, `alias`, `grant`, `trail`, `meta`…
        kind: String,
        /// The object's id (an ARN for keys and aliases).
        id: String,
        /// The object's stored form.
        body: Vec<u8>,
    },
    /// Remove `(kind, id)` if present.
    Delete {
        /// The kind.
        kind: String,
        /// The id.
        id: String,
    },
}

/// Where a barrier's answer goes: an async caller (a request) or a blocking one (start-up).
pub(crate) enum Ack {
    Async(oneshot::Sender<Result<(), StorageError>>),
    Blocking(std::sync::mpsc::Sender<Result<(), StorageError>>),
}

impl Ack {
    fn send(self, answer: Result<(), StorageError>) {
        match self {
            Ack::Async(tx) => {
                let _ = tx.send(answer);
            }
            Ack::Blocking(tx) => {
                let _ = tx.send(answer);
            }
        }
    }
}

/// What the writer thread is asked to do, in order.
pub(crate) enum Job {
    /// Append records to history (already numbered, in sequence order).
    Events(Vec<Arc<StoredEvent>>),
    /// Apply state changes.
    State(Vec<StateOp>),
    /// Forget all history (`reset`).
    ClearEvents,
    /// Forget all state but `meta`, and all history, in one transaction (`reset`): a reset that
    /// fails leaves neither half done.
    Wipe,
    /// Answer once everything queued before has committed.
    Barrier(Ack),
    /// Commit what is queued, answer barriers, and stop.
    Shutdown,
}

impl Job {
    /// Whether the job changes the database (a batch of barriers alone needs no transaction).
    fn writes(&self) -> bool {
        matches!(self, Job::Events(_) | Job::State(_) | Job::ClearEvents | Job::Wipe)
    }
}

pub(crate) fn run(mut conn: Connection, rx: Receiver<Job>, shared: Arc<Shared>, mut checkpointer: Checkpointer) {
    let mut encoder = ChunkEncoder::new();
    // Set by the first batch that fails to commit, and kept: see below.
    let mut failed: Option<StorageError> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let stop = batch.iter().any(|j| matches!(j, Job::Shutdown));
        let writes = batch.iter().any(Job::writes);
        let result = if let Some(e) = &failed {
            // Once a commit has failed, memory holds changes the data dir does not (a key the
            // failed call made, records of calls whose barriers came in a later batch), and a
            // call acknowledged now could rest on them — a ciphertext under a key that is gone
            // after a restart. So nothing more is written or acknowledged until keytrail is
            // restarted on what the data dir holds (as PostgreSQL stops on a failed fsync).
            Err(e.clone())
        } else if !writes {
            // Barriers alone: everything queued before them is in an earlier, committed batch.
            Ok(Effect::default())
        } else {
            let started = Instant::now();
            let result = write_batch(&mut conn, &mut encoder, &batch);
            match &result {
                Ok(effect) => {
                    shared.stats.commit_times.record(started.elapsed());
                    shared.stats.transactions.fetch_add(1, Ordering::Relaxed);
                    if effect.cleared {
                        shared.event_count.store(effect.added, Ordering::SeqCst);
                    } else {
                        shared.event_count.fetch_add(effect.added, Ordering::SeqCst);
                    }
                    shared.stats.events.fetch_add(effect.added, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not commit to the data dir; this call and every later one fail until keytrail is restarted");
                    let failure = StorageError::new(format!(
                        "a commit to the data dir failed ({e}); no call is acknowledged until keytrail is restarted"
                    ));
                    *shared.failure.lock() = Some(failure.to_string());
                    failed = Some(failure);
                }
            }
            result
        };
        let answer = result.map(|_| ());
        for job in batch {
            if let Job::Barrier(ack) = job {
                shared.stats.acks.fetch_add(1, Ordering::Relaxed);
                ack.send(answer.clone());
            }
        }
        // After the answers, so a checkpoint of the writer's own never delays them.
        if answer.is_ok() && writes {
            checkpointer.committed(&conn);
        }
        if stop {
            break;
        }
    }
    checkpointer.stop();
    // Fold the WAL into the database so a clean stop leaves one file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

#[derive(Default)]
struct Effect {
    cleared: bool,
    added: u64,
}

/// One transaction for the whole batch. `BEGIN` and `COMMIT` are cached statements: rusqlite's
/// `Transaction` runs both through `execute_batch`, which prepares them afresh every time (7% of
/// the writer thread's samples under load, perf). Any failure rolls the transaction back, as
/// dropping a `Transaction` would.
fn write_batch(conn: &mut Connection, encoder: &mut ChunkEncoder, batch: &[Job]) -> Result<Effect, StorageError> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = write_jobs(conn, encoder, batch).and_then(|effect| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(effect)
    });
    if result.is_err() && !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "could not roll back a failed commit");
        }
    }
    result
}

/// The batch's statements, inside the transaction `write_batch` opened.
fn write_jobs(tx: &Connection, encoder: &mut ChunkEncoder, batch: &[Job]) -> Result<Effect, StorageError> {
    let mut effect = Effect::default();
    {
        let mut put = tx.prepare_cached(
            "INSERT INTO state(kind, id, body) VALUES (?1, ?2, ?3) ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM state WHERE kind = ?1 AND id = ?2")?;
        // Records wait here until the chunk is full, history is cleared, or the batch ends.
        let mut pending: Vec<&StoredEvent> = Vec::new();
        for job in batch {
            match job {
                Job::Events(events) => {
                    for e in events {
                        if pending.len() == chunk::MAX_RECORDS {
                            effect.added += write_chunk(tx, encoder, &mut pending)?;
                        }
                        pending.push(e);
                    }
                }
                Job::State(ops) => {
                    for op in ops {
                        match op {
                            StateOp::Put { kind, id, body } => put.execute(params![kind, id, body])?,
                            StateOp::Delete { kind, id } => delete.execute(params![kind, id])?,
                        };
                    }
                }
                Job::ClearEvents => clear_events(tx, &mut put, &mut pending, &mut effect)?,
                Job::Wipe => {
                    tx.execute("DELETE FROM state WHERE kind NOT IN ('meta', 'cloudtrail_signing_key')", [])?;
                    clear_events(tx, &mut put, &mut pending, &mut effect)?;
                }
                Job::Barrier(_) | Job::Shutdown => {}
            }
        }
        effect.added += write_chunk(tx, encoder, &mut pending)?;
    }
    Ok(effect)
}

/// Empties history inside the batch's transaction. Records queued before the clear go with it,
/// unwritten; their numbers count.
fn clear_events(
    tx: &Connection,
    put_meta: &mut rusqlite::CachedStatement<'_>,
    pending: &mut Vec<&StoredEvent>,
    effect: &mut Effect,
) -> Result<(), StorageError> {
    let queued = pending.drain(..).map(|e| e.seq as i64).max();
    // Numbering goes on after a reset, also across a restart: the highest number is kept before
    // the events go. (Otherwise MAX(seq) of events is the truth, so commits need not write it:
    // that saved a page per transaction.)
    let written: Option<i64> = tx.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
    if let Some(seq) = written.max(queued) {
        put_meta.execute(params!["meta", "last_seq", seq.to_string().into_bytes()])?;
    }
    tx.execute("DELETE FROM events", [])?;
    tx.execute("DELETE FROM event_chunks", [])?;
    effect.cleared = true;
    effect.added = 0;
    Ok(())
}

/// Writes `pending` (in sequence order) as one chunk and a row per record; empties it and
/// returns how many records it wrote.
fn write_chunk(tx: &Connection, encoder: &mut ChunkEncoder, pending: &mut Vec<&StoredEvent>) -> Result<u64, StorageError> {
    let Some(first) = pending.first() else { return Ok(0) };
    let first_seq = first.seq as i64;
    let body = encoder.encode(pending.iter().map(|e| e.json.as_str()))?;
    tx.prepare_cached("INSERT INTO event_chunks(first_seq, body, codec) VALUES (?1, ?2, ?3)")?.execute(params![
        first_seq,
        body,
        ChunkEncoder::CODEC as i64
    ])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO events(seq, event_id, recipient, region, event_name, epoch, json, chunk, pos) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8)",
    )?;
    for (pos, e) in pending.iter().enumerate() {
        let r = &e.summary;
        insert.execute(params![
            e.seq as i64,
            r.event_id,
            r.recipient_account_id,
            r.aws_region,
            r.event_name,
            e.epoch_seconds,
            first_seq,
            pos as i64
        ])?;
    }
    let written = pending.len() as u64;
    pending.clear();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes `event_chunks` a view, so that clearing history (or writing a chunk) fails.
    const BREAK_CHUNKS: &str = "ALTER TABLE event_chunks RENAME TO chunks_away; CREATE VIEW event_chunks AS SELECT * FROM chunks_away;";
    /// Undoes [`BREAK_CHUNKS`].
    const MEND_CHUNKS: &str = "DROP VIEW event_chunks; ALTER TABLE chunks_away RENAME TO event_chunks;";

    fn put(id: &str) -> Job {
        Job::State(vec![StateOp::Put { kind: "key".into(), id: id.into(), body: b"{}".to_vec() }])
    }

    fn state_ids(conn: &Connection) -> Vec<String> {
        let mut ids = conn.prepare("SELECT id FROM state WHERE kind = 'key' ORDER BY id").unwrap();
        ids.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn a_failed_batch_writes_nothing_and_the_next_commits() {
        let dir = crate::fresh_test_dir("writer-rollback");
        let mut conn = crate::schema::open(&dir.join("keytrail.db")).unwrap();
        crate::schema::migrate(&conn).unwrap();
        let mut encoder = ChunkEncoder::new();
        write_batch(&mut conn, &mut encoder, &[put("a")]).unwrap();

        // A statement of the batch fails after a state row is written: the row goes too, and
        // the connection is out of the transaction.
        // (`event_chunks` made a view, so clearing history fails after `b` is put.)
        conn.execute_batch(BREAK_CHUNKS).unwrap();
        assert!(write_batch(&mut conn, &mut encoder, &[put("b"), Job::ClearEvents]).is_err());
        assert!(conn.is_autocommit());
        conn.execute_batch(MEND_CHUNKS).unwrap();
        assert_eq!(state_ids(&conn), ["a"]);

        // The cached BEGIN and COMMIT still work after the rollback.
        write_batch(&mut conn, &mut encoder, &[put("c"), put("d")]).unwrap();
        assert_eq!(state_ids(&conn), ["a", "c", "d"]);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A call with nothing to write costs no transaction; after a failed commit no call is
    /// acknowledged any more, even once the cause is gone, and nothing more is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failed_commit_nothing_is_acknowledged() {
        let dir = crate::fresh_test_dir("writer-sticky");
        let store = keytrail_kms::store::KeyStore::new();
        let storage = crate::Storage::open(&dir).unwrap();
        let bench_row = |id: &str| crate::Storage::put_op("bench", id, &"x").unwrap();
        storage.commit(&store, &[], vec![bench_row("a")], time::Duration::ZERO).await.unwrap();
        let transactions = storage.stats().transactions.load(Ordering::Relaxed);
        storage.commit(&store, &[], Vec::new(), time::Duration::ZERO).await.unwrap();
        assert_eq!(storage.stats().transactions.load(Ordering::Relaxed), transactions, "a barrier alone is no transaction");

        // Clearing history fails while event_chunks is a view.
        let db = dir.join(crate::schema::DB_FILE);
        let other = Connection::open(&db).unwrap();
        other.execute_batch(BREAK_CHUNKS).unwrap();
        assert!(storage.wipe().await.is_err());
        other.execute_batch(MEND_CHUNKS).unwrap();

        assert!(storage.failure().is_some_and(|f| f.contains("until keytrail is restarted")), "the failure is reported");
        let later = storage.commit(&store, &[], vec![bench_row("b")], time::Duration::ZERO).await;
        assert!(later.unwrap_err().to_string().contains("until keytrail is restarted"));
        assert!(storage.commit(&store, &[], Vec::new(), time::Duration::ZERO).await.is_err());
        storage.close();
        let reopened = crate::Storage::open(&dir).unwrap();
        // The failed reset wiped nothing (its state and history went in one transaction), and
        // nothing after the failure reached the disk.
        let kept: Vec<(String, String)> = reopened.load_kind("bench").unwrap();
        assert_eq!(kept.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a"]);
        reopened.close();
        drop(other);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
