//! `StoreError`: every way a store operation can fail; sled and I/O errors are translated here.

use thiserror::Error;

/// An error from the store. sled's and the file system's errors never cross this boundary
/// untranslated, so callers depend on this enum alone.
#[derive(Error, Debug)]
pub enum StoreError {
    /// The stream is not at the version the caller expected (optimistic concurrency).
    #[error(
        "version conflict on stream {stream}: expected {expected}, stream is at version {actual}"
    )]
    Conflict {
        stream: String,
        expected: String,
        actual: u64,
    },
    /// The idempotency key was used before for a different command.
    #[error("idempotency key {key:?} was already used for a different command")]
    IdempotencyConflict { key: String },
    /// A stored record cannot be read back as it was written.
    #[error("corrupt record at position {position}: {reason}")]
    Corrupt { position: u64, reason: String },
    /// The request is malformed (empty append, bad stream name, over a limit, …).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The database or the file system failed.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// The store's writer has stopped; nothing more can be appended.
    #[error("the store is closed")]
    Closed,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}
