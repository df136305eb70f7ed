//! One keytrail per data dir: an exclusive `flock` on `<data-dir>/keytrail.lock`, which also
//! names the holder's pid so the second instance can say who has it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use fs2::FileExt;

use crate::StorageError;

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "keytrail.lock";

/// Held for as long as this process owns the data dir; released when dropped (or at exit, also
/// after `kill -9`, since the kernel drops `flock`s with the file).
#[derive(Debug)]
pub(crate) struct DirLock {
    file: File,
}

impl DirLock {
    /// Takes the lock or says which process holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StorageError::new(format!("cannot open {}: {e}", path.display())))?;
        if file.try_lock_exclusive().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let pid = holder.trim();
            let pid = if pid.is_empty() { "unknown" } else { pid };
            return Err(StorageError::new(format!("data dir {} is in use by another keytrail (pid {pid})", dir.display())));
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .and_then(|_| file.flush())
            .map_err(|e| StorageError::new(format!("cannot write {}: {e}", path.display())))?;
        Ok(DirLock { file })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}
