//! Member-to-member traffic: the outbound [`PeerTransport`] and the
//! inbound listener.

mod forward;
mod listener;
mod transport;

pub use forward::LeaderLink;
pub use listener::{
    PeerIdentity, PeerListenerOptions, fetch_cluster_info, fetch_hash_kv, serve_peer, serve_peers,
};
pub use transport::{PeerTransport, PeerTransportOptions};
