//! `--wal-dir` with real `keel` and `keelctl` processes on 127.0.0.1: the
//! raft log lives in its own directory (created if missing), a restart
//! reads every key back from it, a data directory started without it is
//! refused, and `keelctl snapshot restore --wal-dir` writes the restored
//! log there. Every process is stopped by PID.

mod common;

use bytes::Bytes;
use common::free_ports;
use keel_engine::api::*;
use keel_server::client::{Client, ClientOptions};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed (by PID) when dropped, whatever happens.
struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One member's command line: client port `ports[0]`, peer port `ports[1]`,
/// `extra` flags, `env` variables.
fn keel(ports: &[u16], data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Command {
    let client = format!("http://127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
    command
        .args(["--name", "m0"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen-client-urls", &client])
        .args(["--advertise-client-urls", &client])
        .args(["--listen-peer-urls", &peer])
        .args(["--initial-advertise-peer-urls", &peer])
        .args(["--initial-cluster", &format!("m0={peer}")])
        .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
        .args(extra)
        .env_remove("KEEL_NAME")
        .env_remove("KEEL_WAL_DIR")
        .env_remove("ETCD_WAL_DIR")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    command
}

fn start(ports: &[u16], data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Member {
    Member(
        keel(ports, data_dir, extra, env)
            .stderr(Stdio::null())
            .spawn()
            .expect("start keel"),
    )
}

/// Runs a member expected to refuse to start: its exit status and stderr
/// (killed, and the test failed, if it is still running after 20s).
fn refused(ports: &[u16], data_dir: &Path, extra: &[&str]) -> (i32, String) {
    let child = keel(ports, data_dir, extra, &[])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start keel");
    let mut member = Member(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = member.0.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = member.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return (status.code().unwrap_or(-1), stderr);
        }
        assert!(
            Instant::now() < deadline,
            "keel {extra:?} did not refuse to start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client(ports: &[u16]) -> Client {
    let mut options = ClientOptions::new(vec![format!("127.0.0.1:{}", ports[0])]);
    options.command_timeout = Duration::from_secs(3);
    Client::new(options).unwrap()
}

async fn send(client: &Client, request: Request) -> Response {
    for _ in 0..200 {
        match client.request(request.clone()).await {
            Ok(response) => return response,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("{request:?} never succeeded");
}

async fn put(client: &Client, key: &str, value: &str) {
    let request = Request::Put(PutRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
        ..PutRequest::default()
    });
    send(client, request).await;
}

async fn values(client: &Client) -> Vec<(String, String)> {
    let all = Request::Range(RangeRequest {
        key: Bytes::from_static(b"\0"),
        range_end: Bytes::from_static(b"\0"),
        ..RangeRequest::default()
    });
    match send(client, all).await {
        Response::Range(range) => range
            .kvs
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(&kv.key).into_owned(),
                    String::from_utf8_lossy(&kv.value).into_owned(),
                )
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn written() -> Vec<(String, String)> {
    (0..30)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect()
}

/// The segment files in `dir` (none if it does not exist).
fn segments(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".wal"))
        .collect()
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

#[tokio::test]
async fn keel_keeps_its_raft_log_in_the_wal_dir_and_restarts_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = dir.path().join("disk2").join("wal");
    let wal_flag = wal.to_str().unwrap();
    let ports = free_ports(2);

    let member = start(&ports, &data, &["--wal-dir", wal_flag], &[]);
    let client = client(&ports);
    for (key, value) in written() {
        put(&client, &key, &value).await;
    }
    drop(member);
    assert!(!segments(&wal).is_empty(), "no raft log in --wal-dir");
    assert!(!data.join("wal").exists(), "something under data-dir/wal");

    // The restart (given the directory as etcd's variable) has every key.
    let member = start(&ports, &data, &[], &[("ETCD_WAL_DIR", wal_flag)]);
    assert_eq!(values(&client).await, written());
    put(&client, "after", "restart").await;
    drop(member);

    // Without its --wal-dir, or with another, the member refuses to start.
    let (code, stderr) = refused(&ports, &data, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("holds no raft log"), "{stderr}");
    assert!(
        stderr.contains("give the --wal-dir it was started with"),
        "{stderr}"
    );
    let other = dir.path().join("other-wal");
    let (code, stderr) = refused(&ports, &data, &["--wal-dir", other.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("holds no raft log"), "{stderr}");
    assert!(segments(&other).is_empty() && segments(&data.join("wal")).is_empty());

    // A data directory with its log inside refuses a --wal-dir elsewhere.
    let plain = dir.path().join("plain");
    let member = start(&ports, &plain, &[], &[]);
    put(&client, "plain", "yes").await;
    drop(member);
    let elsewhere = dir.path().join("disk3").join("wal");
    let (code, stderr) = refused(&ports, &plain, &["--wal-dir", elsewhere.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("has its raft log in"), "{stderr}");

    // And with the right one it still serves everything.
    let _member = start(&ports, &data, &["--wal-dir", wal_flag], &[]);
    let mut expected = written();
    expected.insert(0, ("after".into(), "restart".into()));
    assert_eq!(values(&client).await, expected);
}

#[tokio::test]
async fn snapshot_restore_writes_the_raft_log_into_the_wal_dir() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let endpoint = format!("127.0.0.1:{}", ports[0]);
    let backup = dir.path().join("backup.db");
    {
        let _member = start(&ports, &dir.path().join("original"), &[], &[]);
        let client = client(&ports);
        for (key, value) in written() {
            put(&client, &key, &value).await;
        }
        let saved = keelctl(&[
            "--endpoints",
            &endpoint,
            "snapshot",
            "save",
            backup.to_str().unwrap(),
        ]);
        assert!(saved.status.success(), "{}", text(&saved.stderr));
    }

    let data = dir.path().join("restored");
    let wal = dir.path().join("disk2").join("wal");
    let restore = |data: &Path, wal: &Path| {
        keelctl(&[
            "snapshot",
            "restore",
            backup.to_str().unwrap(),
            "--name",
            "m0",
            "--initial-cluster",
            &format!("m0={peer}"),
            "--initial-advertise-peer-urls",
            &peer,
            "--data-dir",
            data.to_str().unwrap(),
            "--wal-dir",
            wal.to_str().unwrap(),
        ])
    };
    let restored = restore(&data, &wal);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(
        text(&restored.stderr).contains("\"wal-dir\""),
        "{}",
        text(&restored.stderr)
    );
    assert!(!segments(&wal).is_empty(), "no raft log in --wal-dir");
    assert!(!data.join("wal").exists(), "something under data-dir/wal");

    // Never over an existing --wal-dir, as etcdctl (and nothing is made).
    let again = restore(&dir.path().join("restored-2"), &wal);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains(&format!("wal-dir {:?} exists", wal.display().to_string())),
        "{}",
        text(&again.stderr)
    );
    assert!(!dir.path().join("restored-2").exists());

    // The restored member refuses to start without its --wal-dir ...
    let (code, stderr) = refused(&ports, &data, &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("holds no raft log"), "{stderr}");
    // ... and with it serves every key of the backup.
    let _member = start(&ports, &data, &["--wal-dir", wal.to_str().unwrap()], &[]);
    assert_eq!(values(&client(&ports)).await, written());
}
