//! Encodings of the client API's requests, responses and errors.

use super::codec::{Decode, Encode, Reader, put_bool, put_bytes, put_count, put_strings};
use super::error::WireError;
use crate::api::*;
use bytes::{BufMut, BytesMut};

fn bad_tag(what: &'static str, tag: u8) -> WireError {
    WireError::malformed(what, format!("unknown tag {tag}"))
}

impl Encode for ResponseHeader {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.cluster_id);
        buf.put_u64(self.member_id);
        buf.put_i64(self.revision);
        buf.put_u64(self.raft_term);
    }
}

impl Decode for ResponseHeader {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(ResponseHeader {
            cluster_id: r.u64("header")?,
            member_id: r.u64("header")?,
            revision: r.i64("header")?,
            raft_term: r.u64("header")?,
        })
    }
}

impl Encode for KeyValue {
    fn encode(&self, buf: &mut BytesMut) {
        put_bytes(buf, &self.key);
        buf.put_i64(self.create_revision);
        buf.put_i64(self.mod_revision);
        buf.put_i64(self.version);
        put_bytes(buf, &self.value);
        buf.put_i64(self.lease);
    }
}

impl Decode for KeyValue {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(KeyValue {
            key: r.bytes("key")?,
            create_revision: r.i64("kv")?,
            mod_revision: r.i64("kv")?,
            version: r.i64("kv")?,
            value: r.bytes("value")?,
            lease: r.i64("kv")?,
        })
    }
}

/// Bytes of the smallest encoded key-value.
const KV_MIN_BYTES: usize = 4 + 8 * 3 + 4 + 8;

fn put_kvs(buf: &mut BytesMut, kvs: &[KeyValue]) {
    put_count(buf, kvs.len());
    for kv in kvs {
        kv.encode(buf);
    }
}

fn read_kvs(r: &mut Reader) -> Result<Vec<KeyValue>, WireError> {
    r.list("kvs", KV_MIN_BYTES, KeyValue::decode)
}

fn put_option_kv(buf: &mut BytesMut, kv: &Option<KeyValue>) {
    match kv {
        None => buf.put_u8(0),
        Some(kv) => {
            buf.put_u8(1);
            kv.encode(buf);
        }
    }
}

fn read_option_kv(r: &mut Reader) -> Result<Option<KeyValue>, WireError> {
    match r.u8("prev_kv")? {
        0 => Ok(None),
        1 => Ok(Some(KeyValue::decode(r)?)),
        tag => Err(bad_tag("prev_kv", tag)),
    }
}

impl Encode for RangeRequest {
    fn encode(&self, buf: &mut BytesMut) {
        put_bytes(buf, &self.key);
        put_bytes(buf, &self.range_end);
        buf.put_i64(self.limit);
        buf.put_i64(self.revision);
        buf.put_u8(match self.sort_order {
            SortOrder::None => 0,
            SortOrder::Ascend => 1,
            SortOrder::Descend => 2,
        });
        buf.put_u8(match self.sort_target {
            SortTarget::Key => 0,
            SortTarget::Version => 1,
            SortTarget::Create => 2,
            SortTarget::Mod => 3,
            SortTarget::Value => 4,
        });
        put_bool(buf, self.serializable);
        put_bool(buf, self.keys_only);
        put_bool(buf, self.count_only);
        buf.put_i64(self.min_mod_revision);
        buf.put_i64(self.max_mod_revision);
        buf.put_i64(self.min_create_revision);
        buf.put_i64(self.max_create_revision);
    }
}

impl Decode for RangeRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let key = r.bytes("range key")?;
        let range_end = r.bytes("range end")?;
        let limit = r.i64("range")?;
        let revision = r.i64("range")?;
        let sort_order = match r.u8("sort order")? {
            0 => SortOrder::None,
            1 => SortOrder::Ascend,
            2 => SortOrder::Descend,
            tag => return Err(bad_tag("sort order", tag)),
        };
        let sort_target = match r.u8("sort target")? {
            0 => SortTarget::Key,
            1 => SortTarget::Version,
            2 => SortTarget::Create,
            3 => SortTarget::Mod,
            4 => SortTarget::Value,
            tag => return Err(bad_tag("sort target", tag)),
        };
        Ok(RangeRequest {
            key,
            range_end,
            limit,
            revision,
            sort_order,
            sort_target,
            serializable: r.bool("serializable")?,
            keys_only: r.bool("keys_only")?,
            count_only: r.bool("count_only")?,
            min_mod_revision: r.i64("range")?,
            max_mod_revision: r.i64("range")?,
            min_create_revision: r.i64("range")?,
            max_create_revision: r.i64("range")?,
        })
    }
}

impl Encode for RangeResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        put_kvs(buf, &self.kvs);
        put_bool(buf, self.more);
        buf.put_i64(self.count);
    }
}

impl Decode for RangeResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(RangeResponse {
            header: ResponseHeader::decode(r)?,
            kvs: read_kvs(r)?,
            more: r.bool("more")?,
            count: r.i64("count")?,
        })
    }
}

impl Encode for PutRequest {
    fn encode(&self, buf: &mut BytesMut) {
        put_bytes(buf, &self.key);
        put_bytes(buf, &self.value);
        buf.put_i64(self.lease);
        put_bool(buf, self.prev_kv);
        put_bool(buf, self.ignore_value);
        put_bool(buf, self.ignore_lease);
    }
}

impl Decode for PutRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PutRequest {
            key: r.bytes("put key")?,
            value: r.bytes("put value")?,
            lease: r.i64("lease")?,
            prev_kv: r.bool("prev_kv")?,
            ignore_value: r.bool("ignore_value")?,
            ignore_lease: r.bool("ignore_lease")?,
        })
    }
}

impl Encode for PutResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        put_option_kv(buf, &self.prev_kv);
    }
}

impl Decode for PutResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(PutResponse {
            header: ResponseHeader::decode(r)?,
            prev_kv: read_option_kv(r)?,
        })
    }
}

impl Encode for DeleteRangeRequest {
    fn encode(&self, buf: &mut BytesMut) {
        put_bytes(buf, &self.key);
        put_bytes(buf, &self.range_end);
        put_bool(buf, self.prev_kv);
    }
}

impl Decode for DeleteRangeRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(DeleteRangeRequest {
            key: r.bytes("delete key")?,
            range_end: r.bytes("delete range end")?,
            prev_kv: r.bool("prev_kv")?,
        })
    }
}

impl Encode for DeleteRangeResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        buf.put_i64(self.deleted);
        put_kvs(buf, &self.prev_kvs);
    }
}

impl Decode for DeleteRangeResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(DeleteRangeResponse {
            header: ResponseHeader::decode(r)?,
            deleted: r.i64("deleted")?,
            prev_kvs: read_kvs(r)?,
        })
    }
}

impl Encode for Compare {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(match self.result {
            CompareResult::Equal => 0,
            CompareResult::Greater => 1,
            CompareResult::Less => 2,
            CompareResult::NotEqual => 3,
        });
        match &self.target {
            CompareTarget::Version(v) => {
                buf.put_u8(0);
                buf.put_i64(*v);
            }
            CompareTarget::Create(v) => {
                buf.put_u8(1);
                buf.put_i64(*v);
            }
            CompareTarget::Mod(v) => {
                buf.put_u8(2);
                buf.put_i64(*v);
            }
            CompareTarget::Value(v) => {
                buf.put_u8(3);
                put_bytes(buf, v);
            }
            CompareTarget::Lease(v) => {
                buf.put_u8(4);
                buf.put_i64(*v);
            }
        }
        put_bytes(buf, &self.key);
        put_bytes(buf, &self.range_end);
    }
}

impl Decode for Compare {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let result = match r.u8("compare result")? {
            0 => CompareResult::Equal,
            1 => CompareResult::Greater,
            2 => CompareResult::Less,
            3 => CompareResult::NotEqual,
            tag => return Err(bad_tag("compare result", tag)),
        };
        let target = match r.u8("compare target")? {
            0 => CompareTarget::Version(r.i64("compare")?),
            1 => CompareTarget::Create(r.i64("compare")?),
            2 => CompareTarget::Mod(r.i64("compare")?),
            3 => CompareTarget::Value(r.bytes("compare value")?),
            4 => CompareTarget::Lease(r.i64("compare")?),
            tag => return Err(bad_tag("compare target", tag)),
        };
        Ok(Compare {
            result,
            target,
            key: r.bytes("compare key")?,
            range_end: r.bytes("compare range end")?,
        })
    }
}

impl Encode for RequestOp {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            RequestOp::Range(x) => {
                buf.put_u8(0);
                x.encode(buf);
            }
            RequestOp::Put(x) => {
                buf.put_u8(1);
                x.encode(buf);
            }
            RequestOp::DeleteRange(x) => {
                buf.put_u8(2);
                x.encode(buf);
            }
            RequestOp::Txn(x) => {
                buf.put_u8(3);
                x.encode(buf);
            }
        }
    }
}

impl Decode for RequestOp {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("request op")? {
            0 => RequestOp::Range(RangeRequest::decode(r)?),
            1 => RequestOp::Put(PutRequest::decode(r)?),
            2 => RequestOp::DeleteRange(DeleteRangeRequest::decode(r)?),
            3 => RequestOp::Txn(TxnRequest::decode(r)?),
            tag => return Err(bad_tag("request op", tag)),
        })
    }
}

impl Encode for ResponseOp {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            ResponseOp::Range(x) => {
                buf.put_u8(0);
                x.encode(buf);
            }
            ResponseOp::Put(x) => {
                buf.put_u8(1);
                x.encode(buf);
            }
            ResponseOp::DeleteRange(x) => {
                buf.put_u8(2);
                x.encode(buf);
            }
            ResponseOp::Txn(x) => {
                buf.put_u8(3);
                x.encode(buf);
            }
        }
    }
}

impl Decode for ResponseOp {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("response op")? {
            0 => ResponseOp::Range(RangeResponse::decode(r)?),
            1 => ResponseOp::Put(PutResponse::decode(r)?),
            2 => ResponseOp::DeleteRange(DeleteRangeResponse::decode(r)?),
            3 => ResponseOp::Txn(TxnResponse::decode(r)?),
            tag => return Err(bad_tag("response op", tag)),
        })
    }
}

fn put_list<T: Encode>(buf: &mut BytesMut, items: &[T]) {
    put_count(buf, items.len());
    for item in items {
        item.encode(buf);
    }
}

impl Encode for TxnRequest {
    fn encode(&self, buf: &mut BytesMut) {
        put_list(buf, &self.compare);
        put_list(buf, &self.success);
        put_list(buf, &self.failure);
    }
}

impl Decode for TxnRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        r.nest("txn")?;
        let txn = TxnRequest {
            compare: r.list("compares", 11, Compare::decode)?,
            success: r.list("success ops", 1, RequestOp::decode)?,
            failure: r.list("failure ops", 1, RequestOp::decode)?,
        };
        r.unnest();
        Ok(txn)
    }
}

impl Encode for TxnResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        put_bool(buf, self.succeeded);
        put_list(buf, &self.responses);
    }
}

impl Decode for TxnResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        r.nest("txn response")?;
        let txn = TxnResponse {
            header: ResponseHeader::decode(r)?,
            succeeded: r.bool("succeeded")?,
            responses: r.list("responses", 1, ResponseOp::decode)?,
        };
        r.unnest();
        Ok(txn)
    }
}

impl Encode for Member {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.id);
        put_bytes(buf, self.name.as_bytes());
        put_strings(buf, &self.peer_urls);
        put_strings(buf, &self.client_urls);
        put_bool(buf, self.is_learner);
    }
}

impl Decode for Member {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(Member {
            id: r.u64("member id")?,
            name: r.string("member name")?,
            peer_urls: r.strings("peer urls")?,
            client_urls: r.strings("client urls")?,
            is_learner: r.bool("is_learner")?,
        })
    }
}

impl Encode for MemberResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        match &self.member {
            None => buf.put_u8(0),
            Some(m) => {
                buf.put_u8(1);
                m.encode(buf);
            }
        }
        put_list(buf, &self.members);
    }
}

impl Decode for MemberResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let header = ResponseHeader::decode(r)?;
        let member = match r.u8("member")? {
            0 => None,
            1 => Some(Member::decode(r)?),
            tag => return Err(bad_tag("member", tag)),
        };
        Ok(MemberResponse {
            header,
            member,
            members: r.list("members", 21, Member::decode)?,
        })
    }
}

fn alarm_type_tag(alarm: AlarmType) -> u8 {
    match alarm {
        AlarmType::None => 0,
        AlarmType::NoSpace => 1,
        AlarmType::Corrupt => 2,
    }
}

fn read_alarm_type(r: &mut Reader) -> Result<AlarmType, WireError> {
    Ok(match r.u8("alarm")? {
        0 => AlarmType::None,
        1 => AlarmType::NoSpace,
        2 => AlarmType::Corrupt,
        tag => return Err(bad_tag("alarm", tag)),
    })
}

impl Encode for AlarmMember {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u64(self.member_id);
        buf.put_u8(alarm_type_tag(self.alarm));
    }
}

impl Decode for AlarmMember {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(AlarmMember {
            member_id: r.u64("alarm member")?,
            alarm: read_alarm_type(r)?,
        })
    }
}

impl Encode for StatusResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        put_bytes(buf, self.version.as_bytes());
        buf.put_i64(self.db_size);
        buf.put_i64(self.db_size_in_use);
        buf.put_u64(self.leader);
        buf.put_u64(self.raft_index);
        buf.put_u64(self.raft_term);
        buf.put_u64(self.raft_applied_index);
        put_strings(buf, &self.errors);
        put_bool(buf, self.is_learner);
    }
}

impl Decode for StatusResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(StatusResponse {
            header: ResponseHeader::decode(r)?,
            version: r.string("version")?,
            db_size: r.i64("status")?,
            db_size_in_use: r.i64("status")?,
            leader: r.u64("status")?,
            raft_index: r.u64("status")?,
            raft_term: r.u64("status")?,
            raft_applied_index: r.u64("status")?,
            errors: r.strings("errors")?,
            is_learner: r.bool("is_learner")?,
        })
    }
}

impl Encode for Request {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Request::Range(x) => {
                buf.put_u8(0);
                x.encode(buf);
            }
            Request::Put(x) => {
                buf.put_u8(1);
                x.encode(buf);
            }
            Request::DeleteRange(x) => {
                buf.put_u8(2);
                x.encode(buf);
            }
            Request::Txn(x) => {
                buf.put_u8(3);
                x.encode(buf);
            }
            Request::Compact(x) => {
                buf.put_u8(4);
                buf.put_i64(x.revision);
                put_bool(buf, x.physical);
            }
            Request::MemberList(x) => {
                buf.put_u8(5);
                put_bool(buf, x.linearizable);
            }
            Request::MemberAdd(x) => {
                buf.put_u8(6);
                put_strings(buf, &x.peer_urls);
                put_bool(buf, x.is_learner);
                put_bool(buf, x.force);
            }
            Request::MemberRemove(x) => {
                buf.put_u8(7);
                buf.put_u64(x.id);
            }
            Request::MemberUpdate(x) => {
                buf.put_u8(8);
                buf.put_u64(x.id);
                put_strings(buf, &x.peer_urls);
            }
            Request::MemberPromote(x) => {
                buf.put_u8(9);
                buf.put_u64(x.id);
            }
            Request::Status => buf.put_u8(10),
            Request::Alarm(x) => {
                buf.put_u8(11);
                buf.put_u8(match x.action {
                    AlarmAction::Get => 0,
                    AlarmAction::Activate => 1,
                    AlarmAction::Deactivate => 2,
                });
                buf.put_u64(x.member_id);
                buf.put_u8(alarm_type_tag(x.alarm));
            }
            Request::HashKv(x) => {
                buf.put_u8(12);
                buf.put_i64(x.revision);
            }
            Request::MoveLeader(x) => {
                buf.put_u8(13);
                buf.put_u64(x.target_id);
            }
            Request::LeaseGrant(x) => {
                buf.put_u8(14);
                buf.put_i64(x.ttl_seconds);
                buf.put_i64(x.id);
            }
            Request::LeaseRevoke(x) => {
                buf.put_u8(15);
                buf.put_i64(x.id);
            }
            Request::LeaseKeepAlive(x) => {
                buf.put_u8(16);
                buf.put_i64(x.id);
            }
            Request::LeaseTimeToLive(x) => {
                buf.put_u8(17);
                buf.put_i64(x.id);
                put_bool(buf, x.keys);
            }
            Request::LeaseLeases => buf.put_u8(18),
            Request::Defragment => buf.put_u8(19),
            Request::Auth(x) => {
                buf.put_u8(20);
                x.encode(buf);
            }
        }
    }
}

impl Decode for Request {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("request")? {
            0 => Request::Range(RangeRequest::decode(r)?),
            1 => Request::Put(PutRequest::decode(r)?),
            2 => Request::DeleteRange(DeleteRangeRequest::decode(r)?),
            3 => Request::Txn(TxnRequest::decode(r)?),
            4 => Request::Compact(CompactionRequest {
                revision: r.i64("compaction")?,
                physical: r.bool("physical")?,
            }),
            5 => Request::MemberList(MemberListRequest {
                linearizable: r.bool("linearizable")?,
            }),
            6 => Request::MemberAdd(MemberAddRequest {
                peer_urls: r.strings("peer urls")?,
                is_learner: r.bool("is_learner")?,
                force: r.bool("force")?,
            }),
            7 => Request::MemberRemove(MemberRemoveRequest {
                id: r.u64("member id")?,
            }),
            8 => Request::MemberUpdate(MemberUpdateRequest {
                id: r.u64("member id")?,
                peer_urls: r.strings("peer urls")?,
            }),
            9 => Request::MemberPromote(MemberPromoteRequest {
                id: r.u64("member id")?,
            }),
            10 => Request::Status,
            11 => Request::Alarm(AlarmRequest {
                action: match r.u8("alarm action")? {
                    0 => AlarmAction::Get,
                    1 => AlarmAction::Activate,
                    2 => AlarmAction::Deactivate,
                    tag => return Err(bad_tag("alarm action", tag)),
                },
                member_id: r.u64("alarm member")?,
                alarm: read_alarm_type(r)?,
            }),
            12 => Request::HashKv(HashKvRequest {
                revision: r.i64("hash kv")?,
            }),
            13 => Request::MoveLeader(MoveLeaderRequest {
                target_id: r.u64("move leader")?,
            }),
            14 => Request::LeaseGrant(LeaseGrantRequest {
                ttl_seconds: r.i64("lease ttl")?,
                id: r.i64("lease id")?,
            }),
            15 => Request::LeaseRevoke(LeaseRevokeRequest {
                id: r.i64("lease id")?,
            }),
            16 => Request::LeaseKeepAlive(LeaseKeepAliveRequest {
                id: r.i64("lease id")?,
            }),
            17 => Request::LeaseTimeToLive(LeaseTimeToLiveRequest {
                id: r.i64("lease id")?,
                keys: r.bool("lease keys")?,
            }),
            18 => Request::LeaseLeases,
            19 => Request::Defragment,
            20 => Request::Auth(AuthRequest::decode(r)?),
            tag => return Err(bad_tag("request", tag)),
        })
    }
}

impl Encode for Response {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Response::Range(x) => {
                buf.put_u8(0);
                x.encode(buf);
            }
            Response::Put(x) => {
                buf.put_u8(1);
                x.encode(buf);
            }
            Response::DeleteRange(x) => {
                buf.put_u8(2);
                x.encode(buf);
            }
            Response::Txn(x) => {
                buf.put_u8(3);
                x.encode(buf);
            }
            Response::Compact(x) => {
                buf.put_u8(4);
                x.header.encode(buf);
            }
            Response::Member(x) => {
                buf.put_u8(5);
                x.encode(buf);
            }
            Response::Status(x) => {
                buf.put_u8(6);
                x.encode(buf);
            }
            Response::Alarm(x) => {
                buf.put_u8(7);
                x.header.encode(buf);
                put_list(buf, &x.alarms);
            }
            Response::HashKv(x) => {
                buf.put_u8(8);
                x.header.encode(buf);
                buf.put_u32(x.hash);
                buf.put_i64(x.compact_revision);
            }
            Response::MoveLeader(x) => {
                buf.put_u8(9);
                x.header.encode(buf);
            }
            Response::Defragment(x) => {
                buf.put_u8(15);
                x.header.encode(buf);
            }
            Response::Auth(x) => {
                buf.put_u8(16);
                x.encode(buf);
            }
            Response::LeaseGrant(x) => {
                buf.put_u8(10);
                x.header.encode(buf);
                buf.put_i64(x.id);
                buf.put_i64(x.ttl_seconds);
            }
            Response::LeaseRevoke(x) => {
                buf.put_u8(11);
                x.header.encode(buf);
            }
            Response::LeaseKeepAlive(x) => {
                buf.put_u8(12);
                x.header.encode(buf);
                buf.put_i64(x.id);
                buf.put_i64(x.ttl_seconds);
            }
            Response::LeaseTimeToLive(x) => {
                buf.put_u8(13);
                x.header.encode(buf);
                buf.put_i64(x.id);
                buf.put_i64(x.ttl_seconds);
                buf.put_i64(x.granted_ttl_seconds);
                put_count(buf, x.keys.len());
                for key in &x.keys {
                    put_bytes(buf, key);
                }
            }
            Response::LeaseLeases(x) => {
                buf.put_u8(14);
                x.header.encode(buf);
                put_count(buf, x.leases.len());
                for id in &x.leases {
                    buf.put_i64(*id);
                }
            }
        }
    }
}

impl Decode for Response {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("response")? {
            0 => Response::Range(RangeResponse::decode(r)?),
            1 => Response::Put(PutResponse::decode(r)?),
            2 => Response::DeleteRange(DeleteRangeResponse::decode(r)?),
            3 => Response::Txn(TxnResponse::decode(r)?),
            4 => Response::Compact(CompactionResponse {
                header: ResponseHeader::decode(r)?,
            }),
            5 => Response::Member(MemberResponse::decode(r)?),
            6 => Response::Status(StatusResponse::decode(r)?),
            7 => Response::Alarm(AlarmResponse {
                header: ResponseHeader::decode(r)?,
                alarms: r.list("alarms", 9, AlarmMember::decode)?,
            }),
            8 => Response::HashKv(HashKvResponse {
                header: ResponseHeader::decode(r)?,
                hash: r.u32("hash")?,
                compact_revision: r.i64("compact revision")?,
            }),
            9 => Response::MoveLeader(MoveLeaderResponse {
                header: ResponseHeader::decode(r)?,
            }),
            10 => Response::LeaseGrant(LeaseGrantResponse {
                header: ResponseHeader::decode(r)?,
                id: r.i64("lease id")?,
                ttl_seconds: r.i64("lease ttl")?,
            }),
            11 => Response::LeaseRevoke(LeaseRevokeResponse {
                header: ResponseHeader::decode(r)?,
            }),
            12 => Response::LeaseKeepAlive(LeaseKeepAliveResponse {
                header: ResponseHeader::decode(r)?,
                id: r.i64("lease id")?,
                ttl_seconds: r.i64("lease ttl")?,
            }),
            13 => Response::LeaseTimeToLive(LeaseTimeToLiveResponse {
                header: ResponseHeader::decode(r)?,
                id: r.i64("lease id")?,
                ttl_seconds: r.i64("lease ttl")?,
                granted_ttl_seconds: r.i64("lease granted ttl")?,
                keys: r.list("lease keys", 4, |r| r.bytes("lease key"))?,
            }),
            14 => Response::LeaseLeases(LeaseLeasesResponse {
                header: ResponseHeader::decode(r)?,
                leases: r.list("leases", 8, |r| r.i64("lease id"))?,
            }),
            15 => Response::Defragment(DefragmentResponse {
                header: ResponseHeader::decode(r)?,
            }),
            16 => Response::Auth(AuthResponse::decode(r)?),
            tag => return Err(bad_tag("response", tag)),
        })
    }
}

impl Encode for ApiError {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u16(self.code());
        match self {
            ApiError::Compacted { compact_revision } => buf.put_i64(*compact_revision),
            ApiError::NotLeader { leader_hint } => buf.put_u64(leader_hint.unwrap_or(0)),
            ApiError::BadRequest(why) | ApiError::Unavailable(why) => {
                put_bytes(buf, why.as_bytes())
            }
            _ => {}
        }
    }
}

impl Decode for ApiError {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let code = r.u16("error code")?;
        Ok(match code {
            1 => ApiError::EmptyKey,
            2 => ApiError::KeyNotFound,
            3 => ApiError::TooManyOps,
            4 => ApiError::DuplicateKey,
            5 => ApiError::Compacted {
                compact_revision: r.i64("compact revision")?,
            },
            6 => ApiError::FutureRevision,
            7 => ApiError::NoSpace,
            8 => ApiError::LeaseNotFound,
            9 => ApiError::LeaseExists,
            10 => ApiError::LeaseTtlTooLarge,
            11 => ApiError::MemberExists,
            12 => ApiError::PeerUrlExists,
            13 => ApiError::NotEnoughStartedMembers,
            14 => ApiError::MemberBadUrls,
            15 => ApiError::MemberNotFound,
            16 => ApiError::MemberNotLearner,
            17 => ApiError::LearnerNotReady,
            18 => ApiError::TooManyLearners,
            19 => ApiError::RequestTooLarge,
            20 => ApiError::TooManyRequests,
            21 => ApiError::NoLeader,
            22 => ApiError::NotLeader {
                leader_hint: Some(r.u64("leader hint")?).filter(|&id| id != 0),
            },
            23 => ApiError::LeaderChanged,
            24 => ApiError::Stopped,
            25 => ApiError::Timeout,
            26 => ApiError::Unhealthy,
            27 => ApiError::Corrupt,
            28 => ApiError::NotSupportedForLearner,
            29 => ApiError::BadLeaderTransferee,
            30 => ApiError::Unauthenticated,
            31 => ApiError::PermissionDenied,
            32 => ApiError::BadRequest(r.string("error text")?),
            33 => ApiError::Unavailable(r.string("error text")?),
            34 => ApiError::ValueProvided,
            35 => ApiError::LeaseProvided,
            36 => ApiError::Interrupted,
            37 => ApiError::RootUserNotExist,
            38 => ApiError::RootRoleNotExist,
            39 => ApiError::UserAlreadyExist,
            40 => ApiError::UserEmpty,
            41 => ApiError::UserNotFound,
            42 => ApiError::RoleAlreadyExist,
            43 => ApiError::RoleNotFound,
            44 => ApiError::RoleEmpty,
            45 => ApiError::AuthFailed,
            46 => ApiError::NoPasswordUser,
            47 => ApiError::RoleNotGranted,
            48 => ApiError::PermissionNotGranted,
            49 => ApiError::AuthNotEnabled,
            50 => ApiError::InvalidAuthMgmt,
            51 => ApiError::AuthOldRevision,
            other => {
                return Err(WireError::malformed(
                    "error code",
                    format!("unknown code {other}"),
                ));
            }
        })
    }
}

/// The body of a response frame: an answer or a typed error.
impl Encode for Result<Response, ApiError> {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Ok(response) => {
                buf.put_u8(0);
                response.encode(buf);
            }
            Err(error) => {
                buf.put_u8(1);
                error.encode(buf);
            }
        }
    }
}

impl Decode for Result<Response, ApiError> {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(match r.u8("result")? {
            0 => Ok(Response::decode(r)?),
            1 => Err(ApiError::decode(r)?),
            tag => return Err(bad_tag("result", tag)),
        })
    }
}
