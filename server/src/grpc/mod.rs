//! A small gRPC server over HTTP/2 (the `h2` crate), without a framework:
//! 5-byte length-prefixed messages, `application/grpc`, `grpc-status` and
//! `grpc-message` trailers, `grpc-timeout`, unary and streaming calls, a
//! bound on request message size, identity encoding only. What a call
//! means is the service's business (`etcd`); this layer only carries it.
//!
//! Flow control both ways: request bytes are taken from HTTP/2 only as
//! messages are read, and responses wait for the client's window, so a
//! client that stops reading slows only its own calls.

pub mod client;
pub mod codec;
pub mod header_fix;
pub mod hpack;
mod server;
pub mod status;

pub use server::{
    Call, ConnectionError, GrpcOptions, Incoming, PlainRequest, ResponseSink, send_all,
    serve_connection,
};
pub use status::{Code, Status};
