//! Member-to-member traffic: the outbound [`PeerTransport`] and the
//! inbound listener, and the bytes each peer was sent and sent us
//! ([`PeerTraffic`]).

mod forward;
mod listener;
mod traffic;
mod transport;

pub use forward::LeaderLink;
pub use listener::{
    PeerIdentity, PeerListenerOptions, fetch_cluster_info, fetch_hash_kv, serve_peer, serve_peers,
};
pub use traffic::{PeerTraffic, wire_bytes};
pub use transport::{PeerTransport, PeerTransportOptions};
