//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so every few
//! thousand records one unlucky group of calls waited for the whole WAL to be copied into the
//! database and fsynced: p99 at 32 connections rose to 40–100 ms (BENCHMARKS.md). Instead the
//! writer's connection has automatic checkpoints off, and this thread, on its own connection,
//! runs `PASSIVE` checkpoints when the writer says enough has been committed. A passive
//! checkpoint never blocks the writer. SQLite restarts the WAL from its start (instead of
//! letting it grow) only when a write transaction begins after everything in it was copied,
//! and the writer is nearly always inside a transaction, so this thread alone never wins that
//! race (measured: the WAL grew to 2 GB in 40 s). So when this thread has caught up, the writer,
//! between two transactions, copies the few frames committed since (a small checkpoint of its
//! own) and its next transaction restarts the WAL. Durability does not change: a commit is
//! durable once its WAL frames are fsynced, checkpointed or not.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::{schema, StorageError};

/// Commits between two checkpoint requests (each commit is one group of calls). Measured with
/// `scripts/bench`'s Encrypt at 32 connections over 20 s: every 64 commits, 5,200 calls/s and
/// p99 30 ms (checkpoint writes and fsyncs of the database file stall the WAL's fsyncs); every
/// 512, 6,500/s and p99 10 ms with the WAL near 64 MB (pages written many times between two
/// checkpoints are copied once); every 2,048, slower again with a 190 MB WAL; never, 6,600/s.
const COMMITS_PER_CHECKPOINT: u32 = 512;

/// The writer's end: counts commits and wakes the checkpoint thread.
pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    commits: u32,
    /// Set by the thread when its last pass copied the whole WAL.
    caught_up: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Opens a second connection to the database at `path` and starts the checkpoint thread.
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, StorageError> {
        let conn = schema::open(path)?;
        // One pending wake-up is enough: requests that arrive while one waits are merged.
        let (wake, requests) = sync_channel(1);
        let caught_up = Arc::new(AtomicBool::new(false));
        let flag = caught_up.clone();
        let thread = std::thread::Builder::new()
            .name("keytrail-checkpoint".into())
            .spawn(move || run(conn, requests, flag))
            .map_err(|e| StorageError::new(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { wake: Some(wake), thread: Some(thread), commits: 0, caught_up })
    }

    /// Called by the writer after each commit, outside any transaction, on its connection.
    pub(crate) fn committed(&mut self, writer: &rusqlite::Connection) {
        if self.caught_up.swap(false, Ordering::AcqRel) {
            if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next one will retry");
            }
        }
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            if let Some(wake) = &self.wake {
                let _ = wake.try_send(());
            }
        }
    }

    /// Stops the thread and waits for a checkpoint in progress to end, so the writer's final
    /// `TRUNCATE` checkpoint does not meet it.
    pub(crate) fn stop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Passes of one checkpoint request at most: each pass copies what the writer committed
/// during the one before, which is little, so a few passes catch up.
const MAX_PASSES: usize = 32;

fn run(conn: rusqlite::Connection, requests: Receiver<()>, caught_up: Arc<AtomicBool>) {
    while requests.recv().is_ok() {
        // Copy until nothing is left (or give up until the next request), so that the writer's
        // finishing checkpoint, which lets the WAL restart, has only a few frames to copy.
        for _ in 0..MAX_PASSES {
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))) {
                Ok((in_log, copied)) if copied < in_log => continue,
                Ok(_) => {
                    caught_up.store(true, Ordering::Release);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one will retry");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use keytrail_kms::store::KeyStore;

    use crate::Storage;

    /// Thousands of small commits, each its own transaction: with automatic checkpoints off and
    /// nothing else, the WAL would hold every one of them (tens of MB); with this module it is
    /// copied into the database and restarted, and everything committed is still there after a
    /// reopen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wal_stays_small_under_many_commits_and_nothing_is_lost() {
        let dir = crate::fresh_test_dir("checkpoint");
        let store = KeyStore::new();
        let body = "x".repeat(3000);
        let commits = 3000;
        let storage = Storage::open(&dir).unwrap();
        let mut largest_wal = 0;
        for i in 0..commits {
            let put = Storage::put_op("bench", &format!("{i:05}"), &body).unwrap();
            storage.commit(&store, &[], vec![put], time::Duration::ZERO).await.unwrap();
            let wal = std::fs::metadata(dir.join("keytrail.db-wal")).map(|m| m.len()).unwrap_or(0);
            largest_wal = largest_wal.max(wal);
        }
        // Unchecked, the WAL grows to ~48 MB here (measured); checkpointed every 512 commits it
        // stays near a sixth of that.
        assert!(largest_wal < 16 * 1024 * 1024, "WAL grew to {largest_wal} bytes over {commits} commits");
        storage.close();
        let reopened = Storage::open(&dir).unwrap();
        let kept: Vec<(String, String)> = reopened.load_kind("bench").unwrap();
        assert_eq!(kept.len(), commits);
        reopened.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
