//! The raft node: drives raft-rs's RawNode over the raft log and the state
//! machine, answers clients on the member that accepted their request.

pub mod config;
pub mod ids;
pub mod pending;
pub mod read_queue;
pub mod transport;

pub use config::NodeConfig;
pub use transport::Transport;
