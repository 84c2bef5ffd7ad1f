//! Writes the fuzz targets' seed corpora (`fuzz/corpus/<target>/`) from
//! valid inputs made by Keel's own encoders:
//!
//! ```sh
//! cargo run -p keel-server --example fuzz_seeds -- fuzz/corpus
//! ```

use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::storage::btree::{BTreeOptions, BTreeStore, WriteBatch};
use keel_engine::storage::disk::{Disk, SimDisk};
use keel_engine::storage::wal::{Wal, WalEntry, WalOptions};
use keel_engine::wire::{ClusterInfo, Encode, Frame, FrameKind, PeerHello, RaftMessages};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn wal_segment() -> Vec<u8> {
    let sim = SimDisk::new(1);
    let disk: Arc<dyn Disk> = Arc::new(sim.clone());
    let options = WalOptions {
        segment_bytes: 4096,
        ..WalOptions::default()
    };
    let (mut wal, _) = Wal::open(Arc::clone(&disk), Path::new("/wal"), options).expect("wal");
    let entries: Vec<WalEntry> = (1..=5)
        .map(|index| WalEntry {
            index,
            term: 1 + index / 3,
            payload: Bytes::from(format!("entry {index}")),
        })
        .collect();
    wal.append_entries(&entries).expect("append");
    wal.sync().expect("sync");
    let path: PathBuf = wal.segment_paths()[0].clone();
    sim.durable_contents(&path).expect("segment")
}

/// A small store's snapshot image and its file.
fn btree_image() -> (Vec<u8>, Vec<u8>) {
    let sim = SimDisk::new(2);
    let disk: Arc<dyn Disk> = Arc::new(sim.clone());
    let mut store =
        BTreeStore::open(disk, Path::new("/db"), BTreeOptions::default()).expect("btree");
    let mut batch = WriteBatch::new();
    batch.create_tree("kv");
    batch.create_tree("meta");
    for i in 0..20u8 {
        batch.put("kv", vec![b'k', i], vec![i; 16]);
    }
    batch.put("meta", &b"rev"[..], &b"20"[..]);
    store.checkpoint(&batch).expect("checkpoint");
    let mut image = Vec::new();
    store
        .view()
        .export()
        .expect("export")
        .read_to_end(&mut image)
        .expect("read image");
    let file = sim.durable_contents(Path::new("/db")).expect("btree file");
    (image, file)
}

fn requests() -> Vec<(&'static str, Request)> {
    let put = PutRequest {
        key: Bytes::from_static(b"foo"),
        value: Bytes::from_static(b"bar"),
        prev_kv: true,
        ..PutRequest::default()
    };
    vec![
        ("put", Request::Put(put.clone())),
        (
            "range",
            Request::Range(RangeRequest {
                key: Bytes::from_static(b"f"),
                range_end: Bytes::from_static(b"g"),
                limit: 10,
                ..RangeRequest::default()
            }),
        ),
        (
            "txn",
            Request::Txn(TxnRequest {
                compare: vec![Compare {
                    result: CompareResult::Greater,
                    target: CompareTarget::Mod(0),
                    key: Bytes::from_static(b"foo"),
                    range_end: Bytes::new(),
                }],
                success: vec![RequestOp::Put(put)],
                failure: vec![RequestOp::DeleteRange(DeleteRangeRequest {
                    key: Bytes::from_static(b"foo"),
                    ..DeleteRangeRequest::default()
                })],
            }),
        ),
        (
            "member_add",
            Request::MemberAdd(MemberAddRequest {
                peer_urls: vec!["http://127.0.0.1:2380".into()],
                is_learner: true,
                force: false,
            }),
        ),
        ("status", Request::Status),
        (
            "lease_grant",
            Request::LeaseGrant(LeaseGrantRequest {
                ttl_seconds: 10,
                id: 0,
            }),
        ),
        (
            "lease_keep_alive",
            Request::LeaseKeepAlive(LeaseKeepAliveRequest {
                id: 0x694d_0000_0000_0001,
            }),
        ),
        (
            "lease_time_to_live",
            Request::LeaseTimeToLive(LeaseTimeToLiveRequest {
                id: 0x694d_0000_0000_0001,
                keys: true,
            }),
        ),
        ("lease_list", Request::LeaseLeases),
    ]
}

/// The auth tree after root, a role with a prefix permission, a user with
/// it, and auth enabled.
fn auth_tree() -> Vec<u8> {
    let mut store = keel_engine::auth::AuthStore::default();
    let mut tree = std::collections::BTreeMap::new();
    let requests = [
        AuthRequest::UserAdd {
            name: "root".into(),
            credential: Credential::Hash(
                "$2a$04$.au/rxGqtnZuOC48zq4zAuLTJPI/kWPCjU.1JjaNuff.2Z8ZrKc.2".into(),
            ),
        },
        AuthRequest::UserGrantRole {
            user: "root".into(),
            role: ROOT_ROLE.into(),
        },
        AuthRequest::RoleAdd { name: "r".into() },
        AuthRequest::RoleGrantPermission {
            name: "r".into(),
            perm: Permission {
                perm_type: PermissionType::Read,
                key: Bytes::from_static(b"a"),
                range_end: Bytes::from_static(b"b"),
            },
        },
        AuthRequest::UserAdd {
            name: "cn".into(),
            credential: Credential::NoPassword,
        },
        AuthRequest::UserGrantRole {
            user: "cn".into(),
            role: "r".into(),
        },
        AuthRequest::Enable,
    ];
    for request in requests {
        let (_, writes) = store.apply(&request).expect("seed auth change");
        for (key, value) in writes {
            match value {
                Some(value) => tree.insert(key, value),
                None => tree.remove(&key),
            };
        }
    }
    let entries: Vec<(Bytes, Bytes)> = tree.into_iter().collect();
    keel_engine::fuzzing::auth_tree_bytes(&entries)
}

fn raft_messages() -> RaftMessages {
    let mut message = raft::eraftpb::Message::default();
    message.set_msg_type(raft::eraftpb::MessageType::MsgAppend);
    message.from = 1;
    message.to = 2;
    message.term = 3;
    let entry = raft::eraftpb::Entry {
        index: 7,
        term: 3,
        data: Bytes::from_static(b"payload").to_vec().into(),
        ..Default::default()
    };
    message.entries = vec![entry].into();
    RaftMessages(vec![message])
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    write(&root, "wal_recovery", "five_entries", &wal_segment());
    let (image, file) = btree_image();
    write(&root, "btree_image", "twenty_keys_image", &image);
    write(&root, "btree_image", "twenty_keys_file", &file);
    for (name, request) in requests() {
        let frame = Frame::new(FrameKind::Request, 7, request.to_bytes()).encode();
        write(&root, "client_frame", name, &frame);
    }
    let watch = keel_engine::api::WatchCreateRequest {
        key: Bytes::from_static(b"k"),
        range_end: Bytes::from_static(b"l"),
        start_revision: 3,
        prev_kv: true,
        progress_notify: true,
        ..Default::default()
    };
    let frame = Frame::new(FrameKind::WatchCreate, 9, watch.to_bytes()).encode();
    write(&root, "client_frame", "watch_create", &frame);
    let frame = Frame::new(FrameKind::WatchCancel, 9, Bytes::new()).encode();
    write(&root, "client_frame", "watch_cancel", &frame);
    let response = keel_engine::api::WatchResponse {
        events: vec![keel_engine::api::Event {
            kind: keel_engine::api::EventKind::Put,
            kv: keel_engine::api::KeyValue {
                key: Bytes::from_static(b"k"),
                value: Bytes::from_static(b"v"),
                mod_revision: 4,
                create_revision: 4,
                version: 1,
                lease: 0,
            },
            prev_kv: None,
        }],
        ..Default::default()
    };
    let frame = Frame::new(FrameKind::WatchResponse, 9, response.to_bytes()).encode();
    write(&root, "client_frame", "watch_response", &frame);
    let messages = raft_messages();
    write(&root, "raft_messages", "append", &messages.to_bytes());
    write(&root, "auth_store", "root_and_a_reader", &auth_tree());
    let peer_frames = [
        (
            "raft",
            Frame::new(FrameKind::RaftMessages, 0, messages.to_bytes()),
        ),
        (
            "hello",
            Frame::new(
                FrameKind::PeerHello,
                0,
                PeerHello {
                    cluster_id: 9,
                    from: 1,
                    to: 2,
                }
                .to_bytes(),
            ),
        ),
        (
            "cluster_info_request",
            Frame::new(FrameKind::ClusterInfoRequest, 0, Bytes::new()),
        ),
        (
            "cluster_info",
            Frame::new(
                FrameKind::ClusterInfoResponse,
                0,
                ClusterInfo {
                    cluster_id: 9,
                    members: vec![Member {
                        id: 1,
                        name: "m1".into(),
                        peer_urls: vec!["http://127.0.0.1:2380".into()],
                        client_urls: vec!["http://127.0.0.1:2379".into()],
                        is_learner: false,
                    }],
                }
                .to_bytes(),
            ),
        ),
    ];
    for (name, frame) in peer_frames {
        write(&root, "peer_frame", name, &frame.encode());
    }
    write(
        &root,
        "config",
        "flags",
        b"--name\ninfra1\n--initial-cluster-state\nnew\0\0",
    );
    write(
        &root,
        "config",
        "env",
        b"\0KEEL_NAME=infra1\nKEEL_SNAPSHOT_COUNT=1000\nKEEL_LISTEN_CLIENT_URLS=http://127.0.0.1:2379\0",
    );
    write(
        &root,
        "config",
        "file",
        b"--config-file\n/etc/keel.yaml\0\0name: 'infra1'\ndata-dir: /var/lib/keel\nsnapshot-count: 5000\n",
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/etcdctl");
    for name in [
        "txn_success",
        "txn_failure",
        "txn_duplicate",
        "txn_malformed",
    ] {
        let text = std::fs::read(fixtures.join(format!("{name}.in"))).expect("txn fixture");
        write(&root, "txn_input", name, &text);
    }
    let script: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&root, "kv_ops", "mixed", &script);
    write(
        &root,
        "kv_ops",
        "puts_then_crash",
        &[0, 1, 2, 0, 3, 4, 0, 5, 6, 5, 6],
    );
    etcd_seeds(&root);
}

/// Seeds for etcd's API: gateway requests, gRPC request messages and what
/// an HTTP/2 client (the h2 crate's) sends for a put and a watch.
fn etcd_seeds(root: &Path) {
    use keel_server::etcd::proto::etcdserverpb as pb;
    use keel_server::etcd::unary::Unary;
    use prost::Message;

    let gateway = [
        (
            "range",
            "/v3/kv/range",
            r#"{"key":"Zm9v","range_end":"Zm9w","limit":"2","sort_order":"DESCEND","serializable":true}"#,
        ),
        (
            "put",
            "/v3/kv/put",
            r#"{"key":"Zm9v","value":"YmFy","lease":"7","prev_kv":true}"#,
        ),
        (
            "txn",
            "/v3/kv/txn",
            r#"{"compare":[{"result":"GREATER","target":"MOD","key":"Zm9v","mod_revision":"3"},{"target":"VALUE","key":"YQ==","value":"Yg==","range_end":"Yw=="}],"success":[{"request_put":{"key":"YQ==","value":"Yg=="}},{"request_txn":{"success":[{"request_delete_range":{"key":"YQ=="}}]}}],"failure":[{"requestRange":{"key":"YQ=="}}]}"#,
        ),
        (
            "watch",
            "/v3/watch",
            r#"{"create_request":{"key":"Zm9v","start_revision":"1","filters":["NODELETE"],"prev_kv":true,"watch_id":"3","fragment":true}} {"progress_request":{}} {"cancel_request":{"watch_id":"3"}}"#,
        ),
        ("keepalive", "/v3/lease/keepalive", r#"{"ID":"7"}"#),
        ("grant", "/v3beta/lease/grant", r#"{"TTL":"30","ID":0}"#),
        (
            "member_add",
            "/v3/cluster/member/add",
            r#"{"peerURLs":["http://127.0.0.1:2380"],"isLearner":true}"#,
        ),
        (
            "alarm",
            "/v3/maintenance/alarm",
            r#"{"action":"DEACTIVATE","memberID":"1","alarm":"NOSPACE"}"#,
        ),
        (
            "role_grant",
            "/v3/auth/role/grant",
            r#"{"name":"r","perm":{"permType":"READWRITE","key":"YQ==","range_end":"Yg=="}}"#,
        ),
    ];
    for (name, path, body) in gateway {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        write(root, "gateway_request", name, request.as_bytes());
    }
    let chunked = "POST /v3/kv/range HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"key\"\r\n8\r\n:\"Zm9v\"}\r\n0\r\n\r\n";
    write(root, "gateway_request", "chunked", chunked.as_bytes());

    let index = |method: Unary| Unary::ALL.iter().position(|m| *m == method).unwrap_or(0) as u8;
    let range = pb::RangeRequest {
        key: Bytes::from_static(b"foo"),
        range_end: Bytes::from_static(b"\0"),
        limit: 10,
        sort_order: 2,
        sort_target: 3,
        ..Default::default()
    };
    let txn = pb::TxnRequest {
        compare: vec![pb::Compare {
            result: 1,
            target: 2,
            key: Bytes::from_static(b"a"),
            target_union: Some(pb::TargetUnion::ModRevision(4)),
            range_end: Bytes::from_static(b"b"),
        }],
        success: vec![pb::RequestOp {
            request: Some(pb::Request::RequestRange(range.clone())),
        }],
        failure: vec![pb::RequestOp {
            request: Some(pb::Request::RequestPut(pb::PutRequest {
                key: Bytes::from_static(b"a"),
                value: Bytes::from_static(b"v"),
                ..Default::default()
            })),
        }],
    };
    let messages: [(&str, Unary, Vec<u8>); 4] = [
        ("range", Unary::Range, range.encode_to_vec()),
        ("txn", Unary::Txn, txn.encode_to_vec()),
        (
            "member_add",
            Unary::MemberAdd,
            pb::MemberAddRequest {
                peer_urls: vec!["http://127.0.0.1:2380".into()],
                is_learner: true,
            }
            .encode_to_vec(),
        ),
        (
            "alarm",
            Unary::Alarm,
            pb::AlarmRequest {
                action: 1,
                member_id: 5,
                alarm: 1,
            }
            .encode_to_vec(),
        ),
    ];
    for (name, method, bytes) in messages {
        let mut seed = vec![index(method)];
        seed.extend_from_slice(&bytes);
        write(root, "grpc_message", name, &seed);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let put = pb::PutRequest {
        key: Bytes::from_static(b"foo"),
        value: Bytes::from_static(b"bar"),
        ..Default::default()
    };
    let watch = pb::WatchRequest {
        request_union: Some(pb::RequestUnion::CreateRequest(pb::WatchCreateRequest {
            key: Bytes::from_static(b"foo"),
            start_revision: 1,
            ..Default::default()
        })),
    };
    let put_bytes = runtime.block_on(client_bytes("/etcdserverpb.KV/Put", put.encode_to_vec()));
    write(root, "grpc_connection", "unary_put", &put_bytes);
    let watch_bytes = runtime.block_on(client_bytes(
        "/etcdserverpb.Watch/Watch",
        watch.encode_to_vec(),
    ));
    write(root, "grpc_connection", "watch_create", &watch_bytes);
}

/// What an h2 client writes, after the connection preface, to make one
/// gRPC call with `message` (recorded against a peer that only sends its
/// SETTINGS).
async fn client_bytes(path: &str, message: Vec<u8>) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client, server) = tokio::io::duplex(1 << 16);
    let (mut from_client, mut to_client) = tokio::io::split(server);
    to_client
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .expect("settings");
    let (mut send, connection) = h2::client::handshake(client).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (_response, mut stream) = send.send_request(request, false).expect("send");
    stream
        .send_data(keel_server::grpc::codec::frame(&message), true)
        .expect("data");
    let mut recorded = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        from_client.read(&mut buffer),
    )
    .await
    {
        if n == 0 {
            break;
        }
        recorded.extend_from_slice(&buffer[..n]);
    }
    recorded.split_off(24.min(recorded.len()))
}
