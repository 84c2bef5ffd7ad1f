//! Bodies of peer frames: hello, raft messages, snapshot chunks, cluster
//! info, and the hash of the keys a restarting member compares.

use super::codec::{Decode, Encode, Reader, put_bool, put_bytes, put_count};
use super::error::WireError;
use crate::api::{ApiError, HashKvResponse, Member, MemberResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use protobuf::Message as _;
use raft::eraftpb::Message;

/// Who is calling, sent first on a peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerHello {
    /// The caller's cluster; a listener of another cluster refuses.
    pub cluster_id: u64,
    /// The calling member.
    pub from: u64,
    /// The member the caller wants.
    pub to: u64,
}

impl Encode for PeerHello {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.cluster_id);
        buf.put_u64(self.from);
        buf.put_u64(self.to);
    }
}

impl Decode for PeerHello {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PeerHello {
            cluster_id: r.u64("peer hello")?,
            from: r.u64("peer hello")?,
            to: r.u64("peer hello")?,
        })
    }
}

/// The answer to a [`PeerHello`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHelloAck {
    /// Whether the connection may be used.
    pub accepted: bool,
    /// Why not, if not.
    pub reason: String,
}

impl Encode for PeerHelloAck {
    fn encode(&self, buf: &mut BytesMut) {
        put_bool(buf, self.accepted);
        put_bytes(buf, self.reason.as_bytes());
    }
}

impl Decode for PeerHelloAck {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PeerHelloAck {
            accepted: r.bool("peer hello ack")?,
            reason: r.string("peer hello ack")?,
        })
    }
}

/// A batch of raft messages, each as raft-rs's protobuf bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RaftMessages(pub Vec<Message>);

impl Encode for RaftMessages {
    fn encode(&self, buf: &mut BytesMut) {
        put_count(buf, self.0.len());
        for message in &self.0 {
            // Encoding an in-memory message only fails on missing required
            // fields, which raft's proto3 messages do not have.
            let bytes = message.write_to_bytes().unwrap_or_default();
            put_bytes(buf, &bytes);
        }
    }
}

impl Decode for RaftMessages {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let messages = r.list("raft messages", 4, |r| {
            let bytes = r.bytes("raft message")?;
            Message::parse_from_bytes(&bytes)
                .map_err(|e| WireError::malformed("raft message", e.to_string()))
        })?;
        Ok(RaftMessages(messages))
    }
}

/// A piece of a snapshot image; the last piece carries the raft message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// Raft index of the snapshot.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// Where this piece goes in the image.
    pub offset: u64,
    /// The image's total length.
    pub total_len: u64,
    /// The bytes.
    pub data: Bytes,
    /// Whether this is the last piece.
    pub last: bool,
}

impl Encode for SnapshotChunk {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.index);
        buf.put_u64(self.term);
        buf.put_u64(self.offset);
        buf.put_u64(self.total_len);
        put_bytes(buf, &self.data);
        put_bool(buf, self.last);
    }
}

impl Decode for SnapshotChunk {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(SnapshotChunk {
            index: r.u64("snapshot chunk")?,
            term: r.u64("snapshot chunk")?,
            offset: r.u64("snapshot chunk")?,
            total_len: r.u64("snapshot chunk")?,
            data: r.bytes("snapshot chunk")?,
            last: r.bool("snapshot chunk")?,
        })
    }
}

/// The receiver's verdict on a whole snapshot image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotAck {
    /// The snapshot's index.
    pub index: u64,
    /// Bytes received.
    pub received_len: u64,
    /// Whether it arrived whole.
    pub ok: bool,
}

impl Encode for SnapshotAck {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.index);
        buf.put_u64(self.received_len);
        put_bool(buf, self.ok);
    }
}

impl Decode for SnapshotAck {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(SnapshotAck {
            index: r.u64("snapshot ack")?,
            received_len: r.u64("snapshot ack")?,
            ok: r.bool("snapshot ack")?,
        })
    }
}

/// What a member starting with existing state learns from a peer: the
/// cluster it is joining and its members (itself among them, once added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The cluster's id.
    pub cluster_id: u64,
    /// Every member.
    pub members: Vec<Member>,
}

impl Encode for ClusterInfo {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.cluster_id);
        put_count(buf, self.members.len());
        for member in &self.members {
            member.encode(buf);
        }
    }
}

impl Decode for ClusterInfo {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(ClusterInfo {
            cluster_id: r.u64("cluster info")?,
            members: r.list("members", 21, Member::decode)?,
        })
    }
}

/// A restarting member asks a peer for its hash of the keys at `revision`
/// (etcd's initial corruption check, `--experimental-initial-corrupt-check`);
/// the peer answers with a [`PeerHashKvAnswer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerHashKvRequest {
    /// The revision to hash at (the asking member's own).
    pub revision: i64,
}

impl Encode for PeerHashKvRequest {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_i64(self.revision);
    }
}

impl Decode for PeerHashKvRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PeerHashKvRequest {
            revision: r.i64("hash kv request")?,
        })
    }
}

/// A peer's hash of its keys at the asked revision, or why it has none
/// (`FutureRevision`: it has not reached that revision; `Compacted`: the
/// revision is compacted away). Encoded as a client response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHashKvAnswer(pub Result<HashKvResponse, ApiError>);

impl Encode for PeerHashKvAnswer {
    fn encode(&self, buf: &mut BytesMut) {
        let as_response: Result<Response, ApiError> = self.0.clone().map(Response::HashKv);
        as_response.encode(buf);
    }
}

impl Decode for PeerHashKvAnswer {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        match Result::<Response, ApiError>::decode(r)? {
            Ok(Response::HashKv(hash)) => Ok(PeerHashKvAnswer(Ok(hash))),
            Err(error) => Ok(PeerHashKvAnswer(Err(error))),
            Ok(other) => Err(WireError::malformed(
                "hash kv answer",
                format!("not a hash: {other:?}"),
            )),
        }
    }
}

/// A follower forwards a client's promotion of learner `member_id` to the
/// leader, which alone can judge whether the learner is in sync (etcd
/// forwards `MemberPromote` the same way); the leader answers with a
/// [`PeerPromoteAnswer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerPromoteRequest {
    /// The learner to promote.
    pub member_id: u64,
}

impl Encode for PeerPromoteRequest {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.member_id);
    }
}

impl Decode for PeerPromoteRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PeerPromoteRequest {
            member_id: r.u64("promote request")?,
        })
    }
}

/// The leader's answer to a forwarded promotion: the member list after
/// it, or why it was refused. Encoded as a client response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPromoteAnswer(pub Result<MemberResponse, ApiError>);

impl Encode for PeerPromoteAnswer {
    fn encode(&self, buf: &mut BytesMut) {
        let as_response: Result<Response, ApiError> = self.0.clone().map(Response::Member);
        as_response.encode(buf);
    }
}

impl Decode for PeerPromoteAnswer {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        match Result::<Response, ApiError>::decode(r)? {
            Ok(Response::Member(members)) => Ok(PeerPromoteAnswer(Ok(members))),
            Err(error) => Ok(PeerPromoteAnswer(Err(error))),
            Ok(other) => Err(WireError::malformed(
                "promote answer",
                format!("not a member list: {other:?}"),
            )),
        }
    }
}
