//! keel-server: everything between the engine and the network.
//!
//! - [`config`]: the daemon's flags, environment and config file;
//! - [`url`]: etcd-style URLs and what they bind to;
//! - [`tls`]: rustls (ring) for `https://` listeners, peers and clients;
//! - [`peer`]: the TCP peer transport and the peer listener;
//! - [`client_port`]: the client listener (binary protocol, plus plain HTTP
//!   `GET /health` and `GET /version` for load balancers);
//! - [`client`]: the client library (failover, timeouts, safe retries);
//! - [`ctl`]: keelctl's command line, txn input and etcdctl-identical output;
//! - [`fuzzing`]: what the fuzz targets call (config, txn input);
//! - [`daemon`]: starting a member: data, identity, node, listeners.
//!
//! Nothing here decides what is true: the engine does. All I/O goes through
//! `tokio` (madsim under `--cfg madsim`), so the simulator runs this code.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod accept;
pub mod client;
pub mod client_port;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod etcd;
pub mod fuzzing;
mod go_json;
pub mod grpc;
pub mod metrics;
pub mod peer;
pub mod tls;
pub mod url;
