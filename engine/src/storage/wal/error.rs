//! Typed WAL errors: corruption (with the file, the offset and the way out),
//! fail-stop after a failed sync, a full disk, misuse.

use crate::storage::disk::{DiskError, DiskErrorKind};
use std::path::PathBuf;

/// What the operator does when a member's log is damaged.
pub const REMEDY: &str = "this member's log cannot be trusted: remove the member \
(keelctl member remove <id>), wipe its --data-dir, add it back (keelctl member add), \
and start it with --initial-cluster-state existing";

/// A WAL failure.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Damage that is not a torn final write: the WAL refuses to open.
    #[error("wal: corrupt record in {} at offset {offset}: {detail}; {REMEDY}", file.display())]
    Corrupt {
        /// The damaged segment.
        file: PathBuf,
        /// Byte offset of the damage in it.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A sync failed earlier; nothing more may be written or trusted.
    #[error(
        "wal: stopped after a failed sync ({0}); restart the member so it recovers from what is durable"
    )]
    FailStopped(String),
    /// The disk is full (creating a segment).
    #[error("wal: no space left on device: {0}")]
    NoSpace(String),
    /// Any other disk failure.
    #[error("wal: {0}")]
    Disk(DiskError),
    /// The caller broke the WAL's contract (non-contiguous append, ...).
    #[error("wal: {0}")]
    Contract(String),
}

impl From<DiskError> for WalError {
    fn from(err: DiskError) -> Self {
        match err.kind {
            DiskErrorKind::NoSpace => WalError::NoSpace(err.to_string()),
            DiskErrorKind::SyncFailed => WalError::FailStopped(err.to_string()),
            _ => WalError::Disk(err),
        }
    }
}

/// Result of a WAL operation.
pub type WalResult<T> = Result<T, WalError>;
