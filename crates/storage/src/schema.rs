//! The database: one file, `<data-dir>/keytrail.db`, in WAL mode with `synchronous=FULL`, so a
//! committed transaction has been fsynced.

use rusqlite::Connection;

use crate::StorageError;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "keytrail.db";
const VERSION: i64 = 5;

/// Generic state: kind is key, alias, grant, trail, meta…; body is the kind's JSON. A rowid
/// table (format 5; see `migrate`): a row of ~1 KB stays whole in its table page, and the
/// (kind, id) key is a narrow index of its own.
const STATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS state(
             kind TEXT NOT NULL,
             id   TEXT NOT NULL,
             body BLOB NOT NULL,
             PRIMARY KEY(kind, id)
         );";

/// Creates the database file readable by its owner only (0600) when it does not exist, and
/// tightens the database and its WAL and shared-memory files to 0600 when an older keytrail left
/// them looser. SQLite gives the WAL and shm files it creates the database file's mode, so they
/// are owner-only too. (Records name every caller; keys are wrapped, but their metadata is not.)
pub(crate) fn create_private(dir: &std::path::Path) -> Result<(), StorageError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let db = dir.join(DB_FILE);
    if !db.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&db)
            .map_err(|e| StorageError::new(format!("cannot create {}: {e}", db.display())))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("{DB_FILE}{suffix}"));
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| StorageError::new(format!("cannot make {} readable by its owner only: {e}", path.display())))?;
            }
        }
    }
    Ok(())
}

/// Whether the database has never been set up by keytrail (no format version, no tables).
pub(crate) fn is_fresh(conn: &Connection) -> Result<bool, StorageError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(version == 0 && tables == 0)
}

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
/// this one in place (no record of history is rewritten; format 5 copies the state rows).
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
        version = 4;
    }
    if version == 4 {
        // Format 4's state was a WITHOUT ROWID table: a key's ~1 KB row is over an index page's
        // local limit (~1,000 bytes of a 4 KiB page), so every row spilled to an overflow page
        // and every comparison on the way down the tree (four rows a page, interior pages
        // too) read one back. With ~20,000 keys the writer spent ~125 µs of CPU per CreateKey;
        // with format 5's state, a rowid table (rows whole in table pages, (kind, id) a narrow
        // index of its own), ~72 µs (perf, CreateKey at 32 connections; BENCHMARKS.md).
        conn.execute_batch(&format!(
            "BEGIN;
             ALTER TABLE state RENAME TO state_format_4;
             {STATE_TABLE}
             INSERT INTO state(kind, id, body) SELECT kind, id, body FROM state_format_4;
             DROP TABLE state_format_4;
             PRAGMA user_version = 5;
             COMMIT;"
        ))?;
        return Ok(());
    }
    conn.execute_batch(&format!(
        "BEGIN;
         {STATE_TABLE}
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
         PRAGMA user_version = 5;
         COMMIT;"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-4 state table (WITHOUT ROWID) becomes a rowid table with every row kept, and
    /// upserts on (kind, id) work on it as before.
    #[test]
    fn format_4_state_becomes_a_rowid_table_with_every_row() {
        let dir = crate::fresh_test_dir("schema-5");
        let conn = open(&dir.join(DB_FILE)).unwrap();
        migrate(&conn).unwrap();
        // Turn the fresh database back into format 4's state table, with rows spilling pages.
        conn.execute_batch(
            "DROP TABLE state;
             CREATE TABLE state(kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;
             PRAGMA user_version = 4;",
        )
        .unwrap();
        let rows: Vec<(String, String, Vec<u8>)> =
            (0..300).map(|i| (["key", "alias", "meta"][i % 3].to_string(), format!("id-{i:04}"), vec![i as u8; 900 + i])).collect();
        for (kind, id, body) in &rows {
            conn.execute("INSERT INTO state VALUES (?1, ?2, ?3)", rusqlite::params![kind, id, body]).unwrap();
        }

        migrate(&conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, VERSION);
        let sql: String = conn.query_row("SELECT sql FROM sqlite_master WHERE name = 'state'", [], |r| r.get(0)).unwrap();
        assert!(!sql.to_uppercase().contains("WITHOUT ROWID"), "{sql}");
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 3, "state, events, event_chunks: the old table is gone");
        let kept: Vec<(String, String, Vec<u8>)> = {
            let mut stmt = conn.prepare("SELECT kind, id, body FROM state ORDER BY id").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(kept, rows);
        // (kind, id) is still the key: an upsert replaces, a new pair adds.
        let upsert = "INSERT INTO state(kind, id, body) VALUES (?1, ?2, ?3) ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body";
        conn.execute(upsert, rusqlite::params!["key", "id-0000", b"new".to_vec()]).unwrap();
        conn.execute(upsert, rusqlite::params!["alias", "id-0000", b"other".to_vec()]).unwrap();
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM state", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 301);
        let body: Vec<u8> = conn.query_row("SELECT body FROM state WHERE kind = 'key' AND id = 'id-0000'", [], |r| r.get(0)).unwrap();
        assert_eq!(body, b"new");
        // Opening it again changes nothing.
        migrate(&conn).unwrap();
        let again: i64 = conn.query_row("SELECT COUNT(*) FROM state", [], |r| r.get(0)).unwrap();
        assert_eq!(again, 301);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
