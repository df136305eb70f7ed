//! Durable state for `--data-dir`: everything keytrail knows survives a restart and a crash.
//!
//! - One SQLite database (`keytrail.db`, WAL, `synchronous=FULL`) holds a generic `state` table
//!   (`kind`, `id`, JSON `body`: keys, aliases, grants, trails, `meta`) and the `events` history.
//! - Key material never reaches the database in the clear: each version is wrapped with
//!   AES-256-GCM under the data dir's root key (`root.key`, mode 0600), bound to key ARN and
//!   material id ([`codec`]).
//! - Writes go through one writer thread with group commit ([`writer`]): many calls share one
//!   transaction and one fsync, and each call's response waits for the commit that holds its
//!   state changes and records ([`Storage::commit`]).
//! - History lives on disk only ([`DiskEventLog`]); memory stays flat however long keytrail runs.
//! - One keytrail per data dir: an exclusive lock on `keytrail.lock` ([`lock`]).

mod checkpoint;
mod chunk;
mod codec;
mod commit_times;
mod error;
mod events;
pub mod lock;
pub mod rootkey;
pub mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use keytrail_audit::signing::{PublicKeyInfo, SigningKey};
use keytrail_kms::{Change, KeyStore};
use parking_lot::{Mutex, RwLock};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

pub use commit_times::{CommitSummary, CommitTimes};
pub use error::StorageError;
pub use events::DiskEventLog;
pub use writer::StateOp;

use lock::DirLock;
use rootkey::RootKey;
use writer::{Ack, Job};

/// State kinds kept in the `state` table.
pub mod kinds {
    /// A KMS key (material wrapped).
    pub const KEY: &str = "key";
    /// An alias.
    pub const ALIAS: &str = "alias";
    /// A grant.
    pub const GRANT: &str = "grant";
    /// A trail.
    pub const TRAIL: &str = "trail";
    /// Temporary credentials STS issued (secret wrapped under the root key).
    pub const STS_SESSION: &str = "sts_session";
    /// Bookkeeping: the clock offset, the last sequence number.
    pub const META: &str = "meta";
    /// A CloudTrail digest signing key (private half wrapped). Kept across a reset: it is
    /// CloudTrail's key, and digests already written stay verifiable with it.
    pub const CLOUDTRAIL_SIGNING_KEY: &str = "cloudtrail_signing_key";
}

const META_CLOCK: &str = "clock_offset_ms";
const META_LAST_SEQ: &str = "last_seq";

/// Counters of the writer, for measuring group commit.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed (each is one WAL fsync with `synchronous=FULL`).
    pub transactions: AtomicU64,
    /// Barriers answered (one per committed call).
    pub acks: AtomicU64,
    /// Records written.
    pub events: AtomicU64,
    /// How long each transaction took, `BEGIN` to `COMMIT` returning (its fsync included).
    pub commit_times: CommitTimes,
}

pub(crate) struct Shared {
    dir: PathBuf,
    root: RootKey,
    jobs: RwLock<Option<Sender<Job>>>,
    /// Held while a commit snapshots state and queues it, so snapshots reach the writer in the
    /// order they were taken and the latest one always wins.
    sequencer: Mutex<()>,
    pub(crate) reader: Mutex<Connection>,
    pub(crate) event_count: AtomicU64,
    pub(crate) initial_last_seq: u64,
    pub(crate) stats: Stats,
    last_clock_ms: Mutex<Option<i64>>,
    /// Set by the writer when a commit fails (and kept: nothing is acknowledged after it).
    pub(crate) failure: Mutex<Option<String>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    lock: Mutex<Option<DirLock>>,
}

impl Shared {
    pub(crate) fn send(&self, job: Job) -> bool {
        match self.jobs.read().as_ref() {
            Some(tx) => tx.send(job).is_ok(),
            None => false,
        }
    }
}

/// What was on disk at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Keys loaded into the store.
    pub keys: usize,
    /// Aliases loaded into the store.
    pub aliases: usize,
    /// The persisted mock-clock offset, if any.
    pub clock_offset: Option<time::Duration>,
    /// Records in history.
    pub events: u64,
}

/// A cheap `Clone` handle to one open data dir.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens (creating if needed) the data dir `dir`: takes its lock, opens the database, reads or
    /// creates the root key, and starts the writer thread.
    ///
    /// A data dir holding `root.key` but no database (or a database never written to) is
    /// refused: `root.key` is made only once the database exists, so the database was deleted or
    /// replaced, and starting empty would silently hide every key and record it held.
    pub fn open(dir: &Path) -> Result<Storage, StorageError> {
        create_dir(dir)?;
        let lock = DirLock::acquire(dir)?;
        let db_path = dir.join(schema::DB_FILE);
        let had_root_key = dir.join(rootkey::ROOT_KEY_FILE).exists();
        let gutted = || {
            StorageError::new(format!(
                "data dir {} holds {} but no {} written by keytrail: the database was deleted or replaced, and starting empty would hide \
                 every key and record it held. Restore {} from a backup, or move {} away to start an empty data dir",
                dir.display(),
                rootkey::ROOT_KEY_FILE,
                schema::DB_FILE,
                schema::DB_FILE,
                rootkey::ROOT_KEY_FILE
            ))
        };
        if had_root_key && !db_path.exists() {
            return Err(gutted());
        }
        schema::create_private(dir)?;
        let conn = schema::open(&db_path)?;
        if had_root_key && schema::is_fresh(&conn)? {
            return Err(gutted());
        }
        schema::migrate(&conn)?;
        // Checkpoints run on their own thread (checkpoint.rs), not inside a commit.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        // The writer's page cache is small (2 MiB; readers keep 16): when a B-tree page split
        // reorders the new pages (SQLite's balance_nonroot, common under CreateKey's random ids)
        // it parks a page at the lock-byte page number, 262,145, for a moment; the commit then
        // sees a page past the end of the database and truncates the cache by walking its
        // whole hash table, one slot per cached page. At 16 MiB that walk was ~270 µs, in about
        // half the commits of a CreateKey run (perf, uprobe on pcache1TruncateUnsafe).
        conn.execute_batch("PRAGMA cache_size=-2048;")?;
        let checkpointer = checkpoint::Checkpointer::start(&db_path)?;
        let wrapped_keys: i64 =
            conn.query_row("SELECT COUNT(*) FROM state WHERE kind IN ('key', 'sts_session', 'cloudtrail_signing_key')", [], |r| r.get(0))?;
        let root = RootKey::load_or_create(dir, wrapped_keys == 0)?;
        let event_count: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        let max_seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        let meta_seq = read_meta(&conn, META_LAST_SEQ)?.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        let reader = schema::open(&db_path)?;
        reader.execute_batch("PRAGMA query_only = 1;")?;
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            root,
            jobs: RwLock::new(Some(tx)),
            sequencer: Mutex::new(()),
            reader: Mutex::new(reader),
            event_count: AtomicU64::new(event_count.max(0) as u64),
            initial_last_seq: max_seq.max(meta_seq).max(0) as u64,
            stats: Stats::default(),
            last_clock_ms: Mutex::new(None),
            failure: Mutex::new(None),
            writer: Mutex::new(None),
            lock: Mutex::new(Some(lock)),
        });
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("keytrail-storage".into())
            .spawn(move || writer::run(conn, rx, thread_shared, checkpointer))
            .map_err(|e| StorageError::new(format!("cannot start the storage writer: {e}")))?;
        *shared.writer.lock() = Some(handle);
        Ok(Storage { shared })
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Loads every stored key and alias into `store` and turns on its change tracking. Returns
    /// what was found, including the persisted clock offset for `Clock::restore_offset`.
    pub fn load_into(&self, store: &KeyStore) -> Result<Loaded, StorageError> {
        let mut loaded = Loaded::default();
        {
            let conn = self.shared.reader.lock();
            let mut stmt = conn.prepare("SELECT kind, body FROM state WHERE kind IN ('key', 'alias') ORDER BY kind DESC")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let kind: String = row.get(0)?;
                let body: Vec<u8> = row.get(1)?;
                if kind == kinds::KEY {
                    store.insert_key(codec::decode_key(&self.shared.root, &body)?);
                    loaded.keys += 1;
                } else {
                    store.put_alias(codec::decode_alias(&body)?);
                    loaded.aliases += 1;
                }
            }
            if let Some(ms) = read_meta(&conn, META_CLOCK)?.and_then(|s| s.parse::<i64>().ok()) {
                loaded.clock_offset = Some(time::Duration::milliseconds(ms));
                *self.shared.last_clock_ms.lock() = Some(ms);
            }
        }
        loaded.events = self.shared.event_count.load(Ordering::SeqCst);
        store.track_changes(true);
        // What was just loaded is already on disk.
        let _ = store.take_dirty();
        Ok(loaded)
    }

    /// Every stored object of `kind` (`grant`, `trail`, …) as `(id, value)`, for the engineer
    /// who owns that kind to load at start-up.
    pub fn load_kind<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<(String, T)>, StorageError> {
        let conn = self.shared.reader.lock();
        let mut stmt = conn.prepare("SELECT id, body FROM state WHERE kind = ?1 ORDER BY id")?;
        let mut rows = stmt.query([kind])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let body: Vec<u8> = row.get(1)?;
            let value = serde_json::from_slice(&body).map_err(|e| StorageError::new(format!("stored {kind} {id} does not decode: {e}")))?;
            out.push((id, value));
        }
        Ok(out)
    }

    /// A put of any serializable object (grants, trails): pass it to [`Storage::commit`].
    pub fn put_op<T: Serialize>(kind: &str, id: &str, value: &T) -> Result<StateOp, StorageError> {
        let body = serde_json::to_vec(value).map_err(|e| StorageError::new(format!("cannot encode {kind} {id}: {e}")))?;
        Ok(StateOp::Put { kind: kind.into(), id: id.into(), body })
    }

    /// The put that stores a CloudTrail digest signing key, its private half wrapped under the
    /// root key (bound to the key's id); pass it to [`Storage::commit`].
    pub fn signing_key_op(&self, key: &SigningKey) -> Result<StateOp, StorageError> {
        let id = signing_key_id(key.info());
        let wrapped = self.shared.root.wrap(&signing_key_aad(&id), key.pkcs8())?;
        let stored = StoredSigningKey { info: key.info().clone(), wrapped: hex::encode(wrapped) };
        Self::put_op(kinds::CLOUDTRAIL_SIGNING_KEY, &id, &stored)
    }

    /// Every stored digest signing key, unwrapped.
    pub fn load_signing_keys(&self) -> Result<Vec<SigningKey>, StorageError> {
        let mut out = Vec::new();
        for (id, stored) in self.load_kind::<StoredSigningKey>(kinds::CLOUDTRAIL_SIGNING_KEY)? {
            let wrapped = hex::decode(&stored.wrapped).map_err(|_| StorageError::new(format!("stored signing key {id} is damaged")))?;
            let pkcs8 = self.shared.root.unwrap(&signing_key_aad(&id), &wrapped)?;
            out.push(SigningKey::from_pkcs8(stored.info, pkcs8).map_err(StorageError::new)?);
        }
        Ok(out)
    }

    /// A delete of `(kind, id)`: pass it to [`Storage::commit`].
    pub fn delete_op(kind: &str, id: &str) -> StateOp {
        StateOp::Delete { kind: kind.into(), id: id.into() }
    }

    /// `secret` wrapped (AES-256-GCM) under the data dir's root key, bound to `aad`: how other
    /// secrets than key material (STS sessions' secret access keys) reach the database.
    pub fn wrap_secret(&self, aad: &[u8], secret: &[u8]) -> Result<Vec<u8>, StorageError> {
        self.shared.root.wrap(aad, secret)
    }

    /// The secret [`Storage::wrap_secret`] wrapped with the same `aad`.
    pub fn unwrap_secret(&self, aad: &[u8], wrapped: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, StorageError> {
        self.shared.root.unwrap(aad, wrapped)
    }

    /// Commits `ops` (puts and deletes of other kinds) and waits, for code that may block (start-up).
    pub fn apply_blocking(&self, store: &KeyStore, ops: Vec<StateOp>, clock_offset: time::Duration) -> Result<(), StorageError> {
        let (tx, done) = std::sync::mpsc::channel();
        self.queue(store, &[], ops, clock_offset, Ack::Blocking(tx))?;
        done.recv().unwrap_or_else(|_| Err(closed()))
    }

    /// The event history of this data dir, for `Recorder::with_log`.
    pub fn event_log(&self) -> Arc<DiskEventLog> {
        Arc::new(DiskEventLog { shared: self.shared.clone() })
    }

    /// Makes a call durable: snapshots every key and alias in `changes` and every one `store`
    /// noted as changed, queues them with `extra` (other kinds, through [`Storage::put_op`]) and
    /// the clock offset, and returns once the transaction holding them — and every record
    /// appended before — has committed. Call it after the call's records went to the recorder.
    pub async fn commit(
        &self,
        store: &KeyStore,
        changes: &[Change],
        extra: Vec<StateOp>,
        clock_offset: time::Duration,
    ) -> Result<(), StorageError> {
        let (tx, done) = oneshot::channel();
        self.queue(store, changes, extra, clock_offset, Ack::Async(tx))?;
        done.await.unwrap_or_else(|_| Err(closed()))
    }

    /// [`Storage::commit`] for code that may block (start-up): everything `store` noted as changed.
    pub fn flush_blocking(&self, store: &KeyStore, clock_offset: time::Duration) -> Result<(), StorageError> {
        let (tx, done) = std::sync::mpsc::channel();
        self.queue(store, &[], Vec::new(), clock_offset, Ack::Blocking(tx))?;
        done.recv().unwrap_or_else(|_| Err(closed()))
    }

    fn queue(
        &self,
        store: &KeyStore,
        changes: &[Change],
        extra: Vec<StateOp>,
        clock_offset: time::Duration,
        ack: Ack,
    ) -> Result<(), StorageError> {
        let _order = self.shared.sequencer.lock();
        let mut ops = extra;
        let mut seen = std::collections::HashSet::new();
        for change in changes.iter().cloned().chain(store.take_dirty()) {
            let change = match change {
                // Grants live on their key: store the key.
                Change::Grant(key_arn, _) => Change::Key(key_arn),
                other => other,
            };
            if seen.insert(change.clone()) {
                ops.push(self.snapshot(store, &change)?);
            }
        }
        let ms = offset_ms(clock_offset);
        let mut last = self.shared.last_clock_ms.lock();
        if *last != Some(ms) {
            ops.push(StateOp::Put { kind: kinds::META.into(), id: META_CLOCK.into(), body: ms.to_string().into_bytes() });
            *last = Some(ms);
        }
        drop(last);
        if !ops.is_empty() && !self.shared.send(Job::State(ops)) {
            return Err(closed());
        }
        if !self.shared.send(Job::Barrier(ack)) {
            return Err(closed());
        }
        Ok(())
    }

    /// True when `clock_offset` differs from the last one persisted (so a clock move that set
    /// nothing off still gets committed).
    pub fn clock_changed(&self, clock_offset: time::Duration) -> bool {
        *self.shared.last_clock_ms.lock() != Some(offset_ms(clock_offset))
    }

    /// The stored form of a key or alias now: a put, or a delete if it is gone.
    fn snapshot(&self, store: &KeyStore, change: &Change) -> Result<StateOp, StorageError> {
        Ok(match change {
            Change::Key(arn) | Change::Grant(arn, _) => match store.key(arn) {
                Some(key) => StateOp::Put { kind: kinds::KEY.into(), id: arn.clone(), body: codec::encode_key(&self.shared.root, key)? },
                None => Self::delete_op(kinds::KEY, arn),
            },
            Change::Alias(arn) => match store.alias(arn) {
                Some(alias) => StateOp::Put { kind: kinds::ALIAS.into(), id: arn.clone(), body: codec::encode_alias(&alias)? },
                None => Self::delete_op(kinds::ALIAS, arn),
            },
        })
    }

    /// Wipes all state but `meta` and the digest signing keys (keys, aliases, grants, trails)
    /// and the history; returns once
    /// that has committed. For `reset`; the caller clears memory and re-seeds.
    pub async fn wipe(&self) -> Result<(), StorageError> {
        let (tx, done) = oneshot::channel();
        {
            let _order = self.shared.sequencer.lock();
            if !(self.shared.send(Job::Wipe) && self.shared.send(Job::Barrier(Ack::Async(tx)))) {
                return Err(closed());
            }
        }
        done.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Why the data dir stopped taking commits, once one has failed (`/_keytrail/health` says so:
    /// every call fails until keytrail is restarted).
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }

    /// Writer counters (transactions = fsyncs, acks = calls committed).
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Commits what is queued, stops the writer, and releases the data dir. Later commits fail.
    pub fn close(&self) {
        let sender = self.shared.jobs.write().take();
        if let Some(tx) = sender {
            let _ = tx.send(Job::Shutdown);
        }
        if let Some(handle) = self.shared.writer.lock().take() {
            let _ = handle.join();
        }
        self.shared.lock.lock().take();
    }
}

/// A digest signing key as stored: its public facts and its wrapped PKCS #8 private key (hex).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSigningKey {
    info: PublicKeyInfo,
    wrapped: String,
}

fn signing_key_id(info: &PublicKeyInfo) -> String {
    format!("{}/{}", info.region, info.fingerprint)
}

fn signing_key_aad(id: &str) -> Vec<u8> {
    let mut aad = kinds::CLOUDTRAIL_SIGNING_KEY.as_bytes().to_vec();
    aad.push(0);
    aad.extend_from_slice(id.as_bytes());
    aad
}

fn offset_ms(offset: time::Duration) -> i64 {
    offset.whole_milliseconds().clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn closed() -> StorageError {
    StorageError::new("storage is closed")
}

fn read_meta(conn: &Connection, id: &str) -> Result<Option<String>, StorageError> {
    let mut stmt = conn.prepare_cached("SELECT body FROM state WHERE kind = 'meta' AND id = ?1")?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => {
            let body: Vec<u8> = row.get(0)?;
            Ok(Some(String::from_utf8_lossy(&body).into_owned()))
        }
        None => Ok(None),
    }
}

/// A fresh, empty directory for one test under the system temp dir, named `name` and the
/// process id (so runs side by side do not meet).
#[cfg(test)]
pub(crate) fn fresh_test_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn create_dir(dir: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StorageError::new(format!("cannot create data dir {}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A digest signing key is stored wrapped (its private key never in the database in the
    /// clear), loads back the same, survives a reset, and makes the root key required.
    #[tokio::test]
    async fn digest_signing_keys_are_wrapped_and_kept_across_a_reset() {
        let dir = fresh_test_dir("signing-keys");
        let key = SigningKey::generate("us-east-1", 100, 200).unwrap();
        {
            let storage = Storage::open(&dir).unwrap();
            let op = storage.signing_key_op(&key).unwrap();
            storage.commit(&KeyStore::new(), &[], vec![op], time::Duration::ZERO).await.unwrap();
            storage.wipe().await.unwrap();
            storage.close();
        }
        let db = std::fs::read(dir.join(schema::DB_FILE)).unwrap();
        let wal = std::fs::read(dir.join(format!("{}-wal", schema::DB_FILE))).unwrap_or_default();
        let private = key.pkcs8();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        for bytes in [&db, &wal] {
            for chunk in private.chunks_exact(32).skip(1) {
                assert!(!contains(bytes, chunk), "no piece of the private key in the clear");
                assert!(!contains(bytes, hex::encode(chunk).as_bytes()), "nor hex-encoded");
            }
        }
        let storage = Storage::open(&dir).unwrap();
        let loaded = storage.load_signing_keys().unwrap();
        assert_eq!(loaded.len(), 1, "a reset keeps CloudTrail's keys");
        assert_eq!(loaded[0].info(), key.info());
        assert_eq!(loaded[0].sign(b"m").unwrap(), key.sign(b"m").unwrap());
        storage.close();
        std::fs::remove_file(dir.join(rootkey::ROOT_KEY_FILE)).unwrap();
        let err = Storage::open(&dir).unwrap_err();
        assert!(err.0.contains("missing"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
