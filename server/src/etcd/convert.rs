//! etcd's messages to Keel's engine requests and back. Pure translation:
//! the rules (what a range end means, how a txn runs) are the engine's.

use super::proto::authpb;
use super::proto::etcdserverpb as pb;
use super::proto::mvccpb;
use crate::grpc::Status;
use keel_engine::api;

/// A request field etcd would refuse before the engine sees it.
fn invalid(what: &str) -> Status {
    super::errors::status_of(&api::ApiError::BadRequest(what.to_string()))
}

/// etcd's response header.
pub fn header(h: &api::ResponseHeader) -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader {
        cluster_id: h.cluster_id,
        member_id: h.member_id,
        revision: h.revision,
        raft_term: h.raft_term,
    })
}

/// A permission as etcd's `authpb` has it.
pub fn permission(p: &api::Permission) -> authpb::Permission {
    let perm_type = match p.perm_type {
        api::PermissionType::Read => authpb::PermissionType::Read,
        api::PermissionType::Write => authpb::PermissionType::Write,
        api::PermissionType::ReadWrite => authpb::PermissionType::Readwrite,
    };
    authpb::Permission {
        perm_type: perm_type as i32,
        key: p.key.clone(),
        range_end: p.range_end.clone(),
    }
}

/// A permission to grant; a type etcd does not define is refused (etcd
/// would store it and let it allow nothing).
pub fn permission_request(p: &authpb::Permission) -> Result<api::Permission, Status> {
    let perm_type = match authpb::PermissionType::from_i32(p.perm_type) {
        Some(authpb::PermissionType::Read) => api::PermissionType::Read,
        Some(authpb::PermissionType::Write) => api::PermissionType::Write,
        Some(authpb::PermissionType::Readwrite) => api::PermissionType::ReadWrite,
        None => return Err(invalid("unknown permission type")),
    };
    Ok(api::Permission {
        perm_type,
        key: p.key.clone(),
        range_end: p.range_end.clone(),
    })
}

/// etcd's header on membership answers: its cluster server fills in the
/// cluster, member and raft term, never a revision.
pub fn member_header(h: &api::ResponseHeader) -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader {
        revision: 0,
        ..header(h)?
    })
}

/// etcd's key-value pair.
pub fn key_value(kv: &api::KeyValue) -> mvccpb::KeyValue {
    mvccpb::KeyValue {
        key: kv.key.clone(),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value.clone(),
        lease: kv.lease,
    }
}

/// etcd's watch event.
pub fn event(e: &api::Event) -> mvccpb::Event {
    mvccpb::Event {
        r#type: match e.kind {
            api::EventKind::Put => mvccpb::EventType::Put as i32,
            api::EventKind::Delete => mvccpb::EventType::Delete as i32,
        },
        kv: Some(key_value(&e.kv)),
        prev_kv: e.prev_kv.as_ref().map(key_value),
    }
}

/// A range request for the engine. An unknown sort order sorts nothing
/// and an unknown target sorts by key, as etcd 3.4 treats them.
pub fn range_request(r: &pb::RangeRequest) -> Result<api::RangeRequest, Status> {
    let sort_order = match pb::SortOrder::from_i32(r.sort_order) {
        Some(pb::SortOrder::Ascend) => api::SortOrder::Ascend,
        Some(pb::SortOrder::Descend) => api::SortOrder::Descend,
        Some(pb::SortOrder::None) | None => api::SortOrder::None,
    };
    let sort_target = match pb::SortTarget::from_i32(r.sort_target) {
        Some(pb::SortTarget::Version) => api::SortTarget::Version,
        Some(pb::SortTarget::Create) => api::SortTarget::Create,
        Some(pb::SortTarget::Mod) => api::SortTarget::Mod,
        Some(pb::SortTarget::Value) => api::SortTarget::Value,
        Some(pb::SortTarget::Key) | None => api::SortTarget::Key,
    };
    Ok(api::RangeRequest {
        key: r.key.clone(),
        range_end: r.range_end.clone(),
        limit: r.limit,
        revision: r.revision,
        sort_order,
        sort_target,
        serializable: r.serializable,
        keys_only: r.keys_only,
        count_only: r.count_only,
        min_mod_revision: r.min_mod_revision,
        max_mod_revision: r.max_mod_revision,
        min_create_revision: r.min_create_revision,
        max_create_revision: r.max_create_revision,
    })
}

/// etcd's range response.
pub fn range_response(r: &api::RangeResponse) -> pb::RangeResponse {
    pb::RangeResponse {
        header: header(&r.header),
        kvs: r.kvs.iter().map(key_value).collect(),
        more: r.more,
        count: r.count,
    }
}

/// A put for the engine.
pub fn put_request(p: &pb::PutRequest) -> api::PutRequest {
    api::PutRequest {
        key: p.key.clone(),
        value: p.value.clone(),
        lease: p.lease,
        prev_kv: p.prev_kv,
        ignore_value: p.ignore_value,
        ignore_lease: p.ignore_lease,
    }
}

/// etcd's put response.
pub fn put_response(p: &api::PutResponse) -> pb::PutResponse {
    pb::PutResponse {
        header: header(&p.header),
        prev_kv: p.prev_kv.as_ref().map(key_value),
    }
}

/// A delete for the engine.
pub fn delete_request(d: &pb::DeleteRangeRequest) -> api::DeleteRangeRequest {
    api::DeleteRangeRequest {
        key: d.key.clone(),
        range_end: d.range_end.clone(),
        prev_kv: d.prev_kv,
    }
}

/// etcd's delete response.
pub fn delete_response(d: &api::DeleteRangeResponse) -> pb::DeleteRangeResponse {
    pb::DeleteRangeResponse {
        header: header(&d.header),
        deleted: d.deleted,
        prev_kvs: d.prev_kvs.iter().map(key_value).collect(),
    }
}

/// A compare for the engine. As in etcd, a compare reads the value of the
/// member its target names; a missing member reads as zero (or empty).
/// A result or target etcd does not know is not refused: etcd's compare
/// then holds as its code falls through (an unknown result holds wherever
/// the key is read, an unknown target compares as equal), which becomes
/// a compare that holds (or fails) on every key.
pub fn compare(c: &pb::Compare) -> Result<api::Compare, Status> {
    use pb::TargetUnion as U;
    let constant = |holds: bool| api::Compare {
        // Every key's create revision is above i64::MIN, and a missing
        // key's reads as 0.
        result: if holds {
            api::CompareResult::Greater
        } else {
            api::CompareResult::Less
        },
        target: api::CompareTarget::Create(i64::MIN),
        key: c.key.clone(),
        range_end: c.range_end.clone(),
    };
    let result = match pb::CompareResult::from_i32(c.result) {
        Some(pb::CompareResult::Equal) => api::CompareResult::Equal,
        Some(pb::CompareResult::Greater) => api::CompareResult::Greater,
        Some(pb::CompareResult::Less) => api::CompareResult::Less,
        Some(pb::CompareResult::NotEqual) => api::CompareResult::NotEqual,
        // etcd fails a value compare on a missing key before it looks at
        // the result: "holds where a key exists" is create > 0.
        None if c.target == pb::CompareTarget::Value as i32 => {
            return Ok(api::Compare {
                result: api::CompareResult::Greater,
                target: api::CompareTarget::Create(0),
                ..constant(true)
            });
        }
        None => return Ok(constant(true)),
    };
    let number = |pick: fn(&U) -> Option<i64>| c.target_union.as_ref().and_then(pick).unwrap_or(0);
    let target = match pb::CompareTarget::from_i32(c.target) {
        Some(pb::CompareTarget::Version) => api::CompareTarget::Version(number(|u| match u {
            U::Version(v) => Some(*v),
            _ => None,
        })),
        Some(pb::CompareTarget::Create) => api::CompareTarget::Create(number(|u| match u {
            U::CreateRevision(v) => Some(*v),
            _ => None,
        })),
        Some(pb::CompareTarget::Mod) => api::CompareTarget::Mod(number(|u| match u {
            U::ModRevision(v) => Some(*v),
            _ => None,
        })),
        Some(pb::CompareTarget::Lease) => api::CompareTarget::Lease(number(|u| match u {
            U::Lease(v) => Some(*v),
            _ => None,
        })),
        Some(pb::CompareTarget::Value) => api::CompareTarget::Value(match &c.target_union {
            Some(U::Value(v)) => v.clone(),
            _ => bytes::Bytes::new(),
        }),
        None => return Ok(constant(result == api::CompareResult::Equal)),
    };
    Ok(api::Compare {
        result,
        target,
        key: c.key.clone(),
        range_end: c.range_end.clone(),
    })
}

/// One txn operation for the engine; an empty one is refused with etcd's
/// "key not found".
fn request_op(op: &pb::RequestOp) -> Result<api::RequestOp, Status> {
    Ok(match &op.request {
        Some(pb::Request::RequestRange(r)) => api::RequestOp::Range(range_request(r)?),
        Some(pb::Request::RequestPut(p)) => api::RequestOp::Put(put_request(p)),
        Some(pb::Request::RequestDeleteRange(d)) => api::RequestOp::DeleteRange(delete_request(d)),
        Some(pb::Request::RequestTxn(t)) => api::RequestOp::Txn(txn_request(t)?),
        None => return Err(super::errors::status_of(&api::ApiError::KeyNotFound)),
    })
}

/// A txn for the engine.
pub fn txn_request(t: &pb::TxnRequest) -> Result<api::TxnRequest, Status> {
    Ok(api::TxnRequest {
        compare: t.compare.iter().map(compare).collect::<Result<_, _>>()?,
        success: t.success.iter().map(request_op).collect::<Result<_, _>>()?,
        failure: t.failure.iter().map(request_op).collect::<Result<_, _>>()?,
    })
}

/// etcd's txn response.
pub fn txn_response(t: &api::TxnResponse) -> pb::TxnResponse {
    pb::TxnResponse {
        header: header(&t.header),
        succeeded: t.succeeded,
        responses: t
            .responses
            .iter()
            .map(|r| pb::ResponseOp {
                response: Some(match r {
                    api::ResponseOp::Range(r) => pb::Response::ResponseRange(range_response(r)),
                    api::ResponseOp::Put(p) => pb::Response::ResponsePut(put_response(p)),
                    api::ResponseOp::DeleteRange(d) => {
                        pb::Response::ResponseDeleteRange(delete_response(d))
                    }
                    api::ResponseOp::Txn(t) => pb::Response::ResponseTxn(pb::TxnResponse {
                        // etcd sets a nested txn's header but fills in
                        // nothing: `"header":{}`.
                        header: Some(pb::ResponseHeader::default()),
                        ..txn_response(t)
                    }),
                }),
            })
            .collect(),
    }
}

/// etcd's member.
pub fn member(m: &api::Member) -> pb::Member {
    pb::Member {
        id: m.id,
        name: m.name.clone(),
        peer_urls: m.peer_urls.clone(),
        client_urls: m.client_urls.clone(),
        is_learner: m.is_learner,
    }
}

/// Every member, as etcd lists them.
pub fn members(list: &[api::Member]) -> Vec<pb::Member> {
    list.iter().map(member).collect()
}

/// The alarm type for the engine.
pub fn alarm_type(value: i32) -> Result<api::AlarmType, Status> {
    match pb::AlarmType::from_i32(value) {
        Some(pb::AlarmType::None) => Ok(api::AlarmType::None),
        Some(pb::AlarmType::Nospace) => Ok(api::AlarmType::NoSpace),
        Some(pb::AlarmType::Corrupt) => Ok(api::AlarmType::Corrupt),
        None => Err(invalid("unknown alarm type")),
    }
}

/// etcd's alarm type number.
pub fn alarm_number(alarm: api::AlarmType) -> i32 {
    match alarm {
        api::AlarmType::None => pb::AlarmType::None as i32,
        api::AlarmType::NoSpace => pb::AlarmType::Nospace as i32,
        api::AlarmType::Corrupt => pb::AlarmType::Corrupt as i32,
    }
}

/// An alarm request for the engine.
pub fn alarm_request(a: &pb::AlarmRequest) -> Result<api::AlarmRequest, Status> {
    let action = match pb::AlarmAction::from_i32(a.action) {
        Some(pb::AlarmAction::Get) => api::AlarmAction::Get,
        Some(pb::AlarmAction::Activate) => api::AlarmAction::Activate,
        Some(pb::AlarmAction::Deactivate) => api::AlarmAction::Deactivate,
        None => return Err(invalid("unknown alarm action")),
    };
    Ok(api::AlarmRequest {
        action,
        member_id: a.member_id,
        alarm: alarm_type(a.alarm)?,
    })
}

/// etcd's alarm response: etcd's maintenance server sends it without a
/// header.
pub fn alarm_response(a: &api::AlarmResponse) -> pb::AlarmResponse {
    pb::AlarmResponse {
        header: None,
        alarms: a
            .alarms
            .iter()
            .map(|m| pb::AlarmMember {
                member_id: m.member_id,
                alarm: alarm_number(m.alarm),
            })
            .collect(),
    }
}

/// etcd's status response.
pub fn status_response(s: &api::StatusResponse) -> pb::StatusResponse {
    pb::StatusResponse {
        header: header(&s.header),
        version: s.version.clone(),
        db_size: s.db_size,
        leader: s.leader,
        raft_index: s.raft_index,
        raft_term: s.raft_term,
        raft_applied_index: s.raft_applied_index,
        errors: s.errors.clone(),
        db_size_in_use: s.db_size_in_use,
        is_learner: s.is_learner,
    }
}

/// A watch for the engine: etcd's empty key means `"\0"`, its filters the
/// two `no_*` flags.
pub fn watch_create(w: &pb::WatchCreateRequest) -> api::WatchCreateRequest {
    let filtered = |filter: pb::FilterType| w.filters.contains(&(filter as i32));
    api::WatchCreateRequest {
        key: if w.key.is_empty() {
            bytes::Bytes::from_static(b"\0")
        } else {
            w.key.clone()
        },
        range_end: w.range_end.clone(),
        start_revision: w.start_revision,
        prev_kv: w.prev_kv,
        no_put: filtered(pb::FilterType::Noput),
        no_delete: filtered(pb::FilterType::Nodelete),
        progress_notify: w.progress_notify,
    }
}

/// etcd's watch response for watch `id`. A watch canceled because its
/// start revision was compacted carries only the compact revision, as
/// etcd's does (clients read that, not the reason), and its header has no
/// revision (etcd fills in only cluster, member and term there).
pub fn watch_response(id: i64, w: &api::WatchResponse) -> pb::WatchResponse {
    let compacted = w.compact_revision != 0;
    pb::WatchResponse {
        header: if compacted {
            member_header(&w.header)
        } else {
            header(&w.header)
        },
        watch_id: id,
        created: w.created,
        canceled: w.canceled,
        compact_revision: w.compact_revision,
        cancel_reason: if w.compact_revision != 0 {
            String::new()
        } else {
            w.cancel_reason.clone()
        },
        fragment: false,
        events: w.events.iter().map(event).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn compares_read_the_member_their_target_names() {
        let c = pb::Compare {
            result: pb::CompareResult::Less as i32,
            target: pb::CompareTarget::Mod as i32,
            key: Bytes::from_static(b"k"),
            target_union: Some(pb::TargetUnion::ModRevision(9)),
            range_end: Bytes::new(),
        };
        let converted = compare(&c).ok();
        assert_eq!(
            converted.map(|c| (c.result, c.target)),
            Some((api::CompareResult::Less, api::CompareTarget::Mod(9)))
        );
        // A value compare without a value compares against the empty value.
        let empty = pb::Compare {
            target: pb::CompareTarget::Value as i32,
            ..c.clone()
        };
        assert_eq!(
            compare(&empty).ok().map(|c| c.target),
            Some(api::CompareTarget::Value(Bytes::new()))
        );
    }

    #[test]
    fn unknown_results_and_targets_fall_through_as_in_etcd() {
        let c = pb::Compare {
            result: 9,
            target: pb::CompareTarget::Version as i32,
            key: Bytes::from_static(b"k"),
            ..Default::default()
        };
        let holds = |c: &pb::Compare, kv: Option<&api::KeyValue>| {
            compare(c)
                .map(|c| keel_engine::mvcc::txn::compare_holds(&c, kv))
                .ok()
        };
        let kv = api::KeyValue {
            key: Bytes::from_static(b"k"),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            value: Bytes::from_static(b"v"),
            lease: 0,
        };
        assert_eq!(holds(&c, None), Some(true));
        assert_eq!(holds(&c, Some(&kv)), Some(true));
        let value = pb::Compare {
            target: pb::CompareTarget::Value as i32,
            ..c.clone()
        };
        assert_eq!(holds(&value, None), Some(false));
        assert_eq!(holds(&value, Some(&kv)), Some(true));
        let unknown_target = |result: pb::CompareResult| pb::Compare {
            result: result as i32,
            target: 7,
            ..c.clone()
        };
        assert_eq!(
            holds(&unknown_target(pb::CompareResult::Equal), Some(&kv)),
            Some(true)
        );
        assert_eq!(
            holds(&unknown_target(pb::CompareResult::Equal), None),
            Some(true)
        );
        assert_eq!(
            holds(&unknown_target(pb::CompareResult::Less), Some(&kv)),
            Some(false)
        );
    }

    #[test]
    fn membership_and_alarm_answers_carry_etcds_headers() {
        let header = api::ResponseHeader {
            cluster_id: 1,
            member_id: 2,
            revision: 3,
            raft_term: 4,
        };
        assert_eq!(
            member_header(&header),
            Some(pb::ResponseHeader {
                cluster_id: 1,
                member_id: 2,
                revision: 0,
                raft_term: 4,
            })
        );
        let alarms = api::AlarmResponse {
            header,
            alarms: Vec::new(),
        };
        assert_eq!(alarm_response(&alarms).header, None);
    }

    #[test]
    fn a_nested_txn_answers_with_an_empty_header() {
        let inner = api::TxnResponse {
            header: api::ResponseHeader {
                revision: 5,
                ..Default::default()
            },
            succeeded: true,
            responses: vec![api::ResponseOp::Txn(api::TxnResponse::default())],
        };
        let outer = api::TxnResponse {
            responses: vec![api::ResponseOp::Txn(inner)],
            ..Default::default()
        };
        let converted = txn_response(&outer);
        let Some(pb::Response::ResponseTxn(nested)) = &converted.responses[0].response else {
            panic!("{converted:?}");
        };
        assert_eq!(nested.header, Some(pb::ResponseHeader::default()));
        let Some(pb::Response::ResponseTxn(deeper)) = &nested.responses[0].response else {
            panic!("{nested:?}");
        };
        assert_eq!(deeper.header, Some(pb::ResponseHeader::default()));
    }

    #[test]
    fn an_empty_txn_operation_is_etcds_key_not_found() {
        let txn = pb::TxnRequest {
            success: vec![pb::RequestOp { request: None }],
            ..Default::default()
        };
        assert_eq!(
            txn_request(&txn).err().map(|s| s.message),
            Some("etcdserver: key not found".to_string())
        );
    }

    #[test]
    fn unknown_sort_options_sort_as_etcd_would() {
        let r = pb::RangeRequest {
            sort_order: 3,
            sort_target: 9,
            ..Default::default()
        };
        let converted = range_request(&r).ok();
        assert_eq!(
            converted.map(|r| (r.sort_order, r.sort_target)),
            Some((api::SortOrder::None, api::SortTarget::Key))
        );
    }

    #[test]
    fn watch_filters_and_the_empty_key() {
        let w = pb::WatchCreateRequest {
            filters: vec![pb::FilterType::Nodelete as i32],
            ..Default::default()
        };
        let converted = watch_create(&w);
        assert_eq!(converted.key, Bytes::from_static(b"\0"));
        assert!(converted.no_delete && !converted.no_put);
    }

    #[test]
    fn a_compacted_watch_carries_no_reason() {
        let canceled = api::WatchResponse {
            canceled: true,
            compact_revision: 5,
            cancel_reason: "etcdserver: mvcc: required revision has been compacted".into(),
            ..Default::default()
        };
        let converted = watch_response(3, &canceled);
        assert_eq!(converted.compact_revision, 5);
        assert!(converted.canceled && converted.cancel_reason.is_empty());
        assert_eq!(converted.watch_id, 3);
        assert_eq!(converted.header.map(|h| h.revision), Some(0));
    }
}
