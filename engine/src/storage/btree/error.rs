//! Typed errors of the B-tree store: the caller can tell corruption from a
//! full disk from a refused image from a caller mistake.

use crate::storage::disk::DiskError;
use std::path::PathBuf;

/// Why a B-tree operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BTreeError {
    /// The disk refused an operation (see its kind: `NoSpace`, `SyncFailed`, ...).
    #[error("B-tree disk error: {0}")]
    Disk(#[from] DiskError),
    /// A page failed its checksum or structure checks. Nothing read from it
    /// was returned. `page` is the page number (byte offset `page * 4096`).
    #[error("B-tree file {} is corrupt at page {page}: {detail}", .file.display())]
    Corrupt {
        /// The bad page.
        page: u64,
        /// The B-tree file.
        file: PathBuf,
        /// What check failed.
        detail: String,
    },
    /// A snapshot image was truncated, altered or malformed; nothing was
    /// installed.
    #[error("snapshot image refused: {detail}")]
    BadImage {
        /// What check failed.
        detail: String,
    },
    /// A key is longer than `BTreeOptions::max_key_bytes`.
    #[error("key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A value is longer than `BTreeOptions::max_value_bytes`.
    #[error("value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The caller's checkpoint metadata is longer than the meta page holds.
    #[error("user meta of {len} bytes exceeds the limit of {max} bytes")]
    UserMetaTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A tree name is empty or too long.
    #[error("invalid tree name {name:?}: {detail}")]
    InvalidTreeName {
        /// The name given.
        name: String,
        /// Why it is refused.
        detail: &'static str,
    },
    /// The tree does not exist in this checkpoint (or batch).
    #[error("tree {name:?} does not exist")]
    TreeNotFound {
        /// The name asked for.
        name: String,
    },
    /// Creating the tree would exceed `BTreeOptions::max_trees`.
    #[error("too many trees (limit {max})")]
    TooManyTrees {
        /// The configured limit.
        max: usize,
    },
    /// The checkpoint would grow the file past `BTreeOptions::max_file_bytes`.
    /// Nothing was committed; the store is still usable.
    #[error("B-tree file would grow to {needed_bytes} bytes, over the limit of {limit_bytes}")]
    FileLimit {
        /// The size the checkpoint needed.
        needed_bytes: u64,
        /// The configured limit.
        limit_bytes: u64,
    },
    /// The options are inconsistent.
    #[error("invalid B-tree options: {detail}")]
    InvalidOptions {
        /// What is wrong.
        detail: String,
    },
    /// An earlier checkpoint failed after it started syncing; the state on
    /// disk is unknown until the store is reopened (fail-stop, never retry).
    #[error("B-tree store stopped after a failed checkpoint: {detail}; reopen it")]
    Poisoned {
        /// The original failure.
        detail: String,
    },
}

impl BTreeError {
    /// The page number if this error reports a corrupt page.
    pub fn corrupt_page(&self) -> Option<u64> {
        match self {
            BTreeError::Corrupt { page, .. } => Some(*page),
            _ => None,
        }
    }
}

/// Result of a B-tree operation.
pub type BTreeResult<T> = Result<T, BTreeError>;
