use super::*;
use crate::api::*;
use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn header() -> impl Strategy<Value = ResponseHeader> {
    any::<(u64, u64, i64, u64)>().prop_map(|(cluster_id, member_id, revision, raft_term)| {
        ResponseHeader {
            cluster_id,
            member_id,
            revision,
            raft_term,
        }
    })
}

fn kv() -> impl Strategy<Value = KeyValue> {
    (bytes(), bytes(), any::<[i64; 4]>()).prop_map(|(key, value, n)| KeyValue {
        key,
        value,
        create_revision: n[0],
        mod_revision: n[1],
        version: n[2],
        lease: n[3],
    })
}

fn range() -> impl Strategy<Value = RangeRequest> {
    (
        bytes(),
        bytes(),
        any::<[i64; 6]>(),
        0u8..3,
        0u8..5,
        any::<[bool; 3]>(),
    )
        .prop_map(|(key, range_end, n, order, target, flags)| RangeRequest {
            key,
            range_end,
            limit: n[0],
            revision: n[1],
            sort_order: [SortOrder::None, SortOrder::Ascend, SortOrder::Descend][order as usize],
            sort_target: [
                SortTarget::Key,
                SortTarget::Version,
                SortTarget::Create,
                SortTarget::Mod,
                SortTarget::Value,
            ][target as usize],
            serializable: flags[0],
            keys_only: flags[1],
            count_only: flags[2],
            min_mod_revision: n[2],
            max_mod_revision: n[3],
            min_create_revision: n[4],
            max_create_revision: n[5],
        })
}

fn put() -> impl Strategy<Value = PutRequest> {
    (bytes(), bytes(), any::<i64>(), any::<[bool; 3]>()).prop_map(|(key, value, lease, f)| {
        PutRequest {
            key,
            value,
            lease,
            prev_kv: f[0],
            ignore_value: f[1],
            ignore_lease: f[2],
        }
    })
}

fn delete() -> impl Strategy<Value = DeleteRangeRequest> {
    (bytes(), bytes(), any::<bool>()).prop_map(|(key, range_end, prev_kv)| DeleteRangeRequest {
        key,
        range_end,
        prev_kv,
    })
}

fn compare() -> impl Strategy<Value = Compare> {
    let target = prop_oneof![
        any::<i64>().prop_map(CompareTarget::Version),
        any::<i64>().prop_map(CompareTarget::Create),
        any::<i64>().prop_map(CompareTarget::Mod),
        bytes().prop_map(CompareTarget::Value),
        any::<i64>().prop_map(CompareTarget::Lease),
    ];
    (0u8..4, target, bytes(), bytes()).prop_map(|(result, target, key, range_end)| Compare {
        result: [
            CompareResult::Equal,
            CompareResult::Greater,
            CompareResult::Less,
            CompareResult::NotEqual,
        ][result as usize],
        target,
        key,
        range_end,
    })
}

fn txn() -> impl Strategy<Value = TxnRequest> {
    let leaf = prop_oneof![
        range().prop_map(RequestOp::Range),
        put().prop_map(RequestOp::Put),
        delete().prop_map(RequestOp::DeleteRange),
    ];
    let ops = leaf.prop_recursive(3, 12, 3, |inner| {
        (
            prop::collection::vec(compare(), 0..2),
            prop::collection::vec(inner.clone(), 0..3),
            prop::collection::vec(inner, 0..3),
        )
            .prop_map(|(compare, success, failure)| {
                RequestOp::Txn(TxnRequest {
                    compare,
                    success,
                    failure,
                })
            })
    });
    (
        prop::collection::vec(compare(), 0..3),
        prop::collection::vec(ops.clone(), 0..3),
        prop::collection::vec(ops, 0..3),
    )
        .prop_map(|(compare, success, failure)| TxnRequest {
            compare,
            success,
            failure,
        })
}

fn member() -> impl Strategy<Value = Member> {
    (
        any::<u64>(),
        ".{0,6}",
        prop::collection::vec(".{0,10}", 0..3),
        prop::collection::vec(".{0,10}", 0..3),
        any::<bool>(),
    )
        .prop_map(|(id, name, peer_urls, client_urls, is_learner)| Member {
            id,
            name,
            peer_urls,
            client_urls,
            is_learner,
        })
}

fn alarm_type() -> impl Strategy<Value = AlarmType> {
    prop_oneof![
        Just(AlarmType::None),
        Just(AlarmType::NoSpace),
        Just(AlarmType::Corrupt)
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        range().prop_map(Request::Range),
        put().prop_map(Request::Put),
        delete().prop_map(Request::DeleteRange),
        txn().prop_map(Request::Txn),
        (any::<i64>(), any::<bool>()).prop_map(|(revision, physical)| Request::Compact(
            CompactionRequest { revision, physical }
        )),
        any::<bool>()
            .prop_map(|linearizable| Request::MemberList(MemberListRequest { linearizable })),
        (
            prop::collection::vec(".{0,10}", 0..3),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(peer_urls, is_learner, force)| Request::MemberAdd(
                MemberAddRequest {
                    peer_urls,
                    is_learner,
                    force
                }
            )),
        any::<u64>().prop_map(|id| Request::MemberRemove(MemberRemoveRequest { id })),
        (any::<u64>(), prop::collection::vec(".{0,10}", 0..3)).prop_map(|(id, peer_urls)| {
            Request::MemberUpdate(MemberUpdateRequest { id, peer_urls })
        }),
        any::<u64>().prop_map(|id| Request::MemberPromote(MemberPromoteRequest { id })),
        Just(Request::Status),
        (0u8..3, any::<u64>(), alarm_type()).prop_map(|(action, member_id, alarm)| Request::Alarm(
            AlarmRequest {
                action: [
                    AlarmAction::Get,
                    AlarmAction::Activate,
                    AlarmAction::Deactivate
                ][action as usize],
                member_id,
                alarm,
            }
        )),
        any::<i64>().prop_map(|revision| Request::HashKv(HashKvRequest { revision })),
        any::<u64>().prop_map(|target_id| Request::MoveLeader(MoveLeaderRequest { target_id })),
        (any::<i64>(), any::<i64>()).prop_map(|(ttl_seconds, id)| Request::LeaseGrant(
            LeaseGrantRequest { ttl_seconds, id }
        )),
        any::<i64>().prop_map(|id| Request::LeaseRevoke(LeaseRevokeRequest { id })),
        any::<i64>().prop_map(|id| Request::LeaseKeepAlive(LeaseKeepAliveRequest { id })),
        (any::<i64>(), any::<bool>())
            .prop_map(|(id, keys)| Request::LeaseTimeToLive(LeaseTimeToLiveRequest { id, keys })),
        Just(Request::LeaseLeases),
        Just(Request::Defragment),
        auth_request().prop_map(Request::Auth),
    ]
}

fn permission() -> impl Strategy<Value = Permission> {
    (
        0u8..3,
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(t, key, range_end)| Permission {
            perm_type: [
                PermissionType::Read,
                PermissionType::Write,
                PermissionType::ReadWrite,
            ][t as usize],
            key: Bytes::from(key),
            range_end: Bytes::from(range_end),
        })
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        ".{0,8}".prop_map(Credential::Password),
        ".{0,8}".prop_map(Credential::Hash),
        Just(Credential::NoPassword),
    ]
}

fn auth_request() -> impl Strategy<Value = AuthRequest> {
    let name = || ".{0,6}";
    prop_oneof![
        Just(AuthRequest::Enable),
        Just(AuthRequest::Disable),
        (name(), name()).prop_map(|(name, password)| AuthRequest::Authenticate { name, password }),
        (name(), name()).prop_map(|(name, token)| AuthRequest::IssueToken { name, token }),
        (name(), credential())
            .prop_map(|(name, credential)| AuthRequest::UserAdd { name, credential }),
        name().prop_map(|name| AuthRequest::UserGet { name }),
        Just(AuthRequest::UserList),
        name().prop_map(|name| AuthRequest::UserDelete { name }),
        (name(), credential()).prop_map(|(name, credential)| {
            AuthRequest::UserChangePassword { name, credential }
        }),
        (name(), name()).prop_map(|(user, role)| AuthRequest::UserGrantRole { user, role }),
        (name(), name()).prop_map(|(name, role)| AuthRequest::UserRevokeRole { name, role }),
        name().prop_map(|name| AuthRequest::RoleAdd { name }),
        name().prop_map(|role| AuthRequest::RoleGet { role }),
        Just(AuthRequest::RoleList),
        name().prop_map(|role| AuthRequest::RoleDelete { role }),
        (name(), permission())
            .prop_map(|(name, perm)| AuthRequest::RoleGrantPermission { name, perm }),
        (name(), permission()).prop_map(|(role, p)| AuthRequest::RoleRevokePermission {
            role,
            key: p.key,
            range_end: p.range_end,
        }),
    ]
}

fn auth_answer() -> impl Strategy<Value = AuthAnswer> {
    let names = || prop::collection::vec(".{0,6}", 0..3);
    prop_oneof![
        Just(AuthAnswer::Done),
        (".{0,8}", any::<u64>())
            .prop_map(|(token, revision)| AuthAnswer::Authenticated { token, revision }),
        names().prop_map(AuthAnswer::Roles),
        names().prop_map(AuthAnswer::Users),
        prop::collection::vec(permission(), 0..3).prop_map(AuthAnswer::Permissions),
        names().prop_map(AuthAnswer::RoleNames),
    ]
}

fn range_resp() -> impl Strategy<Value = RangeResponse> {
    (
        header(),
        prop::collection::vec(kv(), 0..3),
        any::<bool>(),
        any::<i64>(),
    )
        .prop_map(|(header, kvs, more, count)| RangeResponse {
            header,
            kvs,
            more,
            count,
        })
}

fn put_resp() -> impl Strategy<Value = PutResponse> {
    (header(), prop::option::of(kv())).prop_map(|(header, prev_kv)| PutResponse { header, prev_kv })
}

fn del_resp() -> impl Strategy<Value = DeleteRangeResponse> {
    (header(), any::<i64>(), prop::collection::vec(kv(), 0..2)).prop_map(
        |(header, deleted, prev_kvs)| DeleteRangeResponse {
            header,
            deleted,
            prev_kvs,
        },
    )
}

fn response() -> impl Strategy<Value = Response> {
    let op = prop_oneof![
        range_resp().prop_map(ResponseOp::Range),
        put_resp().prop_map(ResponseOp::Put),
        del_resp().prop_map(ResponseOp::DeleteRange),
    ];
    let ops = op.prop_recursive(2, 8, 3, |inner| {
        (header(), any::<bool>(), prop::collection::vec(inner, 0..3)).prop_map(
            |(header, succeeded, responses)| {
                ResponseOp::Txn(TxnResponse {
                    header,
                    succeeded,
                    responses,
                })
            },
        )
    });
    prop_oneof![
        range_resp().prop_map(Response::Range),
        put_resp().prop_map(Response::Put),
        del_resp().prop_map(Response::DeleteRange),
        (header(), any::<bool>(), prop::collection::vec(ops, 0..3)).prop_map(
            |(header, succeeded, responses)| Response::Txn(TxnResponse {
                header,
                succeeded,
                responses
            })
        ),
        header().prop_map(|header| Response::Compact(CompactionResponse { header })),
        (
            header(),
            prop::option::of(member()),
            prop::collection::vec(member(), 0..3)
        )
            .prop_map(
                |(header, member, members)| Response::Member(MemberResponse {
                    header,
                    member,
                    members
                })
            ),
        (
            header(),
            ".{0,8}",
            any::<[i64; 2]>(),
            any::<[u64; 4]>(),
            prop::collection::vec(".{0,8}", 0..2),
            any::<bool>()
        )
            .prop_map(|(header, version, sizes, raft, errors, is_learner)| {
                Response::Status(StatusResponse {
                    header,
                    version,
                    db_size: sizes[0],
                    db_size_in_use: sizes[1],
                    leader: raft[0],
                    raft_index: raft[1],
                    raft_term: raft[2],
                    raft_applied_index: raft[3],
                    errors,
                    is_learner,
                })
            }),
        (
            header(),
            prop::collection::vec((any::<u64>(), alarm_type()), 0..3)
        )
            .prop_map(|(header, alarms)| Response::Alarm(AlarmResponse {
                header,
                alarms: alarms
                    .into_iter()
                    .map(|(member_id, alarm)| AlarmMember { member_id, alarm })
                    .collect(),
            })),
        (header(), any::<u32>(), any::<i64>()).prop_map(|(header, hash, compact_revision)| {
            Response::HashKv(HashKvResponse {
                header,
                hash,
                compact_revision,
            })
        }),
        header().prop_map(|header| Response::MoveLeader(MoveLeaderResponse { header })),
        (header(), any::<i64>(), any::<i64>()).prop_map(|(header, id, ttl_seconds)| {
            Response::LeaseGrant(LeaseGrantResponse {
                header,
                id,
                ttl_seconds,
            })
        }),
        header().prop_map(|header| Response::LeaseRevoke(LeaseRevokeResponse { header })),
        (header(), any::<i64>(), any::<i64>()).prop_map(|(header, id, ttl_seconds)| {
            Response::LeaseKeepAlive(LeaseKeepAliveResponse {
                header,
                id,
                ttl_seconds,
            })
        }),
        (
            header(),
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..3)
        )
            .prop_map(|(header, id, ttl_seconds, granted_ttl_seconds, keys)| {
                Response::LeaseTimeToLive(LeaseTimeToLiveResponse {
                    header,
                    id,
                    ttl_seconds,
                    granted_ttl_seconds,
                    keys: keys.into_iter().map(Bytes::from).collect(),
                })
            }),
        (header(), prop::collection::vec(any::<i64>(), 0..4)).prop_map(|(header, leases)| {
            Response::LeaseLeases(LeaseLeasesResponse { header, leases })
        }),
        header().prop_map(|header| Response::Defragment(DefragmentResponse { header })),
        (header(), auth_answer())
            .prop_map(|(header, answer)| Response::Auth(AuthResponse { header, answer })),
    ]
}

fn api_error() -> impl Strategy<Value = ApiError> {
    prop_oneof![
        (1u16..=52).prop_filter_map("simple codes", |code| {
            let mut buf = BytesMut::new();
            buf.put_u16(code);
            match code {
                5 => buf.put_i64(9),
                22 => buf.put_u64(3),
                32 | 33 => codec::put_bytes(&mut buf, b"why"),
                _ => {}
            }
            ApiError::from_bytes(&buf.freeze()).ok()
        }),
        any::<i64>().prop_map(|compact_revision| ApiError::Compacted { compact_revision }),
        prop::option::of(1u64..).prop_map(|leader_hint| ApiError::NotLeader { leader_hint }),
        ".{0,12}".prop_map(ApiError::BadRequest),
    ]
}

fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    prop_assert_eq!(&T::from_bytes(&bytes).unwrap(), value);
    // Every strict prefix fails (no value is a prefix of another's encoding).
    for cut in 0..bytes.len() {
        prop_assert!(
            T::from_bytes(&bytes.slice(..cut)).is_err(),
            "prefix {} decoded",
            cut
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn requests_round_trip(r in request()) {
        round_trip(&r)?;
        let frame = Frame::new(FrameKind::Request, 42, r.to_bytes());
        prop_assert_eq!(decode_client_frame(&frame.encode(), 1 << 20).unwrap(), ClientFrame::Request(42, r));
    }

    #[test]
    fn responses_and_errors_round_trip(ok in response(), err in api_error()) {
        round_trip(&Ok::<Response, ApiError>(ok))?;
        round_trip(&Err::<Response, ApiError>(err.clone()))?;
        round_trip(&err)?;
    }

    #[test]
    fn peer_bodies_round_trip(ids in any::<[u64; 3]>(), data in bytes(), last in any::<bool>(), reason in ".{0,10}") {
        round_trip(&PeerHello { cluster_id: ids[0], from: ids[1], to: ids[2] })?;
        round_trip(&PeerHelloAck { accepted: last, reason: reason.clone() })?;
        round_trip(&SnapshotChunk { index: ids[0], term: ids[1], offset: ids[2], total_len: 9, data, last })?;
        round_trip(&SnapshotAck { index: ids[0], received_len: ids[1], ok: last })?;
        round_trip(&ClusterInfo { cluster_id: ids[0], members: vec![Member { id: ids[1], name: reason.clone(), ..Member::default() }] })?;
        round_trip(&PeerHashKvRequest { revision: ids[0] as i64 })?;
        let hash = HashKvResponse { header: ResponseHeader { cluster_id: ids[0], member_id: ids[1], revision: ids[2] as i64, raft_term: 3 }, hash: ids[1] as u32, compact_revision: ids[2] as i64 };
        round_trip(&PeerHashKvAnswer(Ok(hash)))?;
        round_trip(&PeerHashKvAnswer(Err(ApiError::FutureRevision)))?;
        round_trip(&PeerHashKvAnswer(Err(ApiError::Compacted { compact_revision: ids[0] as i64 })))?;
        round_trip(&PeerPromoteRequest { member_id: ids[2] })?;
        let members = MemberResponse { header: ResponseHeader { cluster_id: ids[0], member_id: ids[1], revision: 0, raft_term: 2 }, member: None, members: vec![Member { id: ids[2], name: reason.clone(), ..Member::default() }] };
        round_trip(&PeerPromoteAnswer(Ok(members)))?;
        round_trip(&PeerPromoteAnswer(Err(ApiError::LearnerNotReady)))?;
        let message = raft::eraftpb::Message { from: ids[0], to: ids[1], term: ids[2], ..Default::default() };
        let batch = RaftMessages(vec![message.clone(), message]);
        prop_assert_eq!(RaftMessages::from_bytes(&batch.to_bytes()).unwrap(), batch);
    }

    #[test]
    fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_client_frame(&raw, 1 << 16);
        let _ = decode_peer_frame(&raw, 1 << 16);
        let body = Bytes::from(raw);
        let _ = Request::from_bytes(&body);
        let _ = Result::<Response, ApiError>::from_bytes(&body);
        let _ = RaftMessages::from_bytes(&body);
    }

    #[test]
    fn frames_split_anywhere_reassemble(r in request(), split in 0usize..64) {
        let encoded = Frame::new(FrameKind::Request, 7, r.to_bytes()).encode();
        let split = split.min(encoded.len());
        if split < encoded.len() {
            prop_assert_eq!(decode_frame(&encoded[..split], 1 << 20).unwrap(), None);
        }
        let (frame, used) = decode_frame(&encoded, 1 << 20).unwrap().unwrap();
        prop_assert_eq!(used, encoded.len());
        prop_assert_eq!(frame.request_id, 7);
    }
}

#[test]
fn a_four_gib_length_is_refused_before_any_allocation() {
    let mut raw = u32::MAX.to_be_bytes().to_vec();
    raw.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        decode_frame(&raw, DEFAULT_MAX_FRAME_BYTES),
        Err(WireError::FrameTooLarge {
            len: u32::MAX as u64,
            max: DEFAULT_MAX_FRAME_BYTES as u64
        })
    );
    assert_eq!(
        WireError::FrameTooLarge { len: 1, max: 0 }.to_api_error(),
        ApiError::RequestTooLarge
    );
}

#[test]
fn short_lengths_unknown_kinds_and_trailing_bytes_are_refused() {
    assert!(matches!(
        decode_frame(&[0, 0, 0, 3, 1, 2, 3], 100),
        Err(WireError::Malformed { .. })
    ));
    let unknown = Frame {
        kind: FrameKind::Request,
        request_id: 1,
        body: Bytes::new(),
    }
    .encode();
    let mut unknown = unknown.to_vec();
    unknown[4] = 200;
    assert_eq!(
        decode_frame(&unknown, 100),
        Err(WireError::UnknownKind(200))
    );
    let mut body = Request::Status.to_bytes().to_vec();
    body.push(0);
    assert!(matches!(
        Request::from_bytes(&Bytes::from(body)),
        Err(WireError::Malformed { .. })
    ));
}

#[test]
fn hostile_counts_and_nesting_are_refused() {
    // A txn claiming 2^32-1 compares with 10 bytes left.
    let mut buf = BytesMut::new();
    buf.put_u8(3);
    buf.put_u32(u32::MAX);
    buf.put_slice(&[0u8; 10]);
    assert!(matches!(
        Request::from_bytes(&buf.freeze()),
        Err(WireError::Malformed { .. })
    ));
    // Txns nested 100 deep: refused without recursing that far.
    let mut nested = TxnRequest::default();
    for _ in 0..100 {
        nested = TxnRequest {
            compare: vec![],
            success: vec![RequestOp::Txn(nested)],
            failure: vec![],
        };
    }
    let encoded = Request::Txn(nested).to_bytes();
    let err = Request::from_bytes(&encoded).unwrap_err();
    assert!(err.to_string().contains("nested too deeply"), "{err}");
    // Invalid UTF-8 and a bool byte of 2.
    let mut bad_name = BytesMut::new();
    bad_name.put_u64(1);
    codec::put_bytes(&mut bad_name, &[0xff, 0xfe]);
    assert!(Member::from_bytes(&bad_name.freeze()).is_err());
    let mut bad_bool = Request::MemberList(MemberListRequest { linearizable: true })
        .to_bytes()
        .to_vec();
    bad_bool[1] = 2;
    assert!(Request::from_bytes(&Bytes::from(bad_bool)).is_err());
}

#[test]
fn handshakes_accept_and_refuse() {
    use handshake::*;
    let hello = encode_hello(Role::Client);
    let (role, version) = decode_hello(&hello).unwrap();
    assert_eq!(
        judge_hello(role, version, Role::Client),
        HandshakeStatus::Accepted
    );
    assert_eq!(
        judge_hello(role, version, Role::Peer),
        HandshakeStatus::WrongRole
    );
    assert_eq!(
        judge_hello(role, 9, Role::Client),
        HandshakeStatus::UnsupportedVersion
    );
    assert_eq!(decode_hello(b"GET / HT"), Err(WireError::BadMagic));
    assert!(decode_reply(&encode_reply(HandshakeStatus::Accepted)).is_ok());
    assert_eq!(
        decode_reply(&encode_reply(HandshakeStatus::UnsupportedVersion)),
        Err(WireError::UnsupportedVersion(PROTOCOL_VERSION))
    );
}

#[tokio::test]
async fn pipelined_frames_arrive_in_order_and_truncation_is_typed() {
    let (mut client, mut server) = tokio::io::duplex(1 << 16);
    for id in 1..=5u64 {
        let body = Request::Put(PutRequest {
            key: Bytes::from(vec![id as u8; 3]),
            ..PutRequest::default()
        })
        .to_bytes();
        io::write_frame(&mut client, &Frame::new(FrameKind::Request, id, body))
            .await
            .unwrap();
    }
    for id in 1..=5u64 {
        let frame = io::read_frame(&mut server, 1 << 16).await.unwrap().unwrap();
        assert_eq!(frame.request_id, id);
        assert!(
            matches!(Request::from_bytes(&frame.body).unwrap(), Request::Put(p) if p.key[0] == id as u8)
        );
    }
    // Half a frame, then the end of the stream.
    let full = Frame::new(FrameKind::Request, 9, Request::Status.to_bytes()).encode();
    use tokio::io::AsyncWriteExt;
    client.write_all(&full[..full.len() - 1]).await.unwrap();
    drop(client);
    assert_eq!(
        io::read_frame(&mut server, 1 << 16).await,
        Err(WireError::Truncated)
    );
    assert_eq!(io::read_frame(&mut server, 1 << 16).await, Ok(None));
}

#[tokio::test]
async fn an_oversized_frame_is_refused_from_the_prefix_alone() {
    let (mut client, mut server) = tokio::io::duplex(64);
    use tokio::io::AsyncWriteExt;
    client.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let err = io::read_frame(&mut server, 1024).await.unwrap_err();
    assert!(matches!(err, WireError::FrameTooLarge { .. }));
}

#[test]
fn every_error_code_decodes_to_an_error_with_that_code() {
    let mut decoded = 0;
    for code in 1u16..=64 {
        let mut buf = BytesMut::new();
        buf.put_u16(code);
        match code {
            5 => buf.put_i64(9),
            22 => buf.put_u64(3),
            32 | 33 => codec::put_bytes(&mut buf, b"why"),
            _ => {}
        }
        if let Ok(err) = ApiError::from_bytes(&buf.freeze()) {
            assert_eq!(err.code(), code, "{err:?}");
            decoded += 1;
        }
    }
    assert_eq!(decoded, 51, "codes 1..=51 are assigned, each once");
}

fn event() -> impl Strategy<Value = Event> {
    (any::<bool>(), kv(), prop::option::of(kv())).prop_map(|(put, kv, prev_kv)| Event {
        kind: if put {
            EventKind::Put
        } else {
            EventKind::Delete
        },
        kv,
        prev_kv,
    })
}

proptest! {
    #[test]
    fn watch_bodies_round_trip(
        key in bytes(),
        range_end in bytes(),
        start_revision in any::<i64>(),
        flags in any::<[bool; 4]>(),
        header in header(),
        created in any::<bool>(),
        canceled in any::<bool>(),
        compact_revision in any::<i64>(),
        reason in ".{0,20}",
        events in prop::collection::vec(event(), 0..4),
    ) {
        round_trip(&WatchCreateRequest {
            key,
            range_end,
            start_revision,
            prev_kv: flags[0],
            no_put: flags[1],
            no_delete: flags[2],
            progress_notify: flags[3],
        })?;
        round_trip(&WatchResponse {
            header,
            created,
            canceled,
            compact_revision,
            cancel_reason: reason,
            events,
        })?;
    }
}

#[test]
fn watch_frames_decode_as_client_frames() {
    let create = WatchCreateRequest {
        key: Bytes::from_static(b"a"),
        ..WatchCreateRequest::default()
    };
    let frame = Frame::new(FrameKind::WatchCreate, 5, create.to_bytes()).encode();
    assert_eq!(
        decode_client_frame(&frame, 1 << 20).unwrap(),
        ClientFrame::WatchCreate(5, create)
    );
    let cancel = Frame::new(FrameKind::WatchCancel, 5, Bytes::new()).encode();
    assert_eq!(
        decode_client_frame(&cancel, 1 << 20).unwrap(),
        ClientFrame::WatchCancel(5)
    );
    let cancel_with_body = Frame::new(FrameKind::WatchCancel, 5, Bytes::from_static(b"x")).encode();
    assert!(decode_client_frame(&cancel_with_body, 1 << 20).is_err());
    // A server's frame kind is not a client's.
    let response = Frame::new(FrameKind::WatchResponse, 5, Bytes::new()).encode();
    assert!(decode_client_frame(&response, 1 << 20).is_err());
}

#[test]
fn backup_frames_decode_on_both_sides() {
    let request = Frame::new(FrameKind::BackupRequest, 3, Bytes::new()).encode();
    assert_eq!(
        decode_client_frame(&request, 1 << 20).unwrap(),
        ClientFrame::Backup(3)
    );
    let with_body = Frame::new(FrameKind::BackupRequest, 3, Bytes::from_static(b"x")).encode();
    assert!(decode_client_frame(&with_body, 1 << 20).is_err());
    let data = BackupData {
        remaining_bytes: 1 << 40,
        blob: Bytes::from_static(b"pages"),
    };
    let frame = Frame::new(FrameKind::BackupData, 3, data.encode());
    assert_eq!(decode_backup_data(&frame).unwrap(), Ok(data));
    assert!(decode_client_frame(&frame.encode(), 1 << 20).is_err());
    let short = Frame::new(FrameKind::BackupData, 3, Bytes::from_static(b"1234567"));
    assert!(decode_backup_data(&short).is_err());
    let error = Frame::new(FrameKind::Error, 3, ApiError::NoLeader.to_bytes());
    assert_eq!(decode_backup_data(&error).unwrap(), Err(ApiError::NoLeader));
}

#[test]
fn a_password_hash_never_leaves_in_an_answer() {
    let escaped = Response::Auth(AuthResponse {
        header: ResponseHeader::default(),
        answer: AuthAnswer::PasswordHash {
            hash: "$2a$04$secretsecretsecretsecr".into(),
            revision: 3,
        },
    });
    let bytes = escaped.to_bytes();
    assert!(
        !bytes.windows(6).any(|w| w == b"secret"),
        "the hash was encoded"
    );
    assert!(matches!(
        Response::from_bytes(&bytes),
        Ok(Response::Auth(AuthResponse {
            answer: AuthAnswer::Done,
            ..
        }))
    ));
}
