//! Frames: the unit of every client and peer connection.
//!
//! ```text
//! frame: length u32 (big-endian; bytes after it) | kind u8 | request_id u64 | body
//! ```
//! `length` is checked against the configured maximum before anything is
//! allocated; a frame claiming 4 GiB is an error, never an allocation.
//! Many requests may be in flight on one connection: answers carry the
//! request's id and may come in any order.

use super::error::WireError;
use bytes::{BufMut, Bytes, BytesMut};

/// Bytes of kind + request id, the part of every frame before its body.
pub const FRAME_HEADER_BYTES: usize = 1 + 8;

/// Default largest frame: etcd's 1.5 MiB request limit plus room for framing.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1536 * 1024 + 4096;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Client → server: an encoded `Request`.
    Request,
    /// Server → client: an encoded `Result<Response, ApiError>`.
    Response,
    /// Server → client: a connection-level error; the server closes next.
    Error,
    /// Client → server: open a watch ([`crate::api::WatchCreateRequest`]);
    /// the frame's id becomes the watch's id on this connection.
    WatchCreate,
    /// Client → server: cancel the watch with the frame's id (no body).
    WatchCancel,
    /// Server → client: a [`crate::api::WatchResponse`] for the watch with
    /// the frame's id.
    WatchResponse,
    /// Client → server: send a backup of your state (no body); the frame's
    /// id names the stream of [`FrameKind::BackupData`] that answers.
    BackupRequest,
    /// Server → client: a piece of a backup ([`super::BackupData`]); an
    /// [`FrameKind::Error`] with the same id ends the stream instead.
    BackupData,
    /// Peer → peer: who is calling ([`super::PeerHello`]).
    PeerHello,
    /// Peer → peer: the answer to a hello.
    PeerHelloAck,
    /// Peer → peer: a batch of raft messages.
    RaftMessages,
    /// Peer → peer: a piece of a snapshot image.
    SnapshotChunk,
    /// Peer → peer: a snapshot image arrived (or not).
    SnapshotAck,
    /// A member starting with existing state asks a peer for the cluster.
    ClusterInfoRequest,
    /// The cluster id and member list ([`super::ClusterInfo`]).
    ClusterInfoResponse,
    /// A restarting member asks a peer for its hash of the keys
    /// ([`super::PeerHashKvRequest`]).
    HashKvRequest,
    /// The peer's hash, or why it has none ([`super::PeerHashKvAnswer`]).
    HashKvResponse,
    /// A follower asks the leader to promote a learner for a client
    /// ([`super::PeerPromoteRequest`]).
    PromoteRequest,
    /// The leader's answer to a promotion ([`super::PeerPromoteAnswer`]).
    PromoteResponse,
}

impl FrameKind {
    /// The kind's byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            FrameKind::Request => 1,
            FrameKind::Response => 2,
            FrameKind::Error => 3,
            FrameKind::WatchCreate => 4,
            FrameKind::WatchCancel => 5,
            FrameKind::WatchResponse => 6,
            FrameKind::BackupRequest => 7,
            FrameKind::BackupData => 8,
            FrameKind::PeerHello => 16,
            FrameKind::PeerHelloAck => 17,
            FrameKind::RaftMessages => 18,
            FrameKind::SnapshotChunk => 19,
            FrameKind::SnapshotAck => 20,
            FrameKind::ClusterInfoRequest => 21,
            FrameKind::ClusterInfoResponse => 22,
            FrameKind::HashKvRequest => 23,
            FrameKind::HashKvResponse => 24,
            FrameKind::PromoteRequest => 25,
            FrameKind::PromoteResponse => 26,
        }
    }

    /// The kind for a byte; unknown bytes are [`WireError::UnknownKind`].
    pub fn from_byte(byte: u8) -> Result<Self, WireError> {
        Ok(match byte {
            1 => FrameKind::Request,
            2 => FrameKind::Response,
            3 => FrameKind::Error,
            4 => FrameKind::WatchCreate,
            5 => FrameKind::WatchCancel,
            6 => FrameKind::WatchResponse,
            7 => FrameKind::BackupRequest,
            8 => FrameKind::BackupData,
            16 => FrameKind::PeerHello,
            17 => FrameKind::PeerHelloAck,
            18 => FrameKind::RaftMessages,
            19 => FrameKind::SnapshotChunk,
            20 => FrameKind::SnapshotAck,
            21 => FrameKind::ClusterInfoRequest,
            22 => FrameKind::ClusterInfoResponse,
            23 => FrameKind::HashKvRequest,
            24 => FrameKind::HashKvResponse,
            25 => FrameKind::PromoteRequest,
            26 => FrameKind::PromoteResponse,
            other => return Err(WireError::UnknownKind(other)),
        })
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What it carries.
    pub kind: FrameKind,
    /// The request it belongs to (0 for frames outside any request).
    pub request_id: u64,
    /// The encoded body.
    pub body: Bytes,
}

impl Frame {
    /// A frame.
    pub fn new(kind: FrameKind, request_id: u64, body: Bytes) -> Self {
        Frame {
            kind,
            request_id,
            body,
        }
    }

    /// The frame's bytes, length prefix included.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(4 + FRAME_HEADER_BYTES + self.body.len());
        let len = FRAME_HEADER_BYTES + self.body.len();
        buf.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
        buf.put_u8(self.kind.to_byte());
        buf.put_u64(self.request_id);
        buf.put_slice(&self.body);
        buf.freeze()
    }
}

/// Checks a length prefix: at most `max_frame_bytes`, at least a header.
pub fn check_length(len: u32, max_frame_bytes: usize) -> Result<usize, WireError> {
    let len = len as usize;
    if len > max_frame_bytes {
        return Err(WireError::FrameTooLarge {
            len: len as u64,
            max: max_frame_bytes as u64,
        });
    }
    if len < FRAME_HEADER_BYTES {
        return Err(WireError::malformed(
            "frame",
            format!("length {len} is shorter than a frame header"),
        ));
    }
    Ok(len)
}

/// Parses the frame at the start of `buf`: `Ok(None)` if more bytes are
/// needed, else the frame and the bytes it used.
pub fn decode_frame(
    buf: &[u8],
    max_frame_bytes: usize,
) -> Result<Option<(Frame, usize)>, WireError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let len = check_length(
        u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]),
        max_frame_bytes,
    )?;
    let Some(rest) = buf.get(4..4 + len) else {
        return Ok(None);
    };
    Ok(Some((parse_frame(rest)?, 4 + len)))
}

/// Parses a frame's bytes after its length prefix.
pub fn parse_frame(rest: &[u8]) -> Result<Frame, WireError> {
    let (&kind, rest) = rest
        .split_first()
        .ok_or_else(|| WireError::malformed("frame", "empty"))?;
    let id: [u8; 8] = rest
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| WireError::malformed("frame", "no request id"))?;
    Ok(Frame {
        kind: FrameKind::from_byte(kind)?,
        request_id: u64::from_be_bytes(id),
        body: Bytes::copy_from_slice(&rest[8..]),
    })
}
