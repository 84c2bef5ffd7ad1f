//! `/metrics` scraped from a running three-member cluster of real `keel`
//! processes: etcd's names and types, counters that move with writes, one
//! leader, the separate `--listen-metrics-urls` listener, and refusals.
//! Every process is stopped by PID.

mod common;

use bytes::Bytes;
use common::free_ports;
use keel_engine::api::*;
use keel_server::client::{Client, ClientOptions};
use keel_server::etcd::proto::etcdserverpb as pb;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Child processes, killed (by PID) when dropped, whatever happens.
struct Members {
    children: Vec<Child>,
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Ports: clients 0..3, peers 3..6, metrics listeners 6..9.
fn start(dir: &std::path::Path, ports: &[u16]) -> Members {
    let cluster: Vec<String> = (0..3)
        .map(|i| format!("m{i}=http://127.0.0.1:{}", ports[3 + i]))
        .collect();
    let mut children = Vec::new();
    for i in 0..3 {
        let client = format!("http://127.0.0.1:{}", ports[i]);
        let peer = format!("http://127.0.0.1:{}", ports[3 + i]);
        let child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--name", &format!("m{i}")])
            .arg("--data-dir")
            .arg(dir.join(format!("m{i}")))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &cluster.join(",")])
            .args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{}", ports[6 + i]),
            ])
            .args(["--metrics", "extensive"])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .env_remove("KEEL_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keel");
        children.push(child);
    }
    Members { children }
}

/// One HTTP/1.1 request; the whole answer (the server closes).
async fn http(port: u16, method: &str, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A scrape: the body's samples by name with labels, and `# TYPE`s.
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
    head: String,
}

impl Scrape {
    fn value(&self, sample: &str) -> f64 {
        match self.samples.get(sample) {
            Some(value) => *value,
            None => panic!("{sample} missing from {:?}", self.samples.keys()),
        }
    }
}

/// Scrapes `/metrics` on `port`, un-chunking the body.
async fn scrape(port: u16) -> Scrape {
    let answer = http(port, "GET", "/metrics").await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("name and type");
            types.insert(name.to_string(), kind.to_string());
        } else if !line.starts_with('#') && !line.is_empty() {
            let (name, value) = line.rsplit_once(' ').expect("sample and value");
            samples.insert(name.to_string(), value.parse().expect("a number"));
        }
    }
    Scrape {
        samples,
        types,
        head: head.to_string(),
    }
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

async fn put(client: &Client, key: &str) {
    let request = Request::Put(PutRequest {
        key: Bytes::from(key.to_string()),
        value: Bytes::from_static(b"v"),
        ..PutRequest::default()
    });
    for _ in 0..100 {
        if client.request(request.clone()).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("put {key} never succeeded");
}

#[tokio::test]
async fn a_running_cluster_reports_etcds_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(9);
    let _members = start(dir.path(), &ports);
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let client = Client::new(ClientOptions::new(endpoints)).unwrap();
    put(&client, "warm-up").await;

    // Every member knows the leader; exactly one is it.
    let mut scrapes = Vec::new();
    for _ in 0..100 {
        scrapes.clear();
        for port in &ports[..3] {
            scrapes.push(scrape(*port).await);
        }
        if scrapes
            .iter()
            .all(|s| s.value("etcd_server_has_leader") == 1.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for scrape in &scrapes {
        assert!(
            scrape
                .head
                .contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            "{}",
            scrape.head
        );
        assert_eq!(scrape.value("etcd_server_has_leader"), 1.0);
        assert!(scrape.value("etcd_server_leader_changes_seen_total") >= 1.0);
    }
    let leaders = scrapes
        .iter()
        .filter(|s| s.value("etcd_server_is_leader") == 1.0)
        .count();
    assert_eq!(leaders, 1, "exactly one member reports being the leader");

    // Names and types as etcd 3.4 reports them.
    let expected_types = [
        ("etcd_server_has_leader", "gauge"),
        ("etcd_server_is_leader", "gauge"),
        ("etcd_server_leader_changes_seen_total", "counter"),
        ("etcd_server_proposals_committed_total", "gauge"),
        ("etcd_server_proposals_applied_total", "gauge"),
        ("etcd_server_proposals_pending", "gauge"),
        ("etcd_server_proposals_failed_total", "counter"),
        ("etcd_server_slow_apply_total", "counter"),
        ("etcd_server_quota_backend_bytes", "gauge"),
        ("etcd_server_id", "gauge"),
        ("etcd_server_version", "gauge"),
        ("etcd_cluster_version", "gauge"),
        ("etcd_disk_wal_fsync_duration_seconds", "histogram"),
        ("etcd_disk_backend_commit_duration_seconds", "histogram"),
        ("etcd_mvcc_db_total_size_in_bytes", "gauge"),
        ("etcd_mvcc_db_total_size_in_use_in_bytes", "gauge"),
        ("etcd_debugging_mvcc_keys_total", "gauge"),
        ("etcd_debugging_mvcc_watcher_total", "gauge"),
        ("etcd_mvcc_put_total", "counter"),
        ("etcd_mvcc_delete_total", "counter"),
        ("keel_checkpoint_pages_written_total", "counter"),
        ("keel_wal_segments_recycled_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_cpu_seconds_total", "counter"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("etcd_network_peer_sent_bytes_total", "counter"),
        ("etcd_network_peer_received_bytes_total", "counter"),
    ];
    let first = &scrapes[0];
    for (name, kind) in expected_types {
        assert_eq!(
            first.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
    assert_eq!(
        first.value(r#"etcd_server_version{server_version="3.4.23"}"#),
        1.0
    );
    assert_eq!(
        first.value(r#"etcd_cluster_version{cluster_version="3.4"}"#),
        1.0
    );
    assert_eq!(first.value("etcd_server_quota_backend_bytes"), 2147483648.0);
    assert!(first.value("process_resident_memory_bytes") > 0.0);
    assert!(first.value("etcd_disk_wal_fsync_duration_seconds_count") >= 1.0);
    assert!(
        first
            .samples
            .contains_key(r#"etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"}"#)
    );
    assert!(
        first
            .samples
            .contains_key(r#"etcd_disk_wal_fsync_duration_seconds_bucket{le="8.192"}"#)
    );
    assert!(
        first
            .samples
            .contains_key(r#"etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"}"#)
    );
    // Raft traffic: the leader sends to both others, each labelled by its
    // hex id; a follower hears from the leader.
    let peers_with = |scrape: &Scrape, prefix: &str| {
        scrape
            .samples
            .iter()
            .filter(|(name, value)| name.starts_with(prefix) && **value > 0.0)
            .count()
    };
    for scrape in &scrapes {
        let (sent_to, received_from) = (
            peers_with(scrape, "etcd_network_peer_sent_bytes_total{To="),
            peers_with(scrape, "etcd_network_peer_received_bytes_total{From="),
        );
        if scrape.value("etcd_server_is_leader") == 1.0 {
            assert_eq!(sent_to, 2, "{:?}", scrape.samples.keys());
        } else {
            assert!(
                sent_to >= 1 && received_from >= 1,
                "{:?}",
                scrape.samples.keys()
            );
        }
    }

    // gRPC calls are counted per method and code.
    let ok_range = r#"grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}"#;
    let ranges_before = first.samples.get(ok_range).copied().unwrap_or(0.0);
    let mut grpc = common::grpc::GrpcClient::connect(&format!("127.0.0.1:{}", ports[0])).await;
    let range = pb::RangeRequest {
        key: Bytes::from_static(b"warm-up"),
        ..Default::default()
    };
    let _: pb::RangeResponse = grpc
        .unary("/etcdserverpb.KV/Range", &range)
        .await
        .expect("range over gRPC");
    let after_range = scrape(ports[0]).await;
    assert_eq!(after_range.value(ok_range), ranges_before + 1.0);
    assert!(after_range.value(r#"grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}"#) >= 1.0);
    assert_eq!(
        after_range
            .types
            .get("grpc_server_handling_seconds")
            .map(String::as_str),
        Some("histogram"),
        "--metrics extensive"
    );

    // Writes move the counters on every member (each applies them).
    let before = scrape(ports[0]).await;
    for i in 0..5 {
        put(&client, &format!("k{i}")).await;
    }
    let delete = Request::DeleteRange(DeleteRangeRequest {
        key: Bytes::from_static(b"k0"),
        ..DeleteRangeRequest::default()
    });
    client.request(delete).await.expect("delete");
    let mut after = scrape(ports[0]).await;
    for _ in 0..100 {
        if after.value("etcd_debugging_mvcc_keys_total")
            == before.value("etcd_debugging_mvcc_keys_total") + 4.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(ports[0]).await;
    }
    assert_eq!(
        after.value("etcd_debugging_mvcc_keys_total"),
        before.value("etcd_debugging_mvcc_keys_total") + 4.0,
        "five new keys, one deleted"
    );
    assert!(
        after.value("etcd_server_proposals_committed_total")
            >= before.value("etcd_server_proposals_committed_total") + 6.0
    );
    assert!(
        after.value("etcd_server_proposals_applied_total")
            >= before.value("etcd_server_proposals_applied_total") + 6.0
    );
    assert_eq!(
        after.value("etcd_mvcc_put_total"),
        before.value("etcd_mvcc_put_total") + 5.0
    );
    assert_eq!(
        after.value("etcd_mvcc_delete_total"),
        before.value("etcd_mvcc_delete_total") + 1.0
    );
    assert!(
        after.value("etcd_disk_wal_fsync_duration_seconds_count")
            > before.value("etcd_disk_wal_fsync_duration_seconds_count")
    );

    // The separate metrics listener serves /metrics and /health, nothing else.
    let on_listener = scrape(ports[6]).await;
    assert_eq!(on_listener.value("etcd_server_has_leader"), 1.0);
    let health = http(ports[6], "GET", "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#"{"health":"true"}"#), "{health}");
    let version = http(ports[6], "GET", "/version").await;
    assert!(version.starts_with("HTTP/1.1 404"), "{version}");
    let gateway = http(ports[6], "POST", "/v3/kv/range").await;
    assert!(gateway.starts_with("HTTP/1.1 404"), "{gateway}");

    // Only GET: anything else is told so.
    let posted = http(ports[0], "POST", "/metrics").await;
    assert!(posted.starts_with("HTTP/1.1 405"), "{posted}");
    assert!(posted.contains("Allow: GET"), "{posted}");
}
