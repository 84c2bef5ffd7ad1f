//! The protobuf encoding against bytes etcd's Go code writes, and the
//! gateway JSON against etcd's rules.

use super::etcdserverpb::*;
use super::json::{from_json, to_json};
use super::mvccpb::{Event, EventType, KeyValue};
use bytes::Bytes;
use prost::Message;

#[test]
fn range_request_encodes_with_etcds_field_numbers() {
    let request = RangeRequest {
        key: Bytes::from_static(b"foo"),
        range_end: Bytes::from_static(b"fop"),
        limit: 2,
        sort_order: SortOrder::Descend as i32,
        serializable: true,
        max_create_revision: 5,
        ..RangeRequest::default()
    };
    // key=1 (len 3), range_end=2, limit=3, sort_order=5, serializable=7,
    // max_create_revision=13: tag bytes are (field << 3) | wire type.
    let expected = [
        0x0a, 3, b'f', b'o', b'o', 0x12, 3, b'f', b'o', b'p', 0x18, 2, 0x28, 2, 0x38, 1, 0x68, 5,
    ];
    assert_eq!(request.encode_to_vec(), expected);
    assert_eq!(RangeRequest::decode(&expected[..]).ok(), Some(request));
}

#[test]
fn compare_range_end_is_field_64_and_the_oneof_keeps_its_tag() {
    let compare = Compare {
        result: CompareResult::Greater as i32,
        target: CompareTarget::Mod as i32,
        key: Bytes::from_static(b"k"),
        target_union: Some(TargetUnion::ModRevision(0)),
        range_end: Bytes::from_static(b"l"),
    };
    let bytes = compare.encode_to_vec();
    // A set oneof member is encoded even when zero: field 6, varint 0.
    assert!(bytes.windows(2).any(|w| w == [0x30, 0]));
    // Field 64, length-delimited: tag varint 0x82 0x04.
    assert!(bytes.windows(4).any(|w| w == [0x82, 0x04, 1, b'l']));
    assert_eq!(Compare::decode(&bytes[..]).ok(), Some(compare));
}

#[test]
fn json_follows_the_gateways_rules() {
    let response = RangeResponse {
        header: Some(ResponseHeader {
            cluster_id: 14841639068965178418,
            member_id: 10276657743932975437,
            revision: 3,
            raft_term: 2,
        }),
        kvs: vec![KeyValue {
            key: Bytes::from_static(b"foo"),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            value: Bytes::from_static(b"bar"),
            lease: 0,
        }],
        more: false,
        count: 1,
    };
    assert_eq!(
        to_json(&response),
        r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"3","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}"#
    );
}

#[test]
fn json_writes_enum_names_proto_names_and_empty_messages() {
    let event = Event {
        r#type: EventType::Delete as i32,
        kv: Some(KeyValue::default()),
        prev_kv: None,
    };
    assert_eq!(to_json(&event), r#"{"type":"DELETE","kv":{}}"#);
    let grant = LeaseGrantResponse {
        header: Some(ResponseHeader::default()),
        id: 7,
        ttl: 60,
        error: String::new(),
    };
    assert_eq!(to_json(&grant), r#"{"header":{},"ID":"7","TTL":"60"}"#);
    let member = Member {
        id: 1,
        name: "a<b".into(),
        peer_urls: vec!["http://x".into()],
        client_urls: vec![],
        is_learner: true,
    };
    assert_eq!(
        to_json(&member),
        r#"{"ID":"1","name":"a\u003cb","peerURLs":["http://x"],"isLearner":true}"#
    );
}

#[test]
fn json_reads_both_names_numbers_as_strings_and_enums_by_name_or_number() {
    let read: RangeRequest = from_json(
        br#"{"key":"Zm9v","rangeEnd":"Zm9w","limit":"2","sort_order":"DESCEND","sortTarget":3,"revision":4}"#,
    )
    .unwrap_or_default();
    assert_eq!(read.key, Bytes::from_static(b"foo"));
    assert_eq!(read.range_end, Bytes::from_static(b"fop"));
    assert_eq!(read.limit, 2);
    assert_eq!(read.revision, 4);
    assert_eq!(read.sort_order, SortOrder::Descend as i32);
    assert_eq!(read.sort_target, SortTarget::Mod as i32);
    let grant: LeaseGrantRequest = from_json(br#"{"TTL":"5","ID":null}"#).unwrap_or_default();
    assert_eq!(grant.ttl, 5);
}

#[test]
fn json_reads_nested_oneofs() {
    let txn: TxnRequest = match from_json(
        br#"{"compare":[{"target":"VALUE","key":"Zm9v","value":"YmFy"}],
            "success":[{"request_put":{"key":"Zm9v","value":"YmF6"}}],
            "failure":[{"requestRange":{"key":"Zm9v"}}]}"#,
    ) {
        Ok(txn) => txn,
        Err(err) => panic!("{err}"),
    };
    assert_eq!(
        txn.compare[0].target_union,
        Some(TargetUnion::Value(Bytes::from_static(b"bar")))
    );
    assert!(matches!(
        txn.success[0].request,
        Some(Request::RequestPut(_))
    ));
    assert!(matches!(
        txn.failure[0].request,
        Some(Request::RequestRange(_))
    ));
}

#[test]
fn json_refuses_unknown_fields_wrong_types_and_bad_base64() {
    let unknown = from_json::<PutRequest>(br#"{"key":"Zm9v","nope":1}"#);
    assert_eq!(
        unknown.err().map(|e| e.0),
        Some(r#"unknown field "nope" in etcdserverpb.PutRequest"#.to_string())
    );
    assert!(from_json::<PutRequest>(br#"{"key":5}"#).is_err());
    assert!(from_json::<PutRequest>(br#"{"key":"%%%"}"#).is_err());
    assert!(from_json::<PutRequest>(br#"{"lease":"x"}"#).is_err());
    assert!(from_json::<PutRequest>(br#"[1]"#).is_err());
    assert!(from_json::<PutRequest>(b"{").is_err());
    assert!(from_json::<RangeRequest>(br#"{"sort_order":"SIDEWAYS"}"#).is_err());
}
