//! Bytes of raft traffic exchanged with each peer, as etcd's
//! `etcd_network_peer_sent_bytes_total{To}` and
//! `etcd_network_peer_received_bytes_total{From}` report them: every frame
//! of raft messages and snapshot chunks, as written to or read from the
//! wire (length prefix, header and body).

use keel_engine::wire::Frame;
use keel_engine::wire::frame::FRAME_HEADER_BYTES;
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// The length prefix before each frame's header.
const LENGTH_PREFIX_BYTES: u64 = 4;

/// Sent and received bytes per peer member id.
#[derive(Debug, Default)]
pub struct PeerTraffic {
    /// Member id → (bytes sent to it, bytes received from it).
    by_peer: Mutex<BTreeMap<u64, (u64, u64)>>,
}

/// Two handles are the same counters only if they are the same object.
impl PartialEq for PeerTraffic {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for PeerTraffic {}

impl PeerTraffic {
    /// Counts `frame` as sent to member `to`.
    pub fn sent(&self, to: u64, frame: &Frame) {
        self.by_peer.lock().entry(to).or_default().0 += wire_bytes(frame);
    }

    /// Counts `bytes` as received from member `from`.
    pub fn received(&self, from: u64, bytes: u64) {
        self.by_peer.lock().entry(from).or_default().1 += bytes;
    }

    /// (member id, bytes sent to it, bytes received from it), by id.
    pub fn totals(&self) -> Vec<(u64, u64, u64)> {
        self.by_peer
            .lock()
            .iter()
            .map(|(id, (sent, received))| (*id, *sent, *received))
            .collect()
    }
}

/// What `frame` takes on the wire.
pub fn wire_bytes(frame: &Frame) -> u64 {
    LENGTH_PREFIX_BYTES + (FRAME_HEADER_BYTES + frame.body.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::wire::frame::FrameKind;

    #[test]
    fn frames_count_whole_per_peer_and_direction() {
        let traffic = PeerTraffic::default();
        let frame = Frame::new(
            FrameKind::RaftMessages,
            0,
            bytes::Bytes::from_static(b"abc"),
        );
        traffic.sent(2, &frame);
        traffic.sent(2, &frame);
        traffic.received(3, wire_bytes(&frame));
        assert_eq!(traffic.totals(), vec![(2, 32, 0), (3, 0, 16)]);
        assert_eq!(frame.encode().len(), 16, "what goes on the wire");
    }
}
