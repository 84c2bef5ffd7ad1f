//! Why a backup could not be read, checked or restored.

/// A backup operation's failure. The messages are etcdctl's where etcdctl
/// has one for the same case (tools and people match on them).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file has no hash trailer and the caller did not skip the check.
    #[error("snapshot missing hash but --skip-hash-check=false")]
    MissingHash,
    /// The hash trailer does not match the content: the file was torn or
    /// altered.
    #[error("expected sha256 {expected}, got {got}")]
    HashMismatch {
        /// The trailer's hash, as Go prints bytes.
        expected: String,
        /// The content's hash, likewise.
        got: String,
    },
    /// The content is not a Keel snapshot, or is damaged.
    #[error("snapshot file integrity check failed: {0}")]
    BadImage(String),
    /// `restore` never writes over existing data.
    #[error("data-dir {0:?} exists")]
    DataDirExists(String),
    /// `restore` never writes over an existing raft log directory
    /// (`--wal-dir`).
    #[error("wal-dir {0:?} exists")]
    WalDirExists(String),
    /// The new membership is not usable.
    #[error("{0}")]
    Config(String),
}

impl BackupError {
    pub(crate) fn io(what: &str, err: impl std::fmt::Display) -> BackupError {
        BackupError::Io(format!("{what}: {err}"))
    }
}

/// `bytes` as Go's `%v` prints a byte slice: `[1 2 255]`.
pub(crate) fn go_bytes(bytes: &[u8]) -> String {
    let items: Vec<String> = bytes.iter().map(u8::to_string).collect();
    format!("[{}]", items.join(" "))
}
