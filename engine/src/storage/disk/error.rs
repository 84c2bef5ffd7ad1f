//! Typed disk errors: callers tell a full disk from a failed sync from a bug.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What kind of failure a disk operation hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskErrorKind {
    /// The file or directory does not exist.
    NotFound,
    /// A file was to be created but already exists.
    AlreadyExists,
    /// The device is full (ENOSPC).
    NoSpace,
    /// `sync_data` failed: written data may be lost. Fail-stop.
    SyncFailed,
    /// A read went past the end of the file.
    UnexpectedEof,
    /// The handle belongs to a process that has since crashed (simulation).
    StaleHandle,
    /// Any other I/O error.
    Io,
}

/// A failed disk operation: what was attempted, on which path, and why.
#[derive(Debug)]
pub struct DiskError {
    /// The class of failure.
    pub kind: DiskErrorKind,
    /// The operation that failed ("open", "write", "sync", ...).
    pub op: &'static str,
    /// The file or directory involved.
    pub path: PathBuf,
    /// A human-readable cause.
    pub detail: String,
}

/// Result of a disk operation.
pub type DiskResult<T> = Result<T, DiskError>;

impl DiskError {
    /// Builds an error of `kind` for `op` on `path`.
    pub fn new(
        kind: DiskErrorKind,
        op: &'static str,
        path: &Path,
        detail: impl Into<String>,
    ) -> Self {
        DiskError {
            kind,
            op,
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }

    /// Classifies an `io::Error` from the OS.
    pub fn from_io(op: &'static str, path: &Path, err: io::Error) -> Self {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => DiskErrorKind::NotFound,
            io::ErrorKind::AlreadyExists => DiskErrorKind::AlreadyExists,
            io::ErrorKind::UnexpectedEof => DiskErrorKind::UnexpectedEof,
            io::ErrorKind::StorageFull => DiskErrorKind::NoSpace,
            _ if err.raw_os_error() == Some(libc::ENOSPC) => DiskErrorKind::NoSpace,
            _ if op == "sync" => DiskErrorKind::SyncFailed,
            _ => DiskErrorKind::Io,
        };
        DiskError::new(kind, op, path, err.to_string())
    }
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), self.detail)
    }
}

impl std::error::Error for DiskError {}
