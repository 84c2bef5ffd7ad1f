//! The requests and responses of Keel's client API, with etcd v3's semantics.
//!
//! These types are shared by the state machine (which executes them), the wire
//! codec (which encodes them), the server, the client library and the
//! simulator. They carry no behaviour beyond small constructors.

mod auth;
mod cluster;
mod error;
mod kv;
mod lease;
mod maintenance;
mod request;
mod watch;

pub use auth::*;
pub use cluster::*;
pub use error::*;
pub use kv::*;
pub use lease::*;
pub use maintenance::*;
pub use request::*;
pub use watch::*;

/// Metadata on every response: who answered and at which state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The cluster the answering member belongs to.
    pub cluster_id: u64,
    /// The member that answered.
    pub member_id: u64,
    /// The store's revision when the request was served.
    pub revision: i64,
    /// The raft term of the answering member.
    pub raft_term: u64,
}
