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
fn json_reads_the_first_value_ignores_unknown_fields_and_prefers_camel_case() {
    let foo = Bytes::from_static(b"foo");
    let key = |body: &[u8]| from_json::<RangeRequest>(body).map(|r| r.key);
    assert_eq!(key(br#"{"key":"Zm9v"} garbage"#), Ok(foo.clone()));
    assert_eq!(key(br#"{"key":"Zm9v"}{"key":"cC9h"}"#), Ok(foo.clone()));
    assert_eq!(key(b" \n\t{ \"key\" : \"Zm9v\" }\n"), Ok(foo.clone()));
    assert_eq!(
        key(br#"{"key":"Zm9v","bogus":{"a":[1,2]}}"#),
        Ok(foo.clone())
    );
    assert_eq!(key(br#"{"key":"cC9h","key":"Zm9v"}"#), Ok(foo.clone()));
    // Go's field names are not the JSON names.
    assert_eq!(key(br#"{"Key":"Zm9v"}"#), Ok(Bytes::new()));
    for empty in [&b""[..], b"  ", b"null", b"{}"] {
        assert_eq!(
            from_json::<RangeRequest>(empty),
            Ok(RangeRequest::default())
        );
    }
    let both: Result<RangeRequest, _> =
        from_json(br#"{"range_end":"AA==","rangeEnd":"Zm9w","key":"Zm9v"}"#);
    assert_eq!(both.map(|r| r.range_end), Ok(Bytes::from_static(b"fop")));
    let grant: Result<LeaseGrantRequest, _> = from_json(br#"{"ttl":"100","id":"13402"}"#);
    assert_eq!(
        grant,
        Ok(LeaseGrantRequest::default()),
        "TTL and ID are case-sensitive"
    );
}

#[test]
fn json_errors_are_gos_words() {
    // Each answer is what etcd 3.4.23's gateway said (fixtures/gateway).
    let cases: &[(&str, &str)] = &[
        (r#"{"key":"#, "unexpected EOF"),
        (
            "not json",
            "invalid character 'o' in literal null (expecting 'u')",
        ),
        (
            "[]",
            "json: cannot unmarshal array into Go value of type map[string]json.RawMessage",
        ),
        (
            r#""x""#,
            "json: cannot unmarshal string into Go value of type map[string]json.RawMessage",
        ),
        (
            "1",
            "json: cannot unmarshal number into Go value of type map[string]json.RawMessage",
        ),
        (
            "{'key':'Zm9v'}",
            "invalid character '\\'' looking for beginning of object key string",
        ),
        (
            r#"{"key":"Zm9v" /* c */}"#,
            "invalid character '/' after object key:value pair",
        ),
        (
            r#"{"key":123}"#,
            "json: cannot unmarshal number into Go value of type []uint8",
        ),
        (
            r#"{"key":{}}"#,
            "json: cannot unmarshal object into Go value of type []uint8",
        ),
        (
            r#"{"key":"Zm9v","limit":"abc"}"#,
            "invalid character 'a' looking for beginning of value",
        ),
        (
            r#"{"key":"Zm9v","limit":1.5}"#,
            "json: cannot unmarshal number 1.5 into Go value of type int64",
        ),
        (
            r#"{"key":"Zm9v","limit":1e0}"#,
            "json: cannot unmarshal number 1e0 into Go value of type int64",
        ),
        (
            r#"{"key":"Zm9v","limit":"9223372036854775808"}"#,
            "json: cannot unmarshal number 9223372036854775808 into Go value of type int64",
        ),
        (
            r#"{"key":"Zm9v","limit":true}"#,
            "json: cannot unmarshal bool into Go value of type int64",
        ),
        (
            r#"{"key":"Zm9v","limit":""}"#,
            "unexpected end of JSON input",
        ),
        (
            r#"{"key":"Zm9v","limit":"0x10"}"#,
            "invalid character 'x' after top-level value",
        ),
        (
            r#"{"key":"Zm9v","limit":"\u0031"}"#,
            "invalid character '\\\\' looking for beginning of value",
        ),
        (
            r#"{"key":"Zm9v","keys_only":"true"}"#,
            "json: cannot unmarshal string into Go value of type bool",
        ),
        (
            r#"{"key":"Zm9v","keys_only":1}"#,
            "json: cannot unmarshal number into Go value of type bool",
        ),
        (r#"{"key":"!!!!"}"#, "illegal base64 data at input byte 0"),
        (r#"{"key":"Zm9"}"#, "illegal base64 data at input byte 0"),
        (r#"{"key":"cC9hYg"}"#, "illegal base64 data at input byte 4"),
        (r#"{"key":"-_8="}"#, "illegal base64 data at input byte 0"),
        (
            r#"{"sort_order":"BOGUS"}"#,
            r#"unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder"#,
        ),
        (
            r#"{"sort_order":"descend"}"#,
            r#"unknown value "descend" for enum etcdserverpb.RangeRequest_SortOrder"#,
        ),
        (
            r#"{"sort_order":"2"}"#,
            r#"unknown value "2" for enum etcdserverpb.RangeRequest_SortOrder"#,
        ),
    ];
    for (body, message) in cases {
        let read = from_json::<RangeRequest>(body.as_bytes());
        assert_eq!(read.err().map(|e| e.0).as_deref(), Some(*message), "{body}");
    }
    // The first bad field in declaration order is the error.
    let two = from_json::<Compare>(br#"{"key":5,"result":"X"}"#);
    assert_eq!(
        two.err().map(|e| e.0).as_deref(),
        Some(r#"unknown value "X" for enum etcdserverpb.Compare_CompareResult"#)
    );
}

#[test]
fn json_numbers_strings_and_bytes_read_as_jsonpb_reads_them() {
    let read = |body: &str| from_json::<RangeRequest>(body.as_bytes());
    assert_eq!(read(r#"{"limit":" 1"}"#).map(|r| r.limit), Ok(1));
    assert_eq!(read(r#"{"limit":"-0"}"#).map(|r| r.limit), Ok(0));
    assert_eq!(read(r#"{"limit":"null"}"#).map(|r| r.limit), Ok(0));
    assert_eq!(
        read(r#"{"limit":null,"sort_order":null}"#).map(|r| r.limit),
        Ok(0)
    );
    assert_eq!(
        read(r#"{"limit":"9223372036854775807"}"#).map(|r| r.limit),
        Ok(i64::MAX)
    );
    // Any bare number is an enum value; etcd sorts by nothing then.
    assert_eq!(read(r#"{"sort_order":7}"#).map(|r| r.sort_order), Ok(7));
    assert_eq!(
        read(r#"{"key":"Zm9\nv"}"#).map(|r| r.key),
        Ok(Bytes::from_static(b"foo"))
    );
    assert_eq!(
        read(r#"{"key":"+/8="}"#).map(|r| r.key),
        Ok(Bytes::from_static(&[0xfb, 0xff]))
    );
    assert_eq!(
        read(r#"{"key":[102,111]}"#).map(|r| r.key),
        Ok(Bytes::from_static(b"fo"))
    );
    assert_eq!(
        read(r#"{"key":[1,300]}"#).err().map(|e| e.0).as_deref(),
        Some("json: cannot unmarshal number 300 into Go value of type uint8")
    );
    // A uint64 id beyond 2^63, bare.
    let promote: Result<MemberPromoteRequest, _> = from_json(br#"{"ID":15641150504393140400}"#);
    assert_eq!(promote.map(|p| p.id), Ok(15641150504393140400));
    let negative: Result<MemberRemoveRequest, _> = from_json(br#"{"ID":"-1"}"#);
    assert_eq!(
        negative.err().map(|e| e.0).as_deref(),
        Some("json: cannot unmarshal number -1 into Go value of type uint64")
    );
    let urls: Result<MemberAddRequest, _> = from_json(br#"{"peerURLs":[null,"a"]}"#);
    assert_eq!(
        urls.map(|m| m.peer_urls),
        Ok(vec![String::new(), "a".to_string()])
    );
    let not_a_list: Result<MemberAddRequest, _> = from_json(br#"{"peerURLs":"x"}"#);
    assert_eq!(
        not_a_list.err().map(|e| e.0).as_deref(),
        Some("json: cannot unmarshal string into Go value of type []json.RawMessage")
    );
}

#[test]
fn json_oneofs_and_repeated_enums_follow_jsonpb() {
    let txn = |body: &str| from_json::<TxnRequest>(body.as_bytes());
    // Naming the oneof itself is decoding into Go's interface field.
    assert_eq!(
        txn(r#"{"compare":[{"target_union":{}}]}"#)
            .err()
            .map(|e| e.0)
            .as_deref(),
        Some(
            "json: cannot unmarshal object into Go value of type etcdserverpb.isCompare_TargetUnion"
        )
    );
    assert_eq!(
        txn(r#"{"success":[{"request":5}]}"#)
            .err()
            .map(|e| e.0)
            .as_deref(),
        Some(
            "json: cannot unmarshal number into Go value of type etcdserverpb.isRequestOp_Request"
        )
    );
    // A null message or bytes member leaves the oneof unset (etcd's Go
    // code does not send it on); a null number is a zero that is set.
    let unset = txn(r#"{"success":[{"request_put":null}],"compare":[{"value":null}]}"#);
    assert_eq!(
        unset.map(|t| (
            t.success[0].request.is_none(),
            t.compare[0].target_union.clone()
        )),
        Ok((true, None))
    );
    let zero = txn(r#"{"compare":[{"target_union":null,"version":null}]}"#);
    assert_eq!(
        zero.map(|t| t.compare[0].target_union.clone()),
        Ok(Some(TargetUnion::Version(0)))
    );
    // Go-style names are unknown fields: an empty operation.
    let go_style = txn(r#"{"success":[{"Request":{"RequestPut":{"key":"Zm9v"}}}]}"#);
    assert_eq!(go_style.map(|t| t.success[0].request.is_none()), Ok(true));
    let watch = |body: &str| from_json::<WatchRequest>(body.as_bytes());
    let filters = watch(r#"{"create_request":{"filters":["NOPUT",1,null]}}"#).map(|w| {
        match w.request_union {
            Some(RequestUnion::CreateRequest(c)) => c.filters,
            _ => Vec::new(),
        }
    });
    assert_eq!(filters, Ok(vec![0, 1, 0]));
    assert_eq!(
        watch(r#"{"create_request":{"filters":["NOPUT","1"]}}"#)
            .err()
            .map(|e| e.0)
            .as_deref(),
        Some(r#"unknown value "1" for enum etcdserverpb.WatchCreateRequest_FilterType"#)
    );
    assert_eq!(
        watch(r#"{"create_request":{"filters":"NODELETE"}}"#)
            .err()
            .map(|e| e.0)
            .as_deref(),
        Some(r#"invalid target "slice" for enum etcdserverpb.WatchCreateRequest_FilterType"#)
    );
}

#[test]
fn json_nesting_is_bounded() {
    let mut body = String::new();
    for _ in 0..200 {
        body.push_str(r#"{"success":[{"request_txn":"#);
    }
    body.push_str("{}");
    for _ in 0..200 {
        body.push_str("}]}");
    }
    assert_eq!(
        from_json::<TxnRequest>(body.as_bytes())
            .err()
            .map(|e| e.0)
            .as_deref(),
        Some("recursion limit reached")
    );
}

#[test]
fn json_streams_read_value_after_value_until_one_fails() {
    let mut stream = super::json::JsonStream::new(br#"{"ID":"1"} {"ID":2}{"ID":x}{"ID":3}"#);
    let ids: Vec<Result<i64, String>> =
        std::iter::from_fn(|| stream.next_message::<LeaseKeepAliveRequest>())
            .map(|r| r.map(|k| k.id).map_err(|e| e.0))
            .collect();
    assert_eq!(
        ids,
        vec![
            Ok(1),
            Ok(2),
            Err("invalid character 'x' looking for beginning of value".into())
        ]
    );
}
