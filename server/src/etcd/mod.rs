//! etcd's v3 API on the client port: its gRPC services and its JSON gateway,
//! translated into the same engine requests Keel's own protocol uses.
//!
//! Nothing here decides what is true: every call becomes an
//! `api::Request` for the member's node (or a watch over its history), and
//! every answer is the node's, re-encoded in etcd's messages with etcd's
//! error codes and words.

pub mod convert;
pub mod errors;
pub mod keepalive;
pub mod proto;
pub mod service;
pub mod snapshot;
pub mod unary;
pub mod watch;

pub use service::{EtcdOptions, serve_call};
pub use unary::{Context, Unary};
pub mod gateway;
