//! `ProjectionError`: what can go wrong feeding read models from the log.

use thiserror::Error;

#[derive(Error, Debug)]
pub enum ProjectionError {
    /// Reading the log failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A snapshot could not be written or read back.
    #[error("snapshot: {0}")]
    Snapshot(String),
}
