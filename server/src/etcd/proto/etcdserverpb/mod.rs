//! etcd's `etcdserverpb` package: the v3 API's requests and responses,
//! one file per service.

mod auth;
mod cluster;
mod kv;
mod lease;
mod maintenance;
mod watch;

pub use auth::*;
pub use cluster::*;
pub use kv::*;
pub use lease::*;
pub use maintenance::*;
pub use watch::*;

message! {
    /// Who answered, at which revision and term.
    pub struct ResponseHeader = "etcdserverpb.ResponseHeader" {
        1 => cluster_id: uint64,
        2 => member_id: uint64,
        3 => revision: int64,
        4 => raft_term: uint64,
    }
}
