//! etcd's disaster-recovery runbook with real `keel` and `keelctl`
//! processes on 127.0.0.1: a three-member cluster with data is backed up
//! with `keelctl snapshot save`, every member is killed and its data
//! removed, `keelctl snapshot restore` makes three new data directories from
//! the backup, and the new cluster serves every key at its revision, the
//! leases, and new writes after them. Every process is stopped by PID.

mod common;

use bytes::Bytes;
use common::free_ports;
use keel_engine::api::*;
use keel_server::client::{Client, ClientOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Child processes, killed (by PID) when dropped, whatever happens.
struct Members(Vec<Child>);

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A three-member cluster's flags: names m0..m2, client ports `ports[0..3]`,
/// peer ports `ports[3..6]`.
struct Layout {
    ports: Vec<u16>,
    token: &'static str,
}

impl Layout {
    fn initial_cluster(&self) -> String {
        (0..3)
            .map(|i| format!("m{i}=http://127.0.0.1:{}", self.ports[3 + i]))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn peer_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[3 + i])
    }

    fn endpoint(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i])
    }

    fn start(&self, data_dirs: &[PathBuf]) -> Members {
        Members(
            (0..3)
                .map(|i| self.start_one(i, &data_dirs[i], &[]))
                .collect(),
        )
    }

    /// Member `i` on `data_dir`, with `extra` flags.
    fn start_one(&self, i: usize, data_dir: &Path, extra: &[&str]) -> Child {
        let client_url = format!("http://{}", self.endpoint(i));
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--name", &format!("m{i}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &self.peer_url(i)])
            .args(["--initial-advertise-peer-urls", &self.peer_url(i)])
            .args(["--initial-cluster", &self.initial_cluster()])
            .args(["--initial-cluster-token", self.token])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .args(extra)
            .env_remove("KEEL_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keel")
    }

    fn client(&self) -> Client {
        let endpoints = (0..3).map(|i| self.endpoint(i)).collect();
        let mut options = ClientOptions::new(endpoints);
        options.command_timeout = Duration::from_secs(3);
        Client::new(options).unwrap()
    }
}

fn keelctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keelctl"))
        .args(args)
        .env_remove("KEELCTL_ENDPOINTS")
        .env_remove("ETCDCTL_ENDPOINTS")
        .output()
        .expect("run keelctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until a request through `client` succeeds (a leader serves).
async fn serving(client: &Client) -> StatusResponse {
    for _ in 0..200 {
        if let Ok(Response::Status(status)) = client.request(Request::Status).await {
            if status.leader != 0 {
                return status;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the cluster never elected a leader");
}

async fn send(client: &Client, request: Request) -> Response {
    for _ in 0..50 {
        match client.request(request.clone()).await {
            Ok(response) => return response,
            Err(err) => {
                eprintln!("retrying {request:?}: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("{request:?} never succeeded");
}

async fn everything(client: &Client) -> RangeResponse {
    let all = Request::Range(RangeRequest {
        key: Bytes::from_static(b"\0"),
        range_end: Bytes::from_static(b"\0"),
        ..RangeRequest::default()
    });
    match send(client, all).await {
        Response::Range(range) => range,
        other => panic!("{other:?}"),
    }
}

fn put(key: String, value: String, lease: i64) -> Request {
    Request::Put(PutRequest {
        key: Bytes::from(key),
        value: Bytes::from(value),
        lease,
        ..PutRequest::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_restored_from_a_backup_serves_every_key_at_its_revision() {
    let dir = tempfile::tempdir().unwrap();
    let old = Layout {
        ports: free_ports(6),
        token: "old-cluster",
    };
    let old_dirs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("old-m{i}")))
        .collect();
    let members = old.start(&old_dirs);
    let client = old.client();
    let before_status = serving(&client).await;

    // Data: puts, overwrites, deletes, a lease with keys, a compaction.
    let lease = match send(
        &client,
        Request::LeaseGrant(LeaseGrantRequest {
            ttl_seconds: 600,
            id: 0,
        }),
    )
    .await
    {
        Response::LeaseGrant(granted) => granted.id,
        other => panic!("{other:?}"),
    };
    for i in 0..300 {
        let lease = if i % 50 == 0 { lease } else { 0 };
        send(&client, put(format!("key/{i:04}"), format!("v{i}"), lease)).await;
    }
    for i in (0..300).step_by(3) {
        send(&client, put(format!("key/{i:04}"), format!("again{i}"), 0)).await;
    }
    let delete = Request::DeleteRange(DeleteRangeRequest {
        key: Bytes::from_static(b"key/0100"),
        range_end: Bytes::from_static(b"key/0150"),
        ..DeleteRangeRequest::default()
    });
    send(&client, delete).await;
    let saved = everything(&client).await;
    let compact = Request::Compact(CompactionRequest {
        revision: saved.header.revision - 10,
        physical: true,
    });
    send(&client, compact).await;

    // Back up from one member, check the file, then lose the whole cluster.
    let backup = dir.path().join("backup.db");
    let backup_path = backup.display().to_string();
    let saved_out = keelctl(&[
        "--endpoints",
        &old.endpoint(1),
        "snapshot",
        "save",
        &backup_path,
    ]);
    assert_eq!(
        (saved_out.status.code(), text(&saved_out.stdout)),
        (Some(0), format!("Snapshot saved at {backup_path}\n")),
        "{}",
        text(&saved_out.stderr)
    );
    let status = keelctl(&["-w", "json", "snapshot", "status", &backup_path]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["revision"], saved.header.revision);
    drop(members);
    for data in &old_dirs {
        std::fs::remove_dir_all(data).unwrap();
    }

    // Restore into three new data directories, for a new cluster.
    let new = Layout {
        ports: free_ports(6),
        token: "new-cluster",
    };
    let new_dirs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("new-m{i}")))
        .collect();
    for (i, data) in new_dirs.iter().enumerate() {
        let restored = keelctl(&[
            "snapshot",
            "restore",
            &backup_path,
            "--name",
            &format!("m{i}"),
            "--initial-cluster",
            &new.initial_cluster(),
            "--initial-cluster-token",
            new.token,
            "--initial-advertise-peer-urls",
            &new.peer_url(i),
            "--data-dir",
            &data.display().to_string(),
        ]);
        assert_eq!(
            restored.status.code(),
            Some(0),
            "{}",
            text(&restored.stderr)
        );
        assert!(text(&restored.stderr).contains("\"msg\":\"added member\""));
    }
    // A restore never writes over data.
    let again = keelctl(&[
        "snapshot",
        "restore",
        &backup_path,
        "--name",
        "m0",
        "--initial-cluster",
        &new.initial_cluster(),
        "--initial-cluster-token",
        new.token,
        "--initial-advertise-peer-urls",
        &new.peer_url(0),
        "--data-dir",
        &new_dirs[0].display().to_string(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        text(&again.stderr),
        format!(
            "Error: data-dir {:?} exists\n",
            new_dirs[0].display().to_string()
        )
    );

    let _members = new.start(&new_dirs);
    let client = new.client();
    let after_status = serving(&client).await;
    assert_ne!(
        after_status.header.cluster_id,
        before_status.header.cluster_id
    );

    // Every key, at the revision it had, on every member.
    for i in 0..3 {
        let single = Client::new(ClientOptions::new(vec![new.endpoint(i)])).unwrap();
        let restored = everything(&single).await;
        assert_eq!(
            restored.header.revision, saved.header.revision,
            "member {i}"
        );
        assert_eq!(restored.kvs, saved.kvs, "member {i}");
    }
    assert_eq!(saved.kvs.len(), 300 - 50);
    // The membership is the new one.
    let list = Request::MemberList(MemberListRequest { linearizable: true });
    match send(&client, list).await {
        Response::Member(list) => {
            let mut names: Vec<String> = list.members.iter().map(|m| m.name.clone()).collect();
            names.sort();
            assert_eq!(names, ["m0", "m1", "m2"]);
            let mut peers: Vec<String> = list
                .members
                .iter()
                .flat_map(|m| m.peer_urls.clone())
                .collect();
            peers.sort();
            let mut expected: Vec<String> = (0..3).map(|i| new.peer_url(i)).collect();
            expected.sort();
            assert_eq!(peers, expected);
        }
        other => panic!("{other:?}"),
    }
    // The lease and its keys survived; the compaction too.
    let ttl = Request::LeaseTimeToLive(LeaseTimeToLiveRequest {
        id: lease,
        keys: true,
    });
    match send(&client, ttl).await {
        Response::LeaseTimeToLive(answer) => {
            assert!(answer.ttl_seconds > 0, "{answer:?}");
            // Attached to 0, 50, ..., 250; 0 and 150 were put again
            // without it, 100 was deleted.
            let keys: Vec<&[u8]> = answer.keys.iter().map(|k| k.as_ref()).collect();
            assert_eq!(keys, [&b"key/0050"[..], b"key/0200", b"key/0250"]);
        }
        other => panic!("{other:?}"),
    }
    let old_read = Request::Range(RangeRequest {
        key: Bytes::from_static(b"key/0001"),
        revision: saved.header.revision - 20,
        ..RangeRequest::default()
    });
    assert!(
        client.request(old_read).await.is_err(),
        "compacted history stays compacted"
    );
    // New writes continue the revisions; new leases do not meet old ids.
    match send(&client, put("after".into(), "restore".into(), 0)).await {
        Response::Put(answer) => assert_eq!(answer.header.revision, saved.header.revision + 1),
        other => panic!("{other:?}"),
    }
    for _ in 0..20 {
        match send(
            &client,
            Request::LeaseGrant(LeaseGrantRequest {
                ttl_seconds: 60,
                id: 0,
            }),
        )
        .await
        {
            Response::LeaseGrant(granted) => assert_ne!(granted.id, lease),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn restoring_a_damaged_or_missing_backup_fails_and_leaves_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![1u8; 4096 + 32]).unwrap();
    let data = dir.path().join("data");
    let restore = |file: &Path| {
        keelctl(&[
            "snapshot",
            "restore",
            &file.display().to_string(),
            "--data-dir",
            &data.display().to_string(),
        ])
    };
    let damaged = restore(&garbage);
    assert_eq!(damaged.status.code(), Some(1));
    assert!(
        text(&damaged.stderr).contains("Error: expected sha256 ["),
        "{}",
        text(&damaged.stderr)
    );
    assert!(!data.exists());
    let missing = restore(&dir.path().join("missing.db"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("Error: open "),
        "{}",
        text(&missing.stderr)
    );
    assert!(!data.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_survivor_forced_into_a_new_cluster_serves_everything_and_grows_back() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        ports: free_ports(6),
        token: "forced",
    };
    let dirs: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("m{i}"))).collect();
    let members = layout.start(&dirs);
    let client = layout.client();
    serving(&client).await;
    for i in 0..200 {
        send(&client, put(format!("key/{i:04}"), format!("v{i}"), 0)).await;
    }
    let saved = everything(&client).await;
    // Wait until m2 has applied everything: the survivor an operator picks.
    let m2 = Client::new(ClientOptions::new(vec![layout.endpoint(2)])).unwrap();
    for _ in 0..100 {
        if let Ok(Response::Status(status)) = m2.request(Request::Status).await {
            if status.header.revision == saved.header.revision {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(members);

    let mut survivor = Members(vec![layout.start_one(
        2,
        &dirs[2],
        &["--force-new-cluster"],
    )]);
    let status = serving(&m2).await;
    assert_eq!(status.leader, status.header.member_id, "it leads alone");
    assert_eq!(everything(&m2).await.kvs, saved.kvs);
    let list = Request::MemberList(MemberListRequest { linearizable: true });
    match send(&m2, list.clone()).await {
        Response::Member(list) => {
            let names: Vec<&str> = list.members.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(names, ["m2"]);
        }
        other => panic!("{other:?}"),
    }
    match send(&m2, put("after".into(), "forced".into(), 0)).await {
        Response::Put(answer) => assert_eq!(answer.header.revision, saved.header.revision + 1),
        other => panic!("{other:?}"),
    }

    // Restarted without the flag, it stays a cluster of one; then it grows
    // back as etcd's runbook does: member add, start with `existing`.
    drop(survivor);
    survivor = Members(vec![layout.start_one(2, &dirs[2], &[])]);
    serving(&m2).await;
    let added = keelctl(&[
        "--endpoints",
        &layout.endpoint(2),
        "member",
        "add",
        "m0",
        &format!("--peer-urls={}", layout.peer_url(0)),
    ]);
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let fresh = dir.path().join("m0-again");
    let cluster = format!("m0={},m2={}", layout.peer_url(0), layout.peer_url(2));
    survivor.0.push(layout.start_one(
        0,
        &fresh,
        &[
            "--initial-cluster",
            &cluster,
            "--initial-cluster-state",
            "existing",
        ],
    ));
    let m0 = Client::new(ClientOptions::new(vec![layout.endpoint(0)])).unwrap();
    let mut caught_up = false;
    for _ in 0..200 {
        if let Ok(Response::Range(range)) = m0
            .request(Request::Range(RangeRequest {
                key: Bytes::from_static(b"after"),
                serializable: true,
                ..RangeRequest::default()
            }))
            .await
        {
            if range.kvs.len() == 1 {
                caught_up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "the new member never caught up");
    let mut restored = everything(&m0).await;
    restored.kvs.retain(|kv| kv.key.as_ref() != b"after");
    assert_eq!(restored.kvs, saved.kvs);
}
