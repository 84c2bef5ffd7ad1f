//! The binary protocol shared by the server, the client library, the peer
//! transport, the simulator and the fuzzers.
//!
//! - [`frame`]: length-prefixed frames with a kind and a request id;
//! - [`handshake`]: the magic, version and role that open a connection;
//! - [`codec`]: hand-written encoding of bodies ([`Encode`], [`Decode`]);
//! - `api`, [`peer`]: the bodies of client and peer frames;
//! - [`io`]: frames over async streams, always flushed.
//!
//! Invariants: decoders never allocate from an unchecked length; every
//! frame is bounded by `max_frame_bytes`; no input makes a decoder panic.

mod api;
mod auth;
pub mod codec;
mod error;
pub mod frame;
pub mod handshake;
pub mod io;
pub mod peer;
mod watch;

pub use codec::{Decode, Encode, Reader};
pub use error::WireError;
pub use frame::{DEFAULT_MAX_FRAME_BYTES, Frame, FrameKind, decode_frame};
pub use peer::{
    ClusterInfo, PeerHashKvAnswer, PeerHashKvRequest, PeerHello, PeerHelloAck, PeerPromoteAnswer,
    PeerPromoteRequest, RaftMessages, SnapshotAck, SnapshotChunk,
};

use crate::api::{ApiError, Request, Response, WatchCreateRequest};

/// What a client frame means to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A request with its id.
    Request(u64, Request),
    /// Open watch `id`.
    WatchCreate(u64, WatchCreateRequest),
    /// Cancel watch `id`.
    WatchCancel(u64),
    /// Send a backup as stream `id`.
    Backup(u64),
}

/// A piece of a backup stream: `remaining_bytes` still to come after
/// `blob` (0 in the last piece), as etcd's SnapshotResponse counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupData {
    /// Bytes of the backup after this piece.
    pub remaining_bytes: u64,
    /// This piece.
    pub blob: bytes::Bytes,
}

impl BackupData {
    /// The frame body: `remaining_bytes u64 | blob`.
    pub fn encode(&self) -> bytes::Bytes {
        let mut body = bytes::BytesMut::with_capacity(8 + self.blob.len());
        bytes::BufMut::put_u64(&mut body, self.remaining_bytes);
        body.extend_from_slice(&self.blob);
        body.freeze()
    }
}

/// Decodes a frame of a backup stream as a client would: a piece, or the
/// error that ended the stream.
pub fn decode_backup_data(frame: &Frame) -> Result<Result<BackupData, ApiError>, WireError> {
    match frame.kind {
        FrameKind::BackupData => {
            let Some(remaining) = frame.body.get(..8) else {
                return Err(WireError::malformed("backup data", "shorter than 8 bytes"));
            };
            let mut count = [0u8; 8];
            count.copy_from_slice(remaining);
            Ok(Ok(BackupData {
                remaining_bytes: u64::from_be_bytes(count),
                blob: frame.body.slice(8..),
            }))
        }
        FrameKind::Error => Ok(Err(ApiError::from_bytes(&frame.body)?)),
        other => Err(WireError::malformed(
            "backup data",
            format!("unexpected {other:?}"),
        )),
    }
}

/// Decodes one complete client frame (length prefix included) as a server
/// would: the entry point the fuzzers share with the tests.
pub fn decode_client_frame(bytes: &[u8], max_frame_bytes: usize) -> Result<ClientFrame, WireError> {
    let (frame, used) = decode_frame(bytes, max_frame_bytes)?.ok_or(WireError::Truncated)?;
    if used != bytes.len() {
        return Err(WireError::malformed("frame", "bytes after the frame"));
    }
    client_frame_from(&frame)
}

/// What a decoded frame means to a server (the frame was already split
/// off the stream and checked against the size limit).
pub fn client_frame_from(frame: &Frame) -> Result<ClientFrame, WireError> {
    match frame.kind {
        FrameKind::Request => Ok(ClientFrame::Request(
            frame.request_id,
            Request::from_bytes(&frame.body)?,
        )),
        FrameKind::WatchCreate => Ok(ClientFrame::WatchCreate(
            frame.request_id,
            WatchCreateRequest::from_bytes(&frame.body)?,
        )),
        FrameKind::WatchCancel if frame.body.is_empty() => {
            Ok(ClientFrame::WatchCancel(frame.request_id))
        }
        FrameKind::BackupRequest if frame.body.is_empty() => {
            Ok(ClientFrame::Backup(frame.request_id))
        }
        other => Err(WireError::malformed(
            "client frame",
            format!("{other:?} on the client port"),
        )),
    }
}

/// Decodes a response frame's body as a client would.
pub fn decode_response(frame: &Frame) -> Result<Result<Response, ApiError>, WireError> {
    match frame.kind {
        FrameKind::Response => Result::<Response, ApiError>::from_bytes(&frame.body),
        FrameKind::Error => Ok(Err(ApiError::from_bytes(&frame.body)?)),
        other => Err(WireError::malformed(
            "response",
            format!("unexpected {other:?}"),
        )),
    }
}

/// A peer frame's meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerFrame {
    /// Who is calling.
    Hello(PeerHello),
    /// The answer to a hello.
    HelloAck(PeerHelloAck),
    /// Raft messages.
    Messages(RaftMessages),
    /// A piece of a snapshot image.
    Chunk(SnapshotChunk),
    /// A snapshot image's fate.
    Ack(SnapshotAck),
    /// A request for the cluster's id and members.
    ClusterInfoRequest,
    /// The cluster's id and members.
    ClusterInfo(ClusterInfo),
    /// A request for the peer's hash of its keys at a revision.
    HashKvRequest(PeerHashKvRequest),
    /// The peer's hash, or why it has none.
    HashKv(PeerHashKvAnswer),
    /// A request to promote a learner, forwarded to the leader.
    PromoteRequest(PeerPromoteRequest),
    /// The leader's answer to a forwarded promotion.
    Promote(PeerPromoteAnswer),
}

/// Decodes one complete peer frame (length prefix included) as a member
/// would: the entry point the fuzzers share with the tests.
pub fn decode_peer_frame(bytes: &[u8], max_frame_bytes: usize) -> Result<PeerFrame, WireError> {
    let (frame, used) = decode_frame(bytes, max_frame_bytes)?.ok_or(WireError::Truncated)?;
    if used != bytes.len() {
        return Err(WireError::malformed("frame", "bytes after the frame"));
    }
    decode_peer_body(&frame)
}

/// Decodes the body of a peer frame.
pub fn decode_peer_body(frame: &Frame) -> Result<PeerFrame, WireError> {
    Ok(match frame.kind {
        FrameKind::PeerHello => PeerFrame::Hello(PeerHello::from_bytes(&frame.body)?),
        FrameKind::PeerHelloAck => PeerFrame::HelloAck(PeerHelloAck::from_bytes(&frame.body)?),
        FrameKind::RaftMessages => PeerFrame::Messages(RaftMessages::from_bytes(&frame.body)?),
        FrameKind::SnapshotChunk => PeerFrame::Chunk(SnapshotChunk::from_bytes(&frame.body)?),
        FrameKind::SnapshotAck => PeerFrame::Ack(SnapshotAck::from_bytes(&frame.body)?),
        FrameKind::ClusterInfoRequest => PeerFrame::ClusterInfoRequest,
        FrameKind::ClusterInfoResponse => {
            PeerFrame::ClusterInfo(ClusterInfo::from_bytes(&frame.body)?)
        }
        FrameKind::HashKvRequest => {
            PeerFrame::HashKvRequest(PeerHashKvRequest::from_bytes(&frame.body)?)
        }
        FrameKind::HashKvResponse => PeerFrame::HashKv(PeerHashKvAnswer::from_bytes(&frame.body)?),
        FrameKind::PromoteRequest => {
            PeerFrame::PromoteRequest(PeerPromoteRequest::from_bytes(&frame.body)?)
        }
        FrameKind::PromoteResponse => {
            PeerFrame::Promote(PeerPromoteAnswer::from_bytes(&frame.body)?)
        }
        other => {
            return Err(WireError::malformed(
                "peer frame",
                format!("{other:?} on the peer port"),
            ));
        }
    })
}

#[cfg(test)]
mod tests;
