//! The closed sets of requests a client can send and answers it can get.

use super::*;

/// Every request the client port accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Read keys.
    Range(RangeRequest),
    /// Write a key.
    Put(PutRequest),
    /// Delete keys.
    DeleteRange(DeleteRangeRequest),
    /// Conditional multi-operation transaction.
    Txn(TxnRequest),
    /// Drop history below a revision.
    Compact(CompactionRequest),
    /// List members.
    MemberList(MemberListRequest),
    /// Add a member.
    MemberAdd(MemberAddRequest),
    /// Remove a member.
    MemberRemove(MemberRemoveRequest),
    /// Change a member's peer URLs.
    MemberUpdate(MemberUpdateRequest),
    /// Promote a learner.
    MemberPromote(MemberPromoteRequest),
    /// This member's status.
    Status,
    /// List, raise or clear alarms.
    Alarm(AlarmRequest),
    /// Hash of the key-value state.
    HashKv(HashKvRequest),
    /// Transfer leadership.
    MoveLeader(MoveLeaderRequest),
    /// Rewrite this member's state file compactly (no raft: one member).
    Defragment,
    /// Grant a lease.
    LeaseGrant(LeaseGrantRequest),
    /// Revoke a lease (and delete its keys).
    LeaseRevoke(LeaseRevokeRequest),
    /// Restart a lease's countdown.
    LeaseKeepAlive(LeaseKeepAliveRequest),
    /// A lease's remaining time.
    LeaseTimeToLive(LeaseTimeToLiveRequest),
    /// List leases.
    LeaseLeases,
    /// Users, roles, permissions, authentication.
    Auth(AuthRequest),
}

/// Every successful answer, one variant per [`Request`] variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Answer to [`Request::Range`].
    Range(RangeResponse),
    /// Answer to [`Request::Put`].
    Put(PutResponse),
    /// Answer to [`Request::DeleteRange`].
    DeleteRange(DeleteRangeResponse),
    /// Answer to [`Request::Txn`].
    Txn(TxnResponse),
    /// Answer to [`Request::Compact`].
    Compact(CompactionResponse),
    /// Answer to the membership requests.
    Member(MemberResponse),
    /// Answer to [`Request::Status`].
    Status(StatusResponse),
    /// Answer to [`Request::Alarm`].
    Alarm(AlarmResponse),
    /// Answer to [`Request::HashKv`].
    HashKv(HashKvResponse),
    /// Answer to [`Request::MoveLeader`].
    MoveLeader(MoveLeaderResponse),
    /// Answer to [`Request::Defragment`].
    Defragment(DefragmentResponse),
    /// Answer to [`Request::LeaseGrant`].
    LeaseGrant(LeaseGrantResponse),
    /// Answer to [`Request::LeaseRevoke`].
    LeaseRevoke(LeaseRevokeResponse),
    /// Answer to [`Request::LeaseKeepAlive`].
    LeaseKeepAlive(LeaseKeepAliveResponse),
    /// Answer to [`Request::LeaseTimeToLive`].
    LeaseTimeToLive(LeaseTimeToLiveResponse),
    /// Answer to [`Request::LeaseLeases`].
    LeaseLeases(LeaseLeasesResponse),
    /// Answer to [`Request::Auth`].
    Auth(AuthResponse),
}

impl Response {
    /// The header of whichever answer this is.
    pub fn header(&self) -> &ResponseHeader {
        match self {
            Response::Range(r) => &r.header,
            Response::Put(r) => &r.header,
            Response::DeleteRange(r) => &r.header,
            Response::Txn(r) => &r.header,
            Response::Compact(r) => &r.header,
            Response::Member(r) => &r.header,
            Response::Status(r) => &r.header,
            Response::Alarm(r) => &r.header,
            Response::HashKv(r) => &r.header,
            Response::MoveLeader(r) => &r.header,
            Response::Defragment(r) => &r.header,
            Response::LeaseGrant(r) => &r.header,
            Response::LeaseRevoke(r) => &r.header,
            Response::LeaseKeepAlive(r) => &r.header,
            Response::LeaseTimeToLive(r) => &r.header,
            Response::LeaseLeases(r) => &r.header,
            Response::Auth(r) => &r.header,
        }
    }

    /// The header of whichever answer this is, to fill in.
    pub fn header_mut(&mut self) -> &mut ResponseHeader {
        match self {
            Response::Range(r) => &mut r.header,
            Response::Put(r) => &mut r.header,
            Response::DeleteRange(r) => &mut r.header,
            Response::Txn(r) => &mut r.header,
            Response::Compact(r) => &mut r.header,
            Response::Member(r) => &mut r.header,
            Response::Status(r) => &mut r.header,
            Response::Alarm(r) => &mut r.header,
            Response::HashKv(r) => &mut r.header,
            Response::MoveLeader(r) => &mut r.header,
            Response::Defragment(r) => &mut r.header,
            Response::LeaseGrant(r) => &mut r.header,
            Response::LeaseRevoke(r) => &mut r.header,
            Response::LeaseKeepAlive(r) => &mut r.header,
            Response::LeaseTimeToLive(r) => &mut r.header,
            Response::LeaseLeases(r) => &mut r.header,
            Response::Auth(r) => &mut r.header,
        }
    }
}
