//! Why storage could not open, load or write.

/// A storage failure. The message names the file or step and never contains secret bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError(pub String);

impl StorageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        StorageError(message.into())
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageError {}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError(format!("database error: {e}"))
    }
}
