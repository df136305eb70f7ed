//! The database: one file, `<data-dir>/keytrail.db`, in WAL mode with `synchronous=FULL`, so a
//! committed transaction has been fsynced.

use rusqlite::Connection;

use crate::StorageError;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "keytrail.db";
const VERSION: i64 = 4;

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

/// Creates the tables on first use, checks the format version, and brings older formats to
/// this one in place (no record is rewritten).
pub(crate) fn migrate(conn: &Connection) -> Result<(), StorageError> {
    let mut version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(StorageError::new(format!(
            "the data dir was written by a newer keytrail (format {version}; this one reads up to {VERSION})"
        )));
    }
    if version == 1 || version == 2 {
        // Formats 1 and 2 kept each record's JSON inline, three indexes on events and (format 2)
        // an event_ids copy. Their records stay as they are (chunk NULL: the JSON is inline);
        // new ones go into chunks. Format 1's UNIQUE constraint on event_id cannot be dropped
        // without rebuilding the table: it stays (correct, only slower to write).
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE events ADD COLUMN chunk INTEGER;
             ALTER TABLE events ADD COLUMN pos INTEGER;
             CREATE TABLE IF NOT EXISTS event_chunks(first_seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
             DROP INDEX IF EXISTS events_by_recipient;
             DROP INDEX IF EXISTS events_by_name;
             DROP INDEX IF EXISTS events_by_time;
             DROP TABLE IF EXISTS event_ids;
             PRAGMA user_version = 3;
             COMMIT;",
        )?;
        version = 3;
    }
    if version == 3 {
        // Format 3 deflated every chunk; format 4 writes LZ4 and says so per chunk (chunk.rs).
        // The column's default marks the chunks already there as deflate.
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE event_chunks ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
             PRAGMA user_version = 4;
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
         -- Event history, in sequence order: the columns queries filter on, and where the record
         -- is: line pos of event_chunks(chunk) (chunk.rs), or, for records written before
         -- format 3, json itself ('' otherwise).
         -- No index: each index costs a page per commit, and a commit is what every call under
         -- --data-dir waits for. Queries walk seq (newest first, stopping at their limit); rows
         -- are narrow (~90 bytes), so a scan of a million is a ~90 MB read.
         CREATE TABLE IF NOT EXISTS events(
             seq        INTEGER PRIMARY KEY,
             event_id   TEXT NOT NULL,
             recipient  TEXT NOT NULL,
             region     TEXT NOT NULL,
             event_name TEXT NOT NULL,
             epoch      INTEGER NOT NULL,
             json       TEXT NOT NULL,
             chunk      INTEGER,
             pos        INTEGER
         );
         -- The records of one transaction (at most chunk::MAX_RECORDS), keyed by the first one's
         -- seq, compressed with codec (chunk::Codec: 0 deflate, 1 LZ4).
         CREATE TABLE IF NOT EXISTS event_chunks(first_seq INTEGER PRIMARY KEY, body BLOB NOT NULL, codec INTEGER NOT NULL DEFAULT 0);
         PRAGMA user_version = 4;
         COMMIT;",
    )?;
    Ok(())
}
