//! The raft node: drives raft-rs's RawNode over the raft log and the state
//! machine, answers clients on the member that accepted their request.

mod apply;
mod backup;
pub(crate) mod client;
pub mod config;
mod defrag;
mod driver;
pub mod handle;
pub mod ids;
mod lease_clock;
mod leases;
pub mod metrics;
pub mod pending;
pub mod proposal;
mod raft_logger;
pub mod read_queue;
mod snapshot;
mod standalone;
mod start;
mod tokens;
pub mod transport;

pub use config::NodeConfig;
pub use handle::{ChangesQuery, Need, NodeHandle, NodeStatus};
pub use metrics::NodeMetrics;
pub use start::{Bootstrap, NodeOptions, check_wal_dir, db_path, start_node, wal_dir};
pub use transport::Transport;

/// Why a node stopped: its storage can no longer be trusted, or raft
/// refused something that cannot be refused.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Stored data does not decode or contradicts itself.
    #[error("corrupt member data: {0}")]
    Corrupt(String),
    /// A disk operation failed (including a failed sync: fail-stop).
    #[error("storage failure: {0}")]
    Storage(String),
    /// A snapshot received from the leader was refused.
    #[error("bad snapshot: {0}")]
    BadSnapshot(String),
    /// raft-rs reported an error.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// The raft log is not where the options say (etcd's `--wal-dir`).
    #[error(transparent)]
    WalDir(#[from] WalDirError),
}

/// Why a member refuses to start with its raft log directory: the data
/// directory and `--wal-dir` do not describe the same member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalDirError {
    /// The data directory holds its raft log in the default place, but a
    /// directory of its own was given.
    #[error(
        "the data directory {} has its raft log in {}, but --wal-dir is {}: move the log \
         there, or start without --wal-dir",
        data_dir.display(), found.display(), wal_dir.display()
    )]
    LeftInDataDir {
        /// The data directory.
        data_dir: std::path::PathBuf,
        /// The log found inside it.
        found: std::path::PathBuf,
        /// The raft log directory given.
        wal_dir: std::path::PathBuf,
    },
    /// The data directory was initialised, but there is no raft log where
    /// the options say (it was started with another `--wal-dir`, or the log
    /// was lost).
    #[error(
        "the data directory {} was initialised but {} holds no raft log: {}",
        data_dir.display(), wal_dir.display(),
        if *dedicated {
            "give the --wal-dir it was started with, or start without --wal-dir if its log \
             is in the data directory"
        } else {
            "give the --wal-dir it was started with"
        }
    )]
    Missing {
        /// The data directory.
        data_dir: std::path::PathBuf,
        /// Where the raft log was looked for.
        wal_dir: std::path::PathBuf,
        /// Whether that is a directory of its own (`--wal-dir`).
        dedicated: bool,
    },
}
