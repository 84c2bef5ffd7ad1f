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
pub mod transport;

pub use config::NodeConfig;
pub use handle::{ChangesQuery, NodeHandle, NodeStatus};
pub use metrics::NodeMetrics;
pub use start::{Bootstrap, NodeOptions, db_path, start_node, wal_dir};
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
}
