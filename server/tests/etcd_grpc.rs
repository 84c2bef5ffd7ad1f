//! etcd's v3 gRPC API and JSON gateway on a Keel member's client port,
//! spoken by a minimal h2 client and raw HTTP/1.1: the methods, the
//! streams, etcd's errors, and bad input of every kind answered with the
//! right gRPC or HTTP error while a well-formed client keeps working.

mod common;

use bytes::Bytes;
use common::grpc::{GrpcClient, GrpcStream};
use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::daemon::{ClusterState, Daemon};
use keel_server::etcd::proto::etcdserverpb as pb;
use keel_server::etcd::proto::mvccpb;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One member, ready for clients.
async fn member(dir: &std::path::Path) -> (Daemon, String) {
    common::task_panics();
    let ports = free_ports(2);
    let cluster = vec![("m".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut options = daemon_options(dir, "m", ports[0], ports[1], &cluster, ClusterState::New);
    options.client_port.grpc.handshake_timeout = Duration::from_millis(500);
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    let address = format!("127.0.0.1:{}", ports[0]);
    (daemon, address)
}

/// Stops the member; no task of it may have panicked (the real binary
/// would have exited).
async fn finish(daemon: Daemon) {
    daemon.shutdown().await;
    assert_eq!(common::task_panics(), 0, "a server task panicked");
}

fn put(key: &str, value: &str) -> pb::PutRequest {
    pb::PutRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
        ..Default::default()
    }
}

fn range(key: &str) -> pb::RangeRequest {
    pb::RangeRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        ..Default::default()
    }
}

const KV_PUT: &str = "/etcdserverpb.KV/Put";
const KV_RANGE: &str = "/etcdserverpb.KV/Range";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_lease_cluster_and_maintenance_methods_answer_as_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    let mut client = GrpcClient::connect(&address).await;

    let put1: pb::PutResponse = client.unary(KV_PUT, &put("foo", "bar")).await.unwrap();
    let header = put1.header.clone().unwrap();
    assert_eq!(header.member_id, daemon.identity.member_id);
    assert_eq!(header.cluster_id, daemon.identity.cluster_id);
    assert!(header.raft_term >= 1);
    let first = header.revision;

    let mut with_prev = put("foo", "baz");
    with_prev.prev_kv = true;
    let put2: pb::PutResponse = client.unary(KV_PUT, &with_prev).await.unwrap();
    assert_eq!(
        put2.prev_kv.map(|kv| kv.value),
        Some(Bytes::from_static(b"bar"))
    );

    let got: pb::RangeResponse = client.unary(KV_RANGE, &range("foo")).await.unwrap();
    assert_eq!(got.count, 1);
    assert_eq!(got.kvs[0].value, Bytes::from_static(b"baz"));
    assert_eq!(got.kvs[0].version, 2);
    assert_eq!(got.kvs[0].create_revision, first);

    // A read at the first revision, then a txn with both branches.
    let mut old = range("foo");
    old.revision = first;
    let old: pb::RangeResponse = client.unary(KV_RANGE, &old).await.unwrap();
    assert_eq!(old.kvs[0].value, Bytes::from_static(b"bar"));
    let txn = pb::TxnRequest {
        compare: vec![pb::Compare {
            result: pb::CompareResult::Equal as i32,
            target: pb::CompareTarget::Value as i32,
            key: Bytes::from_static(b"foo"),
            target_union: Some(pb::TargetUnion::Value(Bytes::from_static(b"baz"))),
            range_end: Bytes::new(),
        }],
        success: vec![pb::RequestOp {
            request: Some(pb::Request::RequestPut(put("t", "yes"))),
        }],
        failure: vec![pb::RequestOp {
            request: Some(pb::Request::RequestRange(range("foo"))),
        }],
    };
    let answer: pb::TxnResponse = client.unary("/etcdserverpb.KV/Txn", &txn).await.unwrap();
    assert!(answer.succeeded);
    assert!(matches!(
        answer.responses[0].response,
        Some(pb::Response::ResponsePut(_))
    ));

    // etcd's errors: code and words.
    let empty: Result<pb::PutResponse, _> = client.unary(KV_PUT, &put("", "v")).await;
    assert_eq!(
        empty.err(),
        Some((3, "etcdserver: key is not provided".into()))
    );
    let compact = pb::CompactionRequest {
        revision: first + 1,
        physical: false,
    };
    let _: pb::CompactionResponse = client
        .unary("/etcdserverpb.KV/Compact", &compact)
        .await
        .unwrap();
    let mut compacted = range("foo");
    compacted.revision = first;
    let compacted: Result<pb::RangeResponse, _> = client.unary(KV_RANGE, &compacted).await;
    assert_eq!(
        compacted.err(),
        Some((
            11,
            "etcdserver: mvcc: required revision has been compacted".into()
        ))
    );
    let mut future = range("foo");
    future.revision = 1_000_000;
    let future: Result<pb::RangeResponse, _> = client.unary(KV_RANGE, &future).await;
    assert_eq!(
        future.err(),
        Some((
            11,
            "etcdserver: mvcc: required revision is a future revision".into()
        ))
    );

    // Leases: grant, time-to-live with keys, a missing lease's TTL of -1.
    let grant: pb::LeaseGrantResponse = client
        .unary(
            "/etcdserverpb.Lease/LeaseGrant",
            &pb::LeaseGrantRequest { ttl: 60, id: 0 },
        )
        .await
        .unwrap();
    assert!(grant.id != 0 && grant.ttl == 60);
    let mut leased = put("leased", "v");
    leased.lease = grant.id;
    let _: pb::PutResponse = client.unary(KV_PUT, &leased).await.unwrap();
    let ttl: pb::LeaseTimeToLiveResponse = client
        .unary(
            "/etcdserverpb.Lease/LeaseTimeToLive",
            &pb::LeaseTimeToLiveRequest {
                id: grant.id,
                keys: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(ttl.granted_ttl, 60);
    assert!(ttl.ttl > 0 && ttl.ttl <= 60);
    assert_eq!(ttl.keys, vec![Bytes::from_static(b"leased")]);
    let missing: pb::LeaseTimeToLiveResponse = client
        .unary(
            "/etcdserverpb.Lease/LeaseTimeToLive",
            &pb::LeaseTimeToLiveRequest {
                id: 12345,
                keys: false,
            },
        )
        .await
        .unwrap();
    assert_eq!((missing.id, missing.ttl), (12345, -1));
    let revoke_missing: Result<pb::LeaseRevokeResponse, _> = client
        .unary(
            "/etcdserverpb.Lease/LeaseRevoke",
            &pb::LeaseRevokeRequest { id: 12345 },
        )
        .await;
    assert_eq!(
        revoke_missing.err(),
        Some((5, "etcdserver: requested lease not found".into()))
    );

    // Cluster and maintenance.
    let members: pb::MemberListResponse = client
        .unary(
            "/etcdserverpb.Cluster/MemberList",
            &pb::MemberListRequest {},
        )
        .await
        .unwrap();
    assert_eq!(members.members.len(), 1);
    assert_eq!(members.members[0].id, daemon.identity.member_id);
    assert_eq!(members.members[0].name, "m");
    let status: pb::StatusResponse = client
        .unary("/etcdserverpb.Maintenance/Status", &pb::StatusRequest {})
        .await
        .unwrap();
    assert_eq!(status.leader, daemon.identity.member_id);
    assert!(status.db_size > 0 && status.raft_index >= status.raft_applied_index);
    let bad_member: Result<pb::MemberRemoveResponse, _> = client
        .unary(
            "/etcdserverpb.Cluster/MemberRemove",
            &pb::MemberRemoveRequest { id: 42 },
        )
        .await;
    assert_eq!(
        bad_member.err(),
        Some((5, "etcdserver: member not found".into()))
    );
    let hash: pb::HashKvResponse = client
        .unary(
            "/etcdserverpb.Maintenance/HashKV",
            &pb::HashKvRequest { revision: 0 },
        )
        .await
        .unwrap();
    assert!(hash.hash != 0);

    // Auth, as etcd answers with auth disabled.
    let enable: Result<pb::AuthEnableResponse, _> = client
        .unary("/etcdserverpb.Auth/AuthEnable", &pb::AuthEnableRequest {})
        .await;
    assert_eq!(
        enable.err(),
        Some((9, "etcdserver: root user does not exist".into()))
    );
    let users: pb::AuthUserListResponse = client
        .unary("/etcdserverpb.Auth/UserList", &pb::AuthUserListRequest {})
        .await
        .unwrap();
    assert!(users.users.is_empty() && users.header.is_some());
    finish(daemon).await;
}

fn create(key: &str, start_revision: i64, watch_id: i64) -> pb::WatchRequest {
    pb::WatchRequest {
        request_union: Some(pb::RequestUnion::CreateRequest(pb::WatchCreateRequest {
            key: Bytes::copy_from_slice(key.as_bytes()),
            start_revision,
            watch_id,
            prev_kv: true,
            ..Default::default()
        })),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_watch_stream_carries_many_watches_by_etcds_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    let mut client = GrpcClient::connect(&address).await;
    let first: pb::PutResponse = client.unary(KV_PUT, &put("a", "1")).await.unwrap();
    let first = first.header.unwrap().revision;
    let _: pb::PutResponse = client.unary(KV_PUT, &put("a", "2")).await.unwrap();

    let mut stream = client.stream("/etcdserverpb.Watch/Watch", &[]).await;
    // Three creates at once: created responses in order, ids 0 and 1 picked
    // by the server, 7 as asked; then a duplicate id and an empty range.
    stream.send(&create("a", first, 0));
    stream.send(&create("b", 0, 0));
    stream.send(&create("c", 0, 7));
    stream.send(&create("d", 0, 7));
    let mut empty_range = create("z", 0, 0);
    if let Some(pb::RequestUnion::CreateRequest(c)) = empty_range.request_union.as_mut() {
        c.range_end = Bytes::from_static(b"a");
    }
    stream.send(&empty_range);

    let mut created = Vec::new();
    let mut events: Vec<pb::WatchResponse> = Vec::new();
    while created.len() < 5 {
        let response: pb::WatchResponse = stream.next().await.unwrap();
        if response.created {
            created.push(response);
        } else {
            events.push(response);
        }
    }
    let ids: Vec<i64> = created.iter().map(|r| r.watch_id).collect();
    assert_eq!(ids, vec![0, 1, 7, -1, -1]);
    assert!(created[..3].iter().all(|r| !r.canceled));
    assert!(created[3].canceled && created[4].canceled);
    assert_eq!(
        created[3].cancel_reason,
        "mvcc: duplicate watch ID provided on the WatchStream"
    );
    assert_eq!(created[4].cancel_reason, "mvcc: watcher range is empty");

    // Watch 0 replays history from `first`, with prev_kv.
    while events.iter().map(|r| r.events.len()).sum::<usize>() < 2 {
        events.push(stream.next().await.unwrap());
    }
    let replayed: Vec<&mvccpb::Event> = events.iter().flat_map(|r| r.events.iter()).collect();
    assert!(events.iter().all(|r| r.watch_id == 0));
    assert_eq!(
        replayed[0].kv.as_ref().unwrap().value,
        Bytes::from_static(b"1")
    );
    assert_eq!(
        replayed[1].prev_kv.as_ref().unwrap().value,
        Bytes::from_static(b"1")
    );

    // A live change reaches watch 1 only.
    let _: pb::PutResponse = client.unary(KV_PUT, &put("b", "x")).await.unwrap();
    let live: pb::WatchResponse = stream.next().await.unwrap();
    assert_eq!(live.watch_id, 1);
    assert_eq!(
        live.events[0].kv.as_ref().unwrap().key,
        Bytes::from_static(b"b")
    );

    // Progress: watch id -1, a revision every watch has delivered.
    stream.send(&pb::WatchRequest {
        request_union: Some(pb::RequestUnion::ProgressRequest(
            pb::WatchProgressRequest {},
        )),
    });
    let progress: pb::WatchResponse = stream.next().await.unwrap();
    assert_eq!(progress.watch_id, -1);
    assert!(progress.events.is_empty() && !progress.created);
    assert_eq!(
        progress.header.unwrap().revision,
        live.header.unwrap().revision
    );

    // Cancel: answered, and nothing more for that watch.
    stream.send(&pb::WatchRequest {
        request_union: Some(pb::RequestUnion::CancelRequest(pb::WatchCancelRequest {
            watch_id: 1,
        })),
    });
    let canceled: pb::WatchResponse = stream.next().await.unwrap();
    assert!(canceled.canceled && canceled.watch_id == 1);
    let _: pb::PutResponse = client.unary(KV_PUT, &put("c", "y")).await.unwrap();
    let _: pb::PutResponse = client.unary(KV_PUT, &put("b", "z")).await.unwrap();
    let next: pb::WatchResponse = stream.next().await.unwrap();
    assert_eq!(next.watch_id, 7, "watch 1 was canceled");

    // A compacted start revision: canceled with the compact revision and,
    // as in etcd, no reason.
    let now = next.header.unwrap().revision;
    let _: pb::CompactionResponse = client
        .unary(
            "/etcdserverpb.KV/Compact",
            &pb::CompactionRequest {
                revision: now,
                physical: true,
            },
        )
        .await
        .unwrap();
    stream.send(&create("a", first, 0));
    let created_again: pb::WatchResponse = stream.next().await.unwrap();
    assert!(created_again.created && !created_again.canceled);
    let compacted: pb::WatchResponse = stream.next().await.unwrap();
    assert!(compacted.canceled);
    assert_eq!(compacted.compact_revision, now);
    assert_eq!(compacted.cancel_reason, "");
    assert_eq!(compacted.watch_id, created_again.watch_id);
    finish(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_streams_renew_and_report_gone_leases_with_ttl_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    let mut client = GrpcClient::connect(&address).await;
    let grant: pb::LeaseGrantResponse = client
        .unary(
            "/etcdserverpb.Lease/LeaseGrant",
            &pb::LeaseGrantRequest { ttl: 30, id: 0 },
        )
        .await
        .unwrap();
    let mut stream = client
        .stream("/etcdserverpb.Lease/LeaseKeepAlive", &[])
        .await;
    stream.send(&pb::LeaseKeepAliveRequest { id: grant.id });
    stream.send(&pb::LeaseKeepAliveRequest { id: 999 });
    stream.send(&pb::LeaseKeepAliveRequest { id: grant.id });
    let answers: Vec<pb::LeaseKeepAliveResponse> = vec![
        stream.next().await.unwrap(),
        stream.next().await.unwrap(),
        stream.next().await.unwrap(),
    ];
    assert_eq!(
        answers.iter().map(|a| (a.id, a.ttl)).collect::<Vec<_>>(),
        vec![(grant.id, 30), (999, 0), (grant.id, 30)]
    );
    assert!(answers.iter().all(|a| a.header.is_some()));
    stream.close_send();
    assert!(stream.next::<pb::LeaseKeepAliveResponse>().await.is_none());
    assert_eq!(stream.status(), Some((0, String::new())));
    finish(daemon).await;
}

/// A put and a read still work on a fresh connection.
async fn still_serving(address: &str, key: &str) {
    let mut client = GrpcClient::connect(address).await;
    let _: pb::PutResponse = client.unary(KV_PUT, &put(key, "ok")).await.unwrap();
    let got: pb::RangeResponse = client.unary(KV_RANGE, &range(key)).await.unwrap();
    assert_eq!(got.kvs[0].value, Bytes::from_static(b"ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_grpc_input_gets_the_right_error_and_others_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    // A well-formed client puts all along, on its own connection.
    let steady_address = address.clone();
    let steady = tokio::spawn(async move {
        let mut client = GrpcClient::connect(&steady_address).await;
        for i in 0..200 {
            let _: pb::PutResponse = client
                .unary(KV_PUT, &put(&format!("steady{}", i % 5), "v"))
                .await
                .unwrap();
        }
    });
    let grpc = [("content-type", "application/grpc"), ("te", "trailers")];
    let mut client = GrpcClient::connect(&address).await;

    let unknown = client
        .call_raw("/etcdserverpb.KV/Frobnicate", &grpc, Bytes::new())
        .await;
    assert_eq!(unknown.grpc_status(), Some(12));
    assert_eq!(
        unknown.grpc_message(),
        "unknown method Frobnicate for service etcdserverpb.KV"
    );
    let service = client.call_raw("/no.Such/Thing", &grpc, Bytes::new()).await;
    assert_eq!(service.grpc_message(), "unknown service no.Such");

    let json = client
        .call_raw(
            KV_RANGE,
            &[("content-type", "application/json")],
            Bytes::new(),
        )
        .await;
    assert_eq!(json.http_status, 415);
    assert_eq!(json.grpc_status(), Some(13));

    let mut gzip = grpc.to_vec();
    gzip.push(("grpc-encoding", "gzip"));
    let gzip = client.call_raw(KV_RANGE, &gzip, Bytes::new()).await;
    assert_eq!(gzip.grpc_status(), Some(12));
    assert_eq!(
        gzip.grpc_message(),
        "grpc: Decompressor is not installed for grpc-encoding \"gzip\""
    );

    let mut bad_timeout = grpc.to_vec();
    bad_timeout.push(("grpc-timeout", "soon"));
    let bad_timeout = client.call_raw(KV_RANGE, &bad_timeout, Bytes::new()).await;
    assert_eq!(bad_timeout.grpc_status(), Some(13));

    let compressed = client
        .call_raw(KV_RANGE, &grpc, Bytes::from_static(&[1, 0, 0, 0, 1, 0]))
        .await;
    assert_eq!(compressed.grpc_status(), Some(13));

    let garbage = client
        .call_raw(
            KV_RANGE,
            &grpc,
            GrpcStream::framed(&[0xff, 0xff, 0xff, 0xff]),
        )
        .await;
    assert_eq!(garbage.grpc_status(), Some(13));
    assert!(
        garbage
            .grpc_message()
            .starts_with("grpc: error unmarshalling request")
    );

    let huge = vec![b'x'; 2_200_000];
    let mut oversize = put("big", "");
    oversize.value = Bytes::from(huge);
    let oversize: Result<pb::PutResponse, _> = client.unary(KV_PUT, &oversize).await;
    let (code, message) = oversize.unwrap_err();
    assert_eq!(code, 8);
    assert!(
        message.starts_with("grpc: received message larger than max ("),
        "{message}"
    );

    // Over --max-request-bytes but within gRPC's slack: etcd's own words.
    let mut large = put("large", "");
    large.value = Bytes::from(vec![b'y'; 1_700_000]);
    let large: Result<pb::PutResponse, _> = client.unary(KV_PUT, &large).await;
    assert_eq!(
        large.err(),
        Some((3, "etcdserver: request is too large".into()))
    );

    let truncated = client
        .call_raw(KV_RANGE, &grpc, Bytes::from_static(&[0, 0, 0, 0, 9, 1]))
        .await;
    assert_eq!(truncated.grpc_status(), Some(13));

    let mut deadline = grpc.to_vec();
    deadline.push(("grpc-timeout", "30S"));
    let deadline = client
        .call_raw(
            KV_RANGE,
            &deadline,
            keel_server::grpc::codec::encode(&range("x")),
        )
        .await;
    assert_eq!(
        deadline.grpc_status(),
        Some(0),
        "a valid grpc-timeout is honoured"
    );

    // Not HTTP/2 after the preface, and a broken frame: the connection
    // ends, the server does not.
    for bytes in [
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\ngarbage-after-the-preface"[..],
        // A DATA frame on stream 0: a connection error.
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x01\x00\x00\x00\x00\x00\x00x"[..],
        &b"PRI * HTTP/1.1\r\n\r\n"[..],
    ] {
        let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
        tcp.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
        assert!(
            read.is_ok(),
            "the server closes a broken connection: {bytes:?}"
        );
    }
    steady.await.unwrap();
    still_serving(&address, "after").await;
    finish(daemon).await;
}

/// A POST request with a JSON body.
fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends raw HTTP/1.1 and reads what comes back until `until` appears.
async fn http_exchange(address: &str, request: &[u8], until: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&answer).contains(until) {
        let read = tokio::time::timeout_at(deadline, tcp.read(&mut buffer)).await;
        match read {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buffer[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_gateway_serves_etcds_paths_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    // Two requests on one connection (keep-alive), the second chunked.
    let put_body = r#"{"key":"Zm9v","value":"YmFy"}"#;
    let pipelined = format!(
        "POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{put_body}\
         POST /v3beta/kv/range HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\n{{\"key\r\n9\r\n\":\"Zm9v\"}}\r\n0\r\n\r\n",
        put_body.len()
    );
    let answer = http_exchange(&address, pipelined.as_bytes(), "\"count\":\"1\"").await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert!(answer.contains("\"value\":\"YmFy\""), "{answer}");

    let bad_json = http_exchange(&address, &post("/v3/kv/range", r#"{"key":true}"#), "}").await;
    assert!(
        bad_json.starts_with("HTTP/1.1 400 Bad Request"),
        "{bad_json}"
    );
    assert!(bad_json.contains("\"code\":3"), "{bad_json}");

    // Unknown fields are ignored, as etcd's gateway ignores them.
    let unknown_field = http_exchange(&address, &post("/v3/kv/range", r#"{"nope":1}"#), "}").await;
    assert!(
        unknown_field.contains("etcdserver: key is not provided"),
        "{unknown_field}"
    );

    let compacted = http_exchange(
        &address,
        &post("/v3/kv/range", r#"{"key":"Zm9v","revision":"99"}"#),
        "}",
    )
    .await;
    assert!(
        compacted.contains("required revision is a future revision"),
        "{compacted}"
    );
    assert!(compacted.contains("\"code\":11"), "{compacted}");

    let not_found = http_exchange(
        &address,
        b"POST /v3/kv/nothing HTTP/1.1\r\nHost: x\r\n\r\n",
        "\n\n",
    )
    .await;
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    let get = http_exchange(
        &address,
        b"GET /v3/kv/range HTTP/1.1\r\nHost: x\r\n\r\n",
        "Allowed",
    )
    .await;
    assert!(get.starts_with("HTTP/1.1 405"), "{get}");
    let malformed = http_exchange(&address, b"GET \x01\x02 nonsense\r\n\r\n", "Request").await;
    assert!(malformed.starts_with("HTTP/1.1 400"), "{malformed}");
    let oversize = http_exchange(
        &address,
        b"POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
        "}",
    )
    .await;
    assert!(oversize.starts_with("HTTP/1.1 429"), "{oversize}");

    // A watch streams {"result":...} lines, the created response first.
    let watch = http_exchange(
        &address,
        &post(
            "/v3/watch",
            r#"{"create_request":{"key":"Zm9v","start_revision":1}}"#,
        ),
        "YmFy",
    )
    .await;
    assert!(watch.contains("Transfer-Encoding: chunked"), "{watch}");
    let created = watch.find("\"created\":true").unwrap();
    let event = watch.find("\"value\":\"YmFy\"").unwrap();
    assert!(created < event, "{watch}");

    let health = http_exchange(&address, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", "}").await;
    assert!(health.contains("{\"health\":\"true\"}"), "{health}");
    still_serving(&address, "after-http").await;
    finish(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_leave_mid_stream_leave_the_member_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    for round in 0..3 {
        let mut client = GrpcClient::connect(&address).await;
        // A watch stream dropped by its client (RST_STREAM) after creation.
        let mut watch = client.stream("/etcdserverpb.Watch/Watch", &[]).await;
        watch.send(&create("w", 0, 0));
        let created: pb::WatchResponse = watch.next().await.unwrap();
        assert!(created.created);
        drop(watch);
        // One that closes its side first (watches go on), then resets.
        let mut half = client.stream("/etcdserverpb.Watch/Watch", &[]).await;
        half.send(&create("w", 0, 0));
        let _: pb::WatchResponse = half.next().await.unwrap();
        half.close_send();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(half);
        // clientv3's KeepAliveOnce: one request, one answer, then reset.
        let grant: pb::LeaseGrantResponse = client
            .unary(
                "/etcdserverpb.Lease/LeaseGrant",
                &pb::LeaseGrantRequest { ttl: 30, id: 0 },
            )
            .await
            .unwrap();
        let mut once = client
            .stream("/etcdserverpb.Lease/LeaseKeepAlive", &[])
            .await;
        once.send(&pb::LeaseKeepAliveRequest { id: grant.id });
        let renewed: pb::LeaseKeepAliveResponse = once.next().await.unwrap();
        assert_eq!(renewed.ttl, 30);
        drop(once);
        // A watch stream whose whole connection goes away.
        let mut other = GrpcClient::connect(&address).await;
        let mut watch = other.stream("/etcdserverpb.Watch/Watch", &[]).await;
        watch.send(&create("w", 0, 0));
        let _: pb::WatchResponse = watch.next().await.unwrap();
        drop(watch);
        drop(other);
        // Writes into the dropped watches' range go nowhere, harmlessly.
        let _: pb::PutResponse = client
            .unary(KV_PUT, &put("w", &round.to_string()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        still_serving(&address, &format!("left{round}")).await;
    }
    finish(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clientv3s_hasleader_refuses_calls_and_ends_watches_without_a_leader() {
    common::task_panics();
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[3 + i]),
            )
        })
        .collect();
    let mut daemons = Vec::new();
    for i in 0..3 {
        let name = format!("m{i}");
        let mut options = daemon_options(
            dir.path(),
            &name,
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        options.client_port.etcd.watch_streams.no_leader_timeout = Duration::from_millis(300);
        daemons.push(
            Daemon::start(options, Arc::new(OsDisk::new()))
                .await
                .unwrap(),
        );
    }
    for daemon in &daemons {
        assert!(daemon.wait_ready(Duration::from_secs(20)).await);
    }
    let address = format!("127.0.0.1:{}", ports[0]);
    let mut client = GrpcClient::connect(&address).await;
    let hasleader = [("hasleader", "true")];
    let _: pb::PutResponse = client
        .unary_with(KV_PUT, &hasleader, &put("k", "v"))
        .await
        .unwrap();
    let mut watch = client.stream("/etcdserverpb.Watch/Watch", &hasleader).await;
    watch.send(&create("k", 0, 0));
    let created: pb::WatchResponse = watch.next().await.unwrap();
    assert!(created.created);

    // Two members stop: the third loses its leader (check-quorum).
    let survivor = daemons.remove(0);
    for daemon in daemons {
        daemon.shutdown().await;
    }
    let mut status = survivor.node.watch_status();
    tokio::time::timeout(Duration::from_secs(10), async {
        while status.borrow_and_update().leader_id != 0 {
            let _ = status.changed().await;
        }
    })
    .await
    .expect("the survivor loses its leader");

    let refused: Result<pb::RangeResponse, _> =
        client.unary_with(KV_RANGE, &hasleader, &range("k")).await;
    assert_eq!(refused.err(), Some((14, "etcdserver: no leader".into())));
    // Without the metadata a serializable read is still served locally.
    let mut local = range("k");
    local.serializable = true;
    let local: pb::RangeResponse = client.unary(KV_RANGE, &local).await.unwrap();
    assert_eq!(local.kvs[0].value, Bytes::from_static(b"v"));
    // The watch that required a leader ends with "no leader".
    let ended = tokio::time::timeout(Duration::from_secs(5), watch.next::<pb::WatchResponse>())
        .await
        .expect("the watch ends");
    assert!(ended.is_none());
    assert_eq!(watch.status(), Some((14, "etcdserver: no leader".into())));
    finish(survivor).await;
}

/// etcd's gateway reaches its gRPC server over one internal connection, so
/// `--max-concurrent-streams` bounds the gateway calls of a listener: with
/// the bound taken by watch streams a range waits, and is answered once a
/// watch ends (etcd's TestV3Curl_MaxStreams_* rely on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_calls_wait_when_max_concurrent_streams_are_open() {
    common::task_panics();
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("m".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut options = daemon_options(
        dir.path(),
        "m",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    options.client_port.grpc.max_concurrent_streams = 2;
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    let address = format!("127.0.0.1:{}", ports[0]);
    let watch = post("/v3/watch", r#"{"create_request":{"key":"Zm9v"}}"#);
    let mut watches = Vec::new();
    for _ in 0..2 {
        let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
        tcp.write_all(&watch).await.unwrap();
        let mut buffer = [0u8; 1024];
        let n = tcp.read(&mut buffer).await.unwrap();
        assert!(
            String::from_utf8_lossy(&buffer[..n]).contains("\"created\":true"),
            "watch created"
        );
        watches.push(tcp);
    }
    let gateway_range = post("/v3/kv/range", r#"{"key":"Zm9v"}"#);
    let mut waiting = tokio::net::TcpStream::connect(&address).await.unwrap();
    waiting.write_all(&gateway_range).await.unwrap();
    let mut buffer = [0u8; 4096];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "the range waits while both streams are open"
    );
    // gRPC calls are not gateway calls: they are served meanwhile.
    let mut client = GrpcClient::connect(&address).await;
    let answer: Result<pb::RangeResponse, _> = client.unary(KV_RANGE, &range("foo")).await;
    assert!(answer.is_ok(), "{answer:?}");
    // One watch ends: the waiting range is answered.
    drop(watches.pop());
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buffer))
        .await
        .expect("answered once a stream ended")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    finish(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_streams_a_backup_that_counts_down_and_keelctl_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    let mut client = GrpcClient::connect(&address).await;
    for i in 0..500 {
        let value = "x".repeat(200);
        let _: pb::PutResponse = client
            .unary(KV_PUT, &put(&format!("k{i:03}"), &value))
            .await
            .unwrap();
    }
    let mut stream = client
        .stream("/etcdserverpb.Maintenance/Snapshot", &[])
        .await;
    stream.send(&pb::SnapshotRequest {});
    stream.close_send();
    let mut backup = Vec::new();
    let mut pieces = 0;
    let mut still_to_come = None;
    while let Some(piece) = stream.next::<pb::SnapshotResponse>().await {
        // Each piece says what is still to come after it, down to 0.
        let expected = still_to_come.unwrap_or(piece.remaining_bytes + piece.blob.len() as u64);
        assert_eq!(piece.remaining_bytes + piece.blob.len() as u64, expected);
        still_to_come = Some(piece.remaining_bytes);
        backup.extend_from_slice(&piece.blob);
        pieces += 1;
    }
    assert_eq!(still_to_come, Some(0));
    assert_eq!(backup.len() % 512, 32, "etcdctl's hash-trailer test");
    assert_eq!(stream.status(), Some((0, String::new())));
    assert!(pieces > 1, "a backup of 100 kB comes in pieces");
    let file = dir.path().join("grpc.db");
    std::fs::write(&file, &backup).unwrap();
    let status = keel_engine::backup::status(Arc::new(OsDisk::new()), &file).unwrap();
    assert_eq!(status.revision, 501);
    finish(daemon).await;
}

/// The body of a chunked HTTP/1.1 answer, its chunks joined.
fn dechunk(answer: &str) -> String {
    let Some((_, mut rest)) = answer.split_once("\r\n\r\n") else {
        return String::new();
    };
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_gateway_streams_a_snapshot_keelctl_can_read() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let (daemon, address) = member(dir.path()).await;
    let mut client = GrpcClient::connect(&address).await;
    for i in 0..300 {
        let _: pb::PutResponse = client
            .unary(KV_PUT, &put(&format!("k{i:03}"), &"y".repeat(300)))
            .await
            .unwrap();
    }
    let answer = http_exchange(
        &address,
        &post("/v3/maintenance/snapshot", "{}"),
        "\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{}", &answer[..200]);
    assert!(answer.contains("Grpc-Metadata-Content-Type: application/grpc"));
    let mut backup = Vec::new();
    let mut still_to_come = None;
    let mut pieces = 0;
    for line in dechunk(&answer).lines() {
        let message: serde_json::Value = serde_json::from_str(line).unwrap();
        let result = &message["result"];
        let blob = base64::engine::general_purpose::STANDARD
            .decode(result["blob"].as_str().unwrap())
            .unwrap();
        // uint64 as a string, and left out when it is 0 (the last piece).
        let remaining: u64 = result["remaining_bytes"]
            .as_str()
            .map_or(0, |r| r.parse().unwrap());
        let expected = still_to_come.unwrap_or(remaining + blob.len() as u64);
        assert_eq!(remaining + blob.len() as u64, expected, "{line:.80}");
        still_to_come = Some(remaining);
        backup.extend_from_slice(&blob);
        pieces += 1;
    }
    assert_eq!(still_to_come, Some(0));
    assert!(pieces > 1, "a backup of 100 kB comes in pieces");
    let file = dir.path().join("gateway.db");
    std::fs::write(&file, &backup).unwrap();
    let status = keel_engine::backup::status(Arc::new(OsDisk::new()), &file).unwrap();
    assert_eq!(status.revision, 301);

    // A body that does not decode is refused before the stream starts, as
    // a unary call's is; a token fails the stream (no auth: none is known),
    // with the auth package's untranslated words, as etcd 3.4 answers (a
    // 500: its maintenance server passes the error through).
    let bad = http_exchange(&address, &post("/v3/maintenance/snapshot", "{\"x\":"), "}").await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(bad.contains("\"code\":3"), "{bad}");
    let with_token = http_exchange(
        &address,
        b"POST /v3/maintenance/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: t\r\nContent-Length: 2\r\n\r\n{}",
        "}}",
    )
    .await;
    assert!(with_token.starts_with("HTTP/1.1 500"), "{with_token}");
    assert!(
        with_token
            .contains(r#""grpc_code":2,"http_code":500,"message":"auth: invalid auth token""#),
        "{with_token}"
    );
    finish(daemon).await;
}
