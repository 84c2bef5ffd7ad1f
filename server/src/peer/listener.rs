//! The peer listener: accepts other members' connections and hands their
//! raft messages and snapshots to the node.
//!
//! A connection opens with the handshake, then either a peer hello (raft
//! traffic follows), a cluster-info request (a member joining with
//! existing state asks who is in the cluster), a hash-kv request (a
//! restarting member compares its keys with this member's) or a forwarded
//! promotion (a follower asks the leader to promote a learner). Hellos from another cluster,
//! or for another member, are refused. Snapshot images are reassembled from
//! chunks (bounded in size, offsets checked) and handed over with their
//! raft message; anything malformed closes the connection and nothing else.

use super::{PeerTraffic, wire_bytes};
use crate::tls::{Dialer, ServerConfig};
use crate::url::Url;
use bytes::{Bytes, BytesMut};
use keel_engine::api::{
    ApiError, HashKvRequest, MemberListRequest, MemberPromoteRequest, Request, Response,
};
use keel_engine::node::NodeHandle;
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::handshake::{
    HandshakeStatus, Role, decode_hello, encode_reply, judge_hello,
};
use keel_engine::wire::io::{read_frame, read_handshake, write_frame, write_handshake};
use keel_engine::wire::{
    ClusterInfo, Encode, Frame, PeerFrame, PeerHashKvAnswer, PeerHashKvRequest, PeerHelloAck,
    PeerPromoteAnswer, PeerPromoteRequest, SnapshotAck, WireError, decode_peer_body,
};
use raft::eraftpb::MessageType;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// Limits of the peer listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerListenerOptions {
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// Largest snapshot image accepted.
    pub max_snapshot_bytes: u64,
    /// Where the bytes received from each peer are counted.
    pub traffic: Arc<PeerTraffic>,
}

impl Default for PeerListenerOptions {
    fn default() -> Self {
        PeerListenerOptions {
            max_frame_bytes: 8 << 20,
            max_snapshot_bytes: 64 << 30,
            traffic: Arc::default(),
        }
    }
}

/// Who this listener is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// This member.
    pub member_id: u64,
    /// Its cluster.
    pub cluster_id: u64,
}

/// Serves peer connections until the task is dropped; with `tls` (an
/// `https://` peer URL) inside TLS, the same frames either way.
pub async fn serve_peers(
    listener: TcpListener,
    node: NodeHandle,
    identity: PeerIdentity,
    options: PeerListenerOptions,
    tls: Option<Arc<ServerConfig>>,
) {
    crate::accept::accept_loop(listener, "peer", tls, move |reader, writer, _| {
        let (node, options) = (node.clone(), options.clone());
        async move { serve_peer(reader, writer, &node, identity, &options).await }
    })
    .await
}

/// Serves one peer connection (any byte stream; tests use in-memory pipes).
pub async fn serve_peer<R, W>(
    mut reader: R,
    mut writer: W,
    node: &NodeHandle,
    identity: PeerIdentity,
    options: &PeerListenerOptions,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (role, version) = decode_hello(&read_handshake(&mut reader).await?)?;
    let status = judge_hello(role, version, Role::Peer);
    write_handshake(&mut writer, &encode_reply(status)).await?;
    if status != HandshakeStatus::Accepted {
        return Ok(());
    }
    let first = read_frame(&mut reader, options.max_frame_bytes)
        .await?
        .ok_or(WireError::Truncated)?;
    match decode_peer_body(&first)? {
        PeerFrame::ClusterInfoRequest => {
            let info = cluster_info(node, identity.cluster_id).await;
            let body = match info {
                Ok(info) => info.to_bytes(),
                Err(err) => return Err(WireError::Io(err.to_string())),
            };
            write_frame(
                &mut writer,
                &Frame::new(FrameKind::ClusterInfoResponse, 0, body),
            )
            .await?;
            return Ok(());
        }
        PeerFrame::HashKvRequest(asked) => {
            let answer = hash_kv(node, asked.revision).await;
            write_frame(
                &mut writer,
                &Frame::new(FrameKind::HashKvResponse, 0, answer.to_bytes()),
            )
            .await?;
            return Ok(());
        }
        PeerFrame::PromoteRequest(asked) => {
            let answer = promote(node, asked.member_id).await;
            write_frame(
                &mut writer,
                &Frame::new(FrameKind::PromoteResponse, 0, answer.to_bytes()),
            )
            .await?;
            return Ok(());
        }
        PeerFrame::Hello(hello) => {
            let refusal = if identity.cluster_id != 0 && hello.cluster_id != identity.cluster_id {
                Some(format!(
                    "request cluster ID mismatch (got {:x} want {:x})",
                    hello.cluster_id, identity.cluster_id
                ))
            } else if hello.to != identity.member_id {
                Some(format!(
                    "this is member {:x}, not {:x}",
                    identity.member_id, hello.to
                ))
            } else {
                None
            };
            let ack = PeerHelloAck {
                accepted: refusal.is_none(),
                reason: refusal.clone().unwrap_or_default(),
            };
            write_frame(
                &mut writer,
                &Frame::new(FrameKind::PeerHelloAck, 0, ack.to_bytes()),
            )
            .await?;
            if let Some(reason) = refusal {
                return Err(WireError::Io(reason));
            }
        }
        other => {
            return Err(WireError::malformed(
                "peer",
                format!("expected a hello, got {other:?}"),
            ));
        }
    }
    let mut reader = tokio::io::BufReader::with_capacity(64 * 1024, reader);
    let mut image: Option<(u64, u64, BytesMut, u64)> = None;
    // Who sends on this connection: known from its first raft message (a
    // snapshot's chunks come before it, and are counted then).
    let mut sender: Option<u64> = None;
    let mut uncounted_bytes = 0;
    while let Some(frame) = read_frame(&mut reader, options.max_frame_bytes).await? {
        if node.status().stopped {
            // The member stopped (an in-process shutdown leaves this task
            // running): close, so the peer redials whoever listens now.
            return Err(WireError::Io("this member has stopped".into()));
        }
        match decode_peer_body(&frame)? {
            PeerFrame::Messages(batch) => {
                if let Some(first) = batch.0.first() {
                    sender = Some(first.from);
                }
                uncounted_bytes += wire_bytes(&frame);
                if let Some(from) = sender {
                    options
                        .traffic
                        .received(from, std::mem::take(&mut uncounted_bytes));
                }
                for message in batch.0 {
                    if message.to != identity.member_id {
                        continue;
                    }
                    if message.get_msg_type() == MessageType::MsgSnapshot {
                        let Some((index, term, bytes, total)) = image.take() else {
                            return Err(WireError::malformed(
                                "peer",
                                "snapshot message without its image",
                            ));
                        };
                        let meta = message.get_snapshot().get_metadata();
                        let whole = bytes.len() as u64 == total;
                        let ack = SnapshotAck {
                            index,
                            received_len: bytes.len() as u64,
                            ok: whole && meta.index == index && meta.term == term,
                        };
                        if ack.ok {
                            node.step_snapshot(message, bytes.freeze());
                        }
                        write_frame(
                            &mut writer,
                            &Frame::new(FrameKind::SnapshotAck, 0, ack.to_bytes()),
                        )
                        .await?;
                    } else {
                        node.step(message);
                    }
                }
            }
            PeerFrame::Chunk(chunk) => {
                uncounted_bytes += wire_bytes(&frame);
                if chunk.total_len > options.max_snapshot_bytes {
                    return Err(WireError::FrameTooLarge {
                        len: chunk.total_len,
                        max: options.max_snapshot_bytes,
                    });
                }
                let (index, term, bytes, total) = image.get_or_insert_with(|| {
                    (chunk.index, chunk.term, BytesMut::new(), chunk.total_len)
                });
                let in_order = *index == chunk.index
                    && *term == chunk.term
                    && *total == chunk.total_len
                    && bytes.len() as u64 == chunk.offset
                    && chunk.offset + chunk.data.len() as u64 <= chunk.total_len;
                if !in_order {
                    return Err(WireError::malformed(
                        "snapshot chunk",
                        "out of order or past its total",
                    ));
                }
                bytes.extend_from_slice(&chunk.data);
            }
            other => {
                return Err(WireError::malformed(
                    "peer",
                    format!("unexpected {other:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// The cluster's id and members, linearizable: a lagging member must not
/// hand a joining member a list from before it was added (the joiner would
/// take a removed member's id). When no quorum answers within half a
/// second, only the leader answers from its own view — it has every
/// membership change it committed, and a voter just added to a cluster
/// that needs it for quorum must still be able to join. (Both found by
/// keel-sim.)
async fn cluster_info(node: &NodeHandle, cluster_id: u64) -> Result<ClusterInfo, ApiError> {
    let current = tokio::time::timeout(
        Duration::from_millis(500),
        node.request(Request::MemberList(MemberListRequest {
            linearizable: true,
        })),
    )
    .await;
    let answer = match current {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) | Err(_) => {
            let status = node.status();
            if status.leader_id != status.member_id {
                return Err(ApiError::Unavailable(
                    "cannot confirm the member list; ask another member".into(),
                ));
            }
            node.request(Request::MemberList(MemberListRequest {
                linearizable: false,
            }))
            .await?
        }
    };
    match answer {
        Response::Member(members) => Ok(ClusterInfo {
            cluster_id: if cluster_id != 0 {
                cluster_id
            } else {
                members.header.cluster_id
            },
            members: members.members,
        }),
        other => Err(ApiError::Unavailable(format!(
            "unexpected answer: {other:?}"
        ))),
    }
}

/// This member's hash of its keys at `revision`, served from its own state
/// (no raft round: the check compares what each member holds).
async fn hash_kv(node: &NodeHandle, revision: i64) -> PeerHashKvAnswer {
    // Peers are trusted (the peer port's TLS says who they are): their
    // corruption checks are not checked against auth.
    let hash = Request::HashKv(HashKvRequest { revision });
    let answer = match node
        .request_as(hash, keel_engine::api::Credentials::Member)
        .await
    {
        Ok(Response::HashKv(hash)) => Ok(hash),
        Ok(other) => Err(ApiError::Unavailable(format!(
            "unexpected answer to hash kv: {other:?}"
        ))),
        Err(err) => Err(err),
    };
    PeerHashKvAnswer(answer)
}

/// Promotes learner `member_id` for a follower that forwarded a client's
/// request. Not forwarded again: a member that is no longer the leader
/// answers `NotLeader`, and the client retries as it would with etcd.
async fn promote(node: &NodeHandle, member_id: u64) -> PeerPromoteAnswer {
    let request = Request::MemberPromote(MemberPromoteRequest { id: member_id });
    // The follower checked the client's permission before forwarding.
    let forwarded = node.request_as(request, keel_engine::api::Credentials::Member);
    PeerPromoteAnswer(match forwarded.await {
        Ok(Response::Member(members)) => Ok(members),
        Ok(other) => Err(ApiError::Unavailable(format!(
            "unexpected answer to promote: {other:?}"
        ))),
        Err(err) => Err(err),
    })
}

/// Asks the leader at `url` to promote learner `member_id` (a follower
/// forwarding a client's `MemberPromote`).
pub async fn forward_promote(
    url: &Url,
    dialer: &Dialer,
    member_id: u64,
    max_frame_bytes: usize,
) -> Result<PeerPromoteAnswer, WireError> {
    let request = Frame::new(
        FrameKind::PromoteRequest,
        0,
        PeerPromoteRequest { member_id }.to_bytes(),
    );
    match ask_peer(url, dialer, &request, max_frame_bytes).await? {
        PeerFrame::Promote(answer) => Ok(answer),
        other => Err(WireError::malformed(
            "promote answer",
            format!("unexpected {other:?}"),
        )),
    }
}

/// Asks the peer at `url` for the cluster's id and members (over TLS if
/// the URL is `https://`).
pub async fn fetch_cluster_info(
    url: &Url,
    dialer: &Dialer,
    max_frame_bytes: usize,
) -> Result<ClusterInfo, WireError> {
    let request = Frame::new(FrameKind::ClusterInfoRequest, 0, Bytes::new());
    match ask_peer(url, dialer, &request, max_frame_bytes).await? {
        PeerFrame::ClusterInfo(info) => Ok(info),
        other => Err(WireError::malformed(
            "cluster info",
            format!("unexpected {other:?}"),
        )),
    }
}

/// Asks the peer at `url` for its hash of the keys at `revision` (etcd's
/// initial corruption check).
pub async fn fetch_hash_kv(
    url: &Url,
    dialer: &Dialer,
    revision: i64,
    max_frame_bytes: usize,
) -> Result<PeerHashKvAnswer, WireError> {
    let request = Frame::new(
        FrameKind::HashKvRequest,
        0,
        PeerHashKvRequest { revision }.to_bytes(),
    );
    match ask_peer(url, dialer, &request, max_frame_bytes).await? {
        PeerFrame::HashKv(answer) => Ok(answer),
        other => Err(WireError::malformed(
            "hash kv answer",
            format!("unexpected {other:?}"),
        )),
    }
}

/// Sends `request` on a new connection to the peer at `url` (over TLS if
/// the URL is `https://`) and reads the one frame that answers it.
async fn ask_peer(
    url: &Url,
    dialer: &Dialer,
    request: &Frame,
    max_frame_bytes: usize,
) -> Result<PeerFrame, WireError> {
    let stream = dialer
        .dial(&url.socket_address(), &url.host, url.tls)
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    let (mut reader, mut writer) = tokio::io::split(stream);
    write_handshake(
        &mut writer,
        &keel_engine::wire::handshake::encode_hello(Role::Peer),
    )
    .await?;
    keel_engine::wire::handshake::decode_reply(&read_handshake(&mut reader).await?)?;
    write_frame(&mut writer, request).await?;
    let answer = read_frame(&mut reader, max_frame_bytes)
        .await?
        .ok_or(WireError::Truncated)?;
    decode_peer_body(&answer)
}
