//! keel-engine: everything in Keel that decides what is true.
//!
//! The layers, bottom up: [`storage`] (the disk seam, the write-ahead log and
//! the B-tree snapshot store). Nothing in this crate touches sockets.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod backup;
pub mod compactor;
pub mod fuzzing;
pub mod mvcc;
pub mod node;
pub mod raft_log;
pub mod state_machine;
pub mod storage;
pub mod testing;
pub mod version;
pub mod wire;
