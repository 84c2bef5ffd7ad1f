//! `keelctl make-mirror` between two one-member Keel clusters, the keelctl
//! binary run as a process (make-mirror runs until it is killed; the test
//! stops it by PID).
//!
//! The fixture test replays the session `fixtures/etcdctl/capture-mirror.sh`
//! ran against two etcd 3.4.23 members: stdout, stderr and exit status must
//! equal what etcdctl printed, byte for byte, once the captured endpoints
//! are mapped to the test's. The behavioural test checks what reaches the
//! destination: the keys there when the mirror started and the changes
//! made after.

mod common;

use common::etcdctl::{captured_command_in, captured_names_in, expected_exit_in, fixture_text};
use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::ctl::{Invocation, run};
use keel_server::daemon::{ClusterState, Daemon};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const INDEX: &str = "index-mirror.txt";
/// The endpoints the capture used: the source and the destination.
const ETCD_SOURCE: &str = "127.0.0.1:23786";
const ETCD_DEST: &str = "127.0.0.1:23787";

/// One single-member cluster of the test.
struct Member {
    daemon: Daemon,
    endpoint: String,
    _dir: tempfile::TempDir,
}

async fn member(name: &str) -> Member {
    member_on(name, free_ports(2)).await
}

/// A member whose client port is `ports[0]` and peer port `ports[1]`.
async fn member_on(name: &str, ports: Vec<u16>) -> Member {
    let dir = tempfile::tempdir().unwrap();
    let cluster = vec![(name.to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let options = daemon_options(
        dir.path(),
        name,
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    Member {
        daemon,
        endpoint: format!("127.0.0.1:{}", ports[0]),
        _dir: dir,
    }
}

/// Runs keelctl in-process against `endpoint` (the set-up and checks).
async fn ctl(endpoint: &str, args: &[&str]) -> keel_server::ctl::output::Output {
    let mut all: Vec<OsString> = vec!["--endpoints".into(), endpoint.into()];
    all.extend(args.iter().map(OsString::from));
    let mut input: &[u8] = b"";
    let mut prompts = Vec::new();
    let output = run(Invocation {
        args: all,
        env: BTreeMap::new(),
        stdin: &mut input,
        prompts: &mut prompts,
        stderr: None,
        stdin_lines: None,
        interrupt: None,
    })
    .await;
    assert_eq!(output.exit_code, 0, "{args:?}: {}", output.stderr_text());
    output
}

/// A keelctl process of the test; killed (by its PID) if the test fails
/// while it runs.
struct Running(Option<Child>);

impl Running {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// The process, no longer killed when dropped.
    fn take(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The keelctl binary with `args` (its output piped).
fn spawn(args: &[String]) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_keelctl"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running(Some(child))
}

/// Waits (at most `within`) for `child` to exit; kills it (by PID) and
/// fails if it does not.
async fn exited(mut running: Running, within: Duration) -> std::process::Output {
    let deadline = Instant::now() + within;
    while running.child().try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "still running after {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.take().wait_with_output().unwrap()
}

/// Sends SIGTERM to the process by its PID and collects what it printed.
fn terminate(running: Running) -> std::process::Output {
    let child = running.take();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

/// The exit status as the capture's shell saw it (128 + N for a signal).
fn shell_status(status: std::process::ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => panic!("no status: {status:?}"),
    }
}

/// The arguments of a captured case, with the test's endpoints.
fn captured_args(name: &str, source: &str, dest: &str) -> Vec<String> {
    let command = captured_command_in(INDEX, name);
    command
        .strip_prefix("etcdctl ")
        .unwrap_or_else(|| panic!("{command:?}"))
        .split(' ')
        .map(|word| word.replace(ETCD_SOURCE, source).replace(ETCD_DEST, dest))
        .collect()
}

/// Waits (at most 10 s) until `get --prefix PREFIX` on `endpoint` prints
/// `expected`.
async fn wait_for_keys(endpoint: &str, prefix: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let printed = ctl(endpoint, &["get", "--prefix", prefix]).await;
        if printed.stdout_text() == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{endpoint} has {:?}, not {expected:?}",
            printed.stdout_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn compare(name: &str, output: &std::process::Output) {
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        fixture_text(name, "out"),
        "stdout of {name}"
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        fixture_text(name, "err"),
        "stderr of {name}"
    );
    assert_eq!(
        shell_status(output.status),
        expected_exit_in(INDEX, name),
        "exit status of {name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_make_mirror_prints_what_etcdctl_printed() {
    let source = member("src").await;
    let dest = member("dst").await;
    let (s, d) = (source.endpoint.as_str(), dest.endpoint.as_str());
    let names = captured_names_in(INDEX);
    assert!(names.len() >= 6, "{names:?}");

    // The cases that end by themselves, in the order they were captured.
    for name in names
        .iter()
        .filter(|name| !name.starts_with("make_mirror_running"))
    {
        let output = exited(spawn(&captured_args(name, s, d)), Duration::from_secs(20)).await;
        compare(name, &output);
    }

    // A running mirror, stopped with SIGTERM after its first count (30 s).
    for (key, value) in [("src/a", "1"), ("src/b", "2"), ("other", "x")] {
        ctl(s, &["put", key, value]).await;
    }
    let started = Instant::now();
    let mirror = spawn(&captured_args("make_mirror_running", s, d));
    wait_for_keys(d, "dst/", "dst/a\n1\ndst/b\n2\n").await;
    ctl(s, &["put", "src/c", "3"]).await;
    ctl(s, &["put", "src/b", "22"]).await;
    ctl(s, &["del", "src/a"]).await;
    ctl(s, &["put", "other2", "y"]).await;
    wait_for_keys(d, "", &fixture_text("make_mirror_running_dest", "out")).await;
    tokio::time::sleep_until(started + Duration::from_secs(33)).await;
    compare("make_mirror_running", &terminate(mirror));
    let dest_keys = ctl(d, &["get", "--prefix", ""]).await;
    assert_eq!(
        dest_keys.stdout_text(),
        fixture_text("make_mirror_running_dest", "out")
    );
    source.daemon.shutdown().await;
    dest.daemon.shutdown().await;
}

/// Existing keys under the prefix reach the destination under the
/// destination prefix, and so do later puts and deletes; keys outside the
/// prefix do not. The mirror keeps running until stopped by PID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_mirror_copies_existing_keys_then_follows_changes() {
    let source = member("src").await;
    let dest = member("dst").await;
    let (s, d) = (source.endpoint.as_str(), dest.endpoint.as_str());
    for (key, value) in [("o_key1", "val1"), ("o_key2", "val2"), ("x_key", "no")] {
        ctl(s, &["put", key, value]).await;
    }
    let args: Vec<String> = ["--endpoints", s, "make-mirror", "--prefix", "o_"]
        .iter()
        .chain(&["--dest-prefix", "d_", d])
        .map(|word| word.to_string())
        .collect();
    let mut mirror = spawn(&args);
    wait_for_keys(d, "d_", "d_key1\nval1\nd_key2\nval2\n").await;

    // After the mirror started: a put, a delete, an overwrite, and a key
    // outside the prefix.
    ctl(s, &["put", "o_key3", "val3"]).await;
    ctl(s, &["put", "x_key2", "no"]).await;
    ctl(s, &["del", "o_key1"]).await;
    ctl(s, &["put", "o_key2", "val2b"]).await;
    wait_for_keys(d, "d_", "d_key2\nval2b\nd_key3\nval3\n").await;
    let everything = ctl(d, &["get", "--prefix", "", "--keys-only"]).await;
    assert_eq!(everything.stdout_text(), "d_key2\n\nd_key3\n\n");

    assert!(
        mirror.child().try_wait().unwrap().is_none(),
        "the mirror stopped"
    );
    let mut mirror = mirror.take();
    mirror.kill().unwrap();
    let output = mirror.wait_with_output().unwrap();
    assert_eq!(output.status.signal(), Some(9));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    source.daemon.shutdown().await;
    dest.daemon.shutdown().await;
}

/// A destination that is not there yet is waited for, as etcdctl waits:
/// the mirror started before it copies everything once it comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_mirror_waits_for_a_destination_that_is_not_up_yet() {
    let source = member("src").await;
    let s = source.endpoint.as_str();
    ctl(s, &["put", "k1", "v1"]).await;
    let dest_ports = free_ports(2);
    let d = format!("127.0.0.1:{}", dest_ports[0]);
    let args: Vec<String> = ["--endpoints", s, "make-mirror", d.as_str()]
        .iter()
        .map(|word| word.to_string())
        .collect();
    let mut mirror = spawn(&args);
    // Longer than the command timeout (5 s): etcdctl would still wait.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        mirror.child().try_wait().unwrap().is_none(),
        "the mirror gave up"
    );
    ctl(s, &["put", "k2", "v2"]).await;
    let dest = member_on("dst", dest_ports).await;
    wait_for_keys(&d, "k", "k1\nv1\nk2\nv2\n").await;
    ctl(s, &["put", "k3", "v3"]).await;
    wait_for_keys(&d, "k", "k1\nv1\nk2\nv2\nk3\nv3\n").await;
    drop(mirror);
    source.daemon.shutdown().await;
    dest.daemon.shutdown().await;
}
