//! The TCP peer transport: the engine's `Transport` over real (or
//! simulated) TCP, with the wire framing; `https://` peer URLs are dialed
//! with TLS (the peer certificate as client certificate, the peer CA to
//! verify).
//!
//! - One outbound connection and one worker task per peer, fed by a bounded
//!   queue. Messages queued while the worker writes are sent together as
//!   one frame (batching). A full queue drops messages (raft resends).
//! - A failed dial or write reports the peer unreachable to raft and
//!   retries with exponential backoff (with jitter), capped.
//! - Snapshots go over a connection of their own, the image in chunks, the
//!   raft message last; the receiver's acknowledgement is reported to raft.

use super::PeerTraffic;
use crate::tls::{Dialer, Stream};
use crate::url::Url;
use bytes::Bytes;
use keel_engine::node::{NodeHandle, Transport};
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::handshake::{Role, decode_reply, encode_hello};
use keel_engine::wire::io::{read_frame, read_handshake, write_frame, write_handshake};
use keel_engine::wire::{
    Encode, Frame, PeerFrame, PeerHello, RaftMessages, SnapshotChunk, WireError, decode_peer_body,
};
use parking_lot::Mutex;
use raft::eraftpb::Message;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;

/// Limits and timings of the peer transport.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTransportOptions {
    /// Raft messages queued for one peer before new ones are dropped.
    pub queue_max_messages: usize,
    /// Payload bytes of raft messages sent in one frame.
    pub batch_max_bytes: usize,
    /// Largest frame on the peer port.
    pub max_frame_bytes: usize,
    /// Bytes of image per snapshot chunk.
    pub snapshot_chunk_bytes: usize,
    /// Time allowed to dial and greet a peer.
    pub dial_timeout: Duration,
    /// Time allowed for a whole snapshot to be sent and acknowledged.
    pub snapshot_timeout: Duration,
    /// First and largest wait before redialing a peer that failed.
    pub backoff_min: Duration,
    /// Largest wait between redials.
    pub backoff_max: Duration,
}

impl Default for PeerTransportOptions {
    fn default() -> Self {
        PeerTransportOptions {
            queue_max_messages: 4096,
            batch_max_bytes: 4 << 20,
            max_frame_bytes: 8 << 20,
            snapshot_chunk_bytes: 1 << 20,
            dial_timeout: Duration::from_secs(1),
            snapshot_timeout: Duration::from_secs(300),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }
}

struct Shared {
    me: u64,
    cluster_id: u64,
    options: PeerTransportOptions,
    dialer: Dialer,
    node: Mutex<Option<NodeHandle>>,
    /// Member id → its first peer URL.
    addresses: Mutex<BTreeMap<u64, Url>>,
    /// Members raft wanted to reach but the address book did not know.
    unknown: Mutex<std::collections::BTreeSet<u64>>,
    queues: Mutex<BTreeMap<u64, mpsc::Sender<Message>>>,
    /// Bytes sent to each peer.
    traffic: Arc<PeerTraffic>,
}

/// The engine's `Transport` over TCP.
#[derive(Clone)]
pub struct PeerTransport {
    shared: Arc<Shared>,
}

impl PeerTransport {
    /// A transport for member `me` of cluster `cluster_id`, dialing peers
    /// with `dialer` (which knows the peer TLS settings).
    pub fn new(me: u64, cluster_id: u64, options: PeerTransportOptions, dialer: Dialer) -> Self {
        PeerTransport {
            shared: Arc::new(Shared {
                me,
                cluster_id,
                options,
                dialer,
                node: Mutex::new(None),
                addresses: Mutex::new(BTreeMap::new()),
                unknown: Mutex::new(std::collections::BTreeSet::new()),
                queues: Mutex::new(BTreeMap::new()),
                traffic: Arc::default(),
            }),
        }
    }

    /// The bytes this transport sent to each peer (the peer listener
    /// counts what it receives into the same).
    pub fn traffic(&self) -> Arc<PeerTraffic> {
        Arc::clone(&self.shared.traffic)
    }

    /// The node outcomes are reported to (set once it has started).
    pub fn set_node(&self, node: NodeHandle) {
        *self.shared.node.lock() = Some(node);
    }

    /// Replaces the address book: member id → peer URL.
    pub fn set_addresses(&self, addresses: BTreeMap<u64, Url>) {
        *self.shared.addresses.lock() = addresses;
    }

    /// Members messages were dropped for since the last call because the
    /// address book has no address for them (the book is stale).
    pub fn take_unknown_peers(&self) -> Vec<u64> {
        std::mem::take(&mut *self.shared.unknown.lock())
            .into_iter()
            .collect()
    }

    fn queue(&self, to: u64) -> mpsc::Sender<Message> {
        let mut queues = self.shared.queues.lock();
        if let Some(queue) = queues.get(&to).filter(|q| !q.is_closed()) {
            return queue.clone();
        }
        let (tx, rx) = mpsc::channel(self.shared.options.queue_max_messages);
        queues.insert(to, tx.clone());
        tokio::spawn(peer_worker(Arc::clone(&self.shared), to, rx));
        tx
    }
}

impl Shared {
    fn node(&self) -> Option<NodeHandle> {
        self.node.lock().clone()
    }

    fn address(&self, id: u64) -> Option<Url> {
        self.addresses.lock().get(&id).cloned()
    }

    fn unreachable(&self, to: u64) {
        if let Some(node) = self.node() {
            node.report_unreachable(to);
        }
    }
}

impl Transport for PeerTransport {
    fn send(&self, messages: Vec<Message>) {
        for message in messages {
            let to = message.to;
            if to == self.shared.me {
                continue;
            }
            if self.shared.address(to).is_none() {
                self.shared.unknown.lock().insert(to);
                continue;
            }
            if self.queue(to).try_send(message).is_err() {
                self.shared.unreachable(to);
            }
        }
    }

    fn send_snapshot(&self, message: Message, image: Bytes) {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let to = message.to;
            let timeout = shared.options.snapshot_timeout;
            let outcome =
                tokio::time::timeout(timeout, send_snapshot(&shared, message, image)).await;
            let ok = matches!(outcome, Ok(Ok(())));
            if !ok {
                tracing::warn!(
                    to = format_args!("{to:x}"),
                    "snapshot not delivered: {outcome:?}"
                );
            }
            if let Some(node) = shared.node() {
                node.report_snapshot(to, ok);
            }
        });
    }
}

/// An open, greeted connection to a peer.
struct PeerConnection {
    reader: ReadHalf<Stream>,
    writer: WriteHalf<Stream>,
}

/// Dials `to`, speaks the handshake and the peer hello.
async fn dial(shared: &Shared, to: u64) -> Result<PeerConnection, WireError> {
    let url = shared
        .address(to)
        .ok_or_else(|| WireError::Io(format!("no address for member {to:x}")))?;
    let address = url.socket_address();
    let connect = async {
        // Raft messages are small and latency-bound: the dialer sets
        // TCP_NODELAY.
        let stream = shared
            .dialer
            .dial(&address, &url.host, url.tls)
            .await
            .map_err(|e| WireError::Io(e.to_string()))?;
        let (mut reader, mut writer) = tokio::io::split(stream);
        write_handshake(&mut writer, &encode_hello(Role::Peer)).await?;
        decode_reply(&read_handshake(&mut reader).await?)?;
        let hello = PeerHello {
            cluster_id: shared.cluster_id,
            from: shared.me,
            to,
        };
        write_frame(
            &mut writer,
            &Frame::new(FrameKind::PeerHello, 0, hello.to_bytes()),
        )
        .await?;
        let answer = read_frame(&mut reader, shared.options.max_frame_bytes)
            .await?
            .ok_or(WireError::Truncated)?;
        match decode_peer_body(&answer)? {
            PeerFrame::HelloAck(ack) if ack.accepted => Ok(PeerConnection { reader, writer }),
            PeerFrame::HelloAck(ack) => Err(WireError::Io(format!("peer refused: {}", ack.reason))),
            other => Err(WireError::malformed(
                "peer",
                format!("expected a hello ack, got {other:?}"),
            )),
        }
    };
    tokio::time::timeout(shared.options.dial_timeout, connect)
        .await
        .map_err(|_| WireError::Io(format!("dialing {address} timed out")))?
}

/// Sends the messages queued for one peer, reconnecting as needed.
async fn peer_worker(shared: Arc<Shared>, to: u64, mut queue: mpsc::Receiver<Message>) {
    let mut backoff = shared.options.backoff_min;
    let mut connection: Option<PeerConnection> = None;
    while let Some(first) = queue.recv().await {
        if connection.is_none() {
            match dial(&shared, to).await {
                Ok(open) => {
                    connection = Some(open);
                    backoff = shared.options.backoff_min;
                }
                Err(err) => {
                    tracing::debug!(to = format_args!("{to:x}"), "dial failed: {err}");
                    shared.unreachable(to);
                    // What queued meanwhile is stale; raft resends.
                    while queue.try_recv().is_ok() {}
                    let jitter = backoff.mul_f64(rand::random::<f64>() * 0.5);
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = (backoff * 2).min(shared.options.backoff_max);
                    continue;
                }
            }
        }
        let mut batch = vec![first];
        let mut bytes = 0;
        while bytes < shared.options.batch_max_bytes {
            match queue.try_recv() {
                Ok(message) => {
                    bytes += message.entries.iter().map(|e| e.data.len()).sum::<usize>();
                    batch.push(message);
                }
                Err(_) => break,
            }
        }
        let frame = Frame::new(FrameKind::RaftMessages, 0, RaftMessages(batch).to_bytes());
        let Some(open) = connection.as_mut() else {
            continue;
        };
        shared.traffic.sent(to, &frame);
        if let Err(err) = write_frame(&mut open.writer, &frame).await {
            tracing::debug!(to = format_args!("{to:x}"), "send failed: {err}");
            connection = None;
            shared.unreachable(to);
        }
    }
}

/// Streams a snapshot image then its message to the peer; `Ok` once the
/// peer acknowledged the whole image.
async fn send_snapshot(shared: &Shared, message: Message, image: Bytes) -> Result<(), WireError> {
    let to = message.to;
    let mut open = dial(shared, to).await?;
    let meta = message.get_snapshot().get_metadata();
    let chunk_bytes = shared.options.snapshot_chunk_bytes.max(1);
    let total_len = image.len() as u64;
    let mut offset = 0usize;
    loop {
        let end = (offset + chunk_bytes).min(image.len());
        let chunk = SnapshotChunk {
            index: meta.index,
            term: meta.term,
            offset: offset as u64,
            total_len,
            data: image.slice(offset..end),
            last: end == image.len(),
        };
        let frame = Frame::new(FrameKind::SnapshotChunk, 0, chunk.to_bytes());
        shared.traffic.sent(to, &frame);
        write_frame(&mut open.writer, &frame).await?;
        offset = end;
        if offset >= image.len() {
            break;
        }
    }
    let frame = Frame::new(
        FrameKind::RaftMessages,
        0,
        RaftMessages(vec![message]).to_bytes(),
    );
    shared.traffic.sent(to, &frame);
    write_frame(&mut open.writer, &frame).await?;
    let answer = read_frame(&mut open.reader, shared.options.max_frame_bytes)
        .await?
        .ok_or(WireError::Truncated)?;
    match decode_peer_body(&answer)? {
        PeerFrame::Ack(ack) if ack.ok && ack.received_len == total_len => Ok(()),
        other => Err(WireError::malformed(
            "peer",
            format!("snapshot not acknowledged: {other:?}"),
        )),
    }
}

#[cfg(test)]
mod unknown_peer_tests {
    use super::*;

    #[test]
    fn messages_to_members_without_an_address_are_remembered_once() {
        let transport = PeerTransport::new(1, 9, PeerTransportOptions::default(), Dialer::plain());
        let to = |id: u64| Message {
            to: id,
            from: 1,
            ..Message::default()
        };
        transport.send(vec![to(7), to(1), to(7), to(3)]);
        assert_eq!(
            transport.take_unknown_peers(),
            vec![3, 7],
            "itself is not unknown"
        );
        assert!(transport.take_unknown_peers().is_empty());
    }
}
