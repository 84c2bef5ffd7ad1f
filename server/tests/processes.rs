//! Real `keel` processes on 127.0.0.1: killing the leader with SIGKILL
//! under a stream of writes loses no acknowledged write, and a new leader
//! serves within a few election timeouts. Every process is stopped by PID.

mod common;

use bytes::Bytes;
use common::free_ports;
use keel_engine::api::*;
use keel_server::client::{Client, ClientOptions};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Child processes, killed (by PID) when dropped, whatever happens.
struct Members {
    children: Vec<Option<Child>>,
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start(dir: &std::path::Path, ports: &[u16]) -> Members {
    let cluster: Vec<String> = (0..3)
        .map(|i| format!("m{i}=http://127.0.0.1:{}", ports[3 + i]))
        .collect();
    let mut children = Vec::new();
    for i in 0..3 {
        let child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--name", &format!("m{i}")])
            .arg("--data-dir")
            .arg(dir.join(format!("m{i}")))
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{}", ports[i]),
            ])
            .args([
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{}", ports[i]),
            ])
            .args([
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{}", ports[3 + i]),
            ])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{}", ports[3 + i]),
            ])
            .args(["--initial-cluster", &cluster.join(",")])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .env_remove("KEEL_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keel");
        children.push(Some(child));
    }
    Members { children }
}

async fn status(client: &Client) -> Option<StatusResponse> {
    match client.request(Request::Status).await {
        Ok(Response::Status(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test]
async fn killing_the_leader_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let mut members = start(dir.path(), &ports);
    let endpoints: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let single: Vec<Client> = endpoints
        .iter()
        .map(|e| Client::new(ClientOptions::new(vec![e.clone()])).unwrap())
        .collect();
    // Wait for a leader every member agrees on.
    let mut leader = 0;
    for _ in 0..200 {
        let mut seen = Vec::new();
        for client in &single {
            seen.push(status(client).await.map(|s| s.leader).unwrap_or(0));
        }
        if seen[0] != 0 && seen.iter().all(|&l| l == seen[0]) {
            leader = seen[0];
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(leader, 0, "no leader");
    let mut leader_index = None;
    for (i, client) in single.iter().enumerate() {
        if status(client).await.map(|s| s.header.member_id) == Some(leader) {
            leader_index = Some(i);
        }
    }
    let leader_index = leader_index.expect("the leader's process");
    let mut options = ClientOptions::new(endpoints.clone());
    options.command_timeout = Duration::from_secs(2);
    let client = Client::new(options).unwrap();
    let mut acked = Vec::new();
    let mut killed_at = None;
    let mut first_after_kill = None;
    for i in 0..400u32 {
        if i == 150 {
            let child = members.children[leader_index].as_mut().unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            members.children[leader_index] = None;
            killed_at = Some(Instant::now());
        }
        let key = format!("k{i:04}");
        let put = Request::Put(PutRequest {
            key: Bytes::from(key.clone()),
            value: Bytes::from(i.to_string()),
            ..PutRequest::default()
        });
        if client.request(put).await.is_ok() {
            acked.push(key);
            if killed_at.is_some() && first_after_kill.is_none() {
                first_after_kill = killed_at.map(|t| t.elapsed());
            }
        }
    }
    let recovered_in = first_after_kill.expect("writes resumed after the leader died");
    eprintln!(
        "writes resumed {recovered_in:?} after SIGKILL of the leader (election timeout 500ms)"
    );
    assert!(
        recovered_in < Duration::from_secs(10),
        "took {recovered_in:?}"
    );
    assert!(
        acked.len() > 300,
        "only {} writes acknowledged",
        acked.len()
    );
    // Every acknowledged write is there, read linearizably from the survivors.
    for key in &acked {
        let get = Request::Range(RangeRequest {
            key: Bytes::from(key.clone()),
            ..RangeRequest::default()
        });
        match client.request(get).await.unwrap() {
            Response::Range(r) => assert_eq!(r.kvs.len(), 1, "{key} was acknowledged but is gone"),
            other => panic!("{other:?}"),
        }
    }
}

/// etcd 3.4's e2e harness (tests/e2e/etcd_process.go) waits for two lines
/// of a member's merged output, each containing one of these.
const ETCD_SERVER_READY_LINES: [&str; 2] = ["enabled capabilities for version", "published"];

#[tokio::test]
async fn the_start_up_log_says_etcds_milestones_once_the_member_serves() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let client_url = format!("http://127.0.0.1:{}", ports[0]);
    let peer_url = format!("http://127.0.0.1:{}", ports[1]);
    let child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["--name", "solo", "--data-dir"])
        .arg(dir.path().join("solo"))
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("solo={peer_url}")])
        .args(["--enable-v2", "--strict-reconfig-check=false"])
        .env_remove("KEEL_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start keel");
    let mut child = Members {
        children: vec![Some(child)],
    };
    let stderr = child.children[0].as_mut().unwrap().stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    // The harness's wait: count the lines holding either ready string.
    let mut seen = Vec::new();
    let mut ready_lines = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready_lines < 2 {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no ready lines; the log so far: {seen:#?}"));
        if ETCD_SERVER_READY_LINES.iter().any(|s| line.contains(s)) {
            ready_lines += 1;
        }
        seen.push(line);
    }
    // Released now, the harness's first request must be served.
    let mut options = ClientOptions::new(vec![format!("127.0.0.1:{}", ports[0])]);
    options.command_timeout = Duration::from_secs(2);
    let client = Client::new(options).unwrap();
    let put = Request::Put(PutRequest {
        key: Bytes::from("first"),
        value: Bytes::from("request"),
        ..PutRequest::default()
    });
    client.request(put).await.unwrap();
    let position = |needle: &str, lines: &[String]| lines.iter().position(|l| l.contains(needle));
    let capabilities =
        position("enabled capabilities for version 3.4", &seen).expect("capabilities");
    let published = position("published {Name:solo ClientURLs:[", &seen).expect("published");
    assert!(capabilities < published, "{seen:#?}");
    assert!(
        seen[published].ends_with(&format!(
            "published {{Name:solo ClientURLs:[{client_url}]}} to cluster {}",
            seen[published].rsplit(' ').next().unwrap()
        )),
        "{}",
        seen[published]
    );
    assert!(
        position("--enable-v2: the v2 API is not served", &seen).is_some(),
        "{seen:#?}"
    );
    // Then etcd's serving lines.
    let mut after = Vec::new();
    while after.len() < 2 {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no serving lines after {seen:#?}: {after:#?}"));
        after.push(line);
    }
    assert!(
        after[0].ends_with("ready to serve client requests"),
        "{after:?}"
    );
    assert!(
        after[1].ends_with(&format!(
            "serving insecure client requests on 127.0.0.1:{}, this is strongly discouraged!",
            ports[0]
        )),
        "{after:?}"
    );
}

#[test]
fn keel_version_names_keel_and_the_etcd_api_it_serves() {
    let output = Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("--version")
        .output()
        .expect("run keel --version");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "keel Version: {}\netcd API Version: 3.4 (reported as etcd 3.4.23)\nOS/Arch: ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
}
