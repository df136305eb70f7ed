//! The database: one file, `<data-dir>/keytrail.db`, in WAL mode with `synchronous=FULL`, so a
//! committed transaction has been fsynced.

use rusqlite::Connection;

use crate::StorageError;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "keytrail.db";
const VERSION: i64 = 2;

/// Opens (creating if needed) the database at `path` and sets it up for durable writes.
pub(crate) fn open(path: &std::path::Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path).map_err(|e| StorageError::new(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::new(format!("{} cannot use write-ahead logging (journal_mode={mode})", path.display())));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16384; PRAGMA journal_size_limit=67108864;")?;
    Ok(conn)
}

/// Creates the tables on first use and checks the format version.
pub(crate) fn migrate(conn: &Connection) -> Result<(), StorageError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(StorageError::new(format!(
            "the data dir was written by a newer keytrail (format {version}; this one reads up to {VERSION})"
        )));
    }
    if version == 1 {
        // Format 1 kept a UNIQUE index on events.event_id (left in place: correct, only slower).
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS event_ids(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL);
             INSERT OR IGNORE INTO event_ids(seq, event_id) SELECT seq, event_id FROM events;
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN;
         -- Generic state: kind is key, alias, grant, trail, meta…; body is the kind's JSON.
         CREATE TABLE IF NOT EXISTS state(
             kind TEXT NOT NULL,
             id   TEXT NOT NULL,
             body BLOB NOT NULL,
             PRIMARY KEY(kind, id)
         ) WITHOUT ROWID;
         -- Event history, in sequence order; json is the record exactly as first serialized.
         -- No index on event_id: event ids are random UUIDs, and an index on them costs one
         -- randomly placed page per record in every commit (measured: a quarter of the writer's
         -- work). Lookups by event id scan event_ids instead, a narrow append-only copy.
         CREATE TABLE IF NOT EXISTS events(
             seq        INTEGER PRIMARY KEY,
             event_id   TEXT NOT NULL,
             recipient  TEXT NOT NULL,
             region     TEXT NOT NULL,
             event_name TEXT NOT NULL,
             epoch      INTEGER NOT NULL,
             json       TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS events_by_recipient ON events(recipient, region, seq);
         CREATE INDEX IF NOT EXISTS events_by_name ON events(event_name, seq);
         CREATE INDEX IF NOT EXISTS events_by_time ON events(epoch);
         -- eventID → seq, scanned (≈ 45 bytes a record: a million records are one 45 MB read).
         CREATE TABLE IF NOT EXISTS event_ids(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL);
         PRAGMA user_version = 2;
         COMMIT;",
    )?;
    Ok(())
}
