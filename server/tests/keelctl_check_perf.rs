//! `keelctl check perf` against a `keel` process on 127.0.0.1: its
//! refusals replayed against etcdctl 3.4's captured output
//! (`fixtures/etcdctl/capture-check.sh`, `index-check.txt`), and one real
//! check, shortened to a few seconds by the test-only variable, whose
//! printed lines must be etcdctl's and whose keys must be gone afterwards.

mod common;

use common::etcdctl::{captured_command_in, captured_names_in, expected_exit_in, fixture_text};
use common::free_ports;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const INDEX: &str = "index-check.txt";
/// The member the capture ran against.
const ETCD_ENDPOINT: &str = "127.0.0.1:23796";
/// keelctl's test-only variable that shortens the check.
const TEST_DURATION_VARIABLE: &str = "KEEL_TEST_CHECK_PERF_SECONDS";

/// A `keel` process, killed (by its pid, through its handle) when dropped.
struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A one-member `keel` on free 127.0.0.1 ports, serving; its endpoint.
fn start(dir: &std::path::Path) -> (Member, String) {
    let ports = free_ports(2);
    let endpoint = format!("127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let member = Member(
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--name", "c1", "--data-dir", "keel-data"])
            .args(["--listen-client-urls", &format!("http://{endpoint}")])
            .args(["--advertise-client-urls", &format!("http://{endpoint}")])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("c1={peer}")])
            .env_remove("KEEL_NAME")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if keelctl(&["--endpoints", &endpoint, "endpoint", "health"], &[])
            .status
            .success()
        {
            return (member, endpoint);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("keel never served");
}

fn keelctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keelctl"))
        .args(args)
        .env_remove("KEELCTL_ENDPOINTS")
        .env_remove("ETCDCTL_ENDPOINTS")
        .env_remove(TEST_DURATION_VARIABLE)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keelctl_check_perf_refuses_as_etcdctl_did() {
    let dir = tempfile::tempdir().unwrap();
    let (_member, endpoint) = start(dir.path());
    let names = captured_names_in(INDEX);
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        let command = captured_command_in(INDEX, &name);
        let args: Vec<String> = command
            .split(' ')
            .skip(1)
            .map(|arg| arg.replace(ETCD_ENDPOINT, &endpoint))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // A refusal comes at once; a check that ran by mistake would take
        // a minute, so it is cut to one second (and then fails below).
        let output = keelctl(&args, &[(TEST_DURATION_VARIABLE, "1")]);
        assert_eq!(
            text(&output.stdout),
            fixture_text(&name, "out"),
            "stdout of {name}"
        );
        assert_eq!(
            text(&output.stderr),
            fixture_text(&name, "err"),
            "stderr of {name}"
        );
        assert_eq!(
            output.status.code(),
            Some(expected_exit_in(INDEX, &name)),
            "exit status of {name}"
        );
    }
    // The refused check wrote nothing: the key the capture put is alone.
    let left = keelctl(
        &[
            "--endpoints",
            &endpoint,
            "get",
            "--prefix",
            "/check-perf/",
            "--keys-only",
        ],
        &[],
    );
    assert_eq!(text(&left.stdout), "/check-perf/x\n\n");
}

/// The store's revision, from `endpoint status -w json`.
fn revision(endpoint: &str) -> i64 {
    let status = keelctl(
        &["--endpoints", endpoint, "-w", "json", "endpoint", "status"],
        &[],
    );
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    json[0]["Status"]["header"]["revision"].as_i64().unwrap()
}

/// The number in `line` between `before` and `after`, if it has that form.
fn number_between<T: std::str::FromStr>(line: &str, before: &str, after: &str) -> Option<T> {
    line.strip_prefix(before)?.strip_suffix(after)?.parse().ok()
}

#[test]
fn keelctl_check_perf_runs_the_small_load_and_deletes_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (_member, endpoint) = start(dir.path());
    let before = revision(&endpoint);
    let seconds = 3;
    let output = keelctl(
        &[
            "--endpoints",
            &endpoint,
            "check",
            "perf",
            "--load",
            "s",
            "--prefix",
            "/perf-it/",
            "--auto-compact",
            "--auto-defrag",
        ],
        &[(TEST_DURATION_VARIABLE, &seconds.to_string())],
    );
    let stdout = text(&output.stdout);
    assert_eq!(text(&output.stderr), "", "stdout: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    let after = revision(&endpoint);
    // 150 puts a second (the first at once), then one delete.
    let puts = after - before - 1;
    assert!(
        (150 * seconds - 30..=150 * seconds + 1).contains(&puts),
        "{puts} puts in {seconds} s"
    );
    assert_eq!(lines[0], format!("Compacting with revision {after}"));
    assert_eq!(lines[1], format!("Compacted with revision {after}"));
    assert_eq!(lines[2], format!("Defragmenting \"{endpoint}\""));
    assert_eq!(lines[3], format!("Defragmented \"{endpoint}\""));
    // Throughput: etcdctl prints int(rate)+1, over the run and its drain.
    let rate = number_between::<i64>(lines[4], "PASS: Throughput is ", " writes/s")
        .or_else(|| number_between(lines[4], "FAIL: Throughput too low: ", " writes/s"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!((100..=152).contains(&rate), "{stdout}");
    assert_eq!(lines[4].starts_with("PASS"), rate > 136, "{stdout}");
    let slowest = number_between::<f64>(lines[5], "PASS: Slowest request took ", "s")
        .filter(|slowest| *slowest <= 0.5)
        .or_else(|| {
            number_between(lines[5], "Slowest request took too long: ", "s")
                .filter(|slowest| *slowest > 0.5)
        })
        .unwrap_or_else(|| panic!("{stdout}"));
    let stddev = number_between::<f64>(lines[6], "PASS: Stddev is ", "s")
        .filter(|stddev| *stddev <= 0.1)
        .or_else(|| {
            number_between(lines[6], "Stddev too high: ", "s").filter(|stddev| *stddev > 0.1)
        })
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(slowest > 0.0 && stddev <= slowest, "{stdout}");
    let passed = lines[4..7].iter().all(|line| line.starts_with("PASS"));
    assert_eq!(lines[7], if passed { "PASS" } else { "FAIL" }, "{stdout}");
    assert_eq!(output.status.code(), Some(if passed { 0 } else { 1 }));
    // The check's keys are gone, and were compacted away.
    let left = keelctl(
        &[
            "--endpoints",
            &endpoint,
            "get",
            "--prefix",
            "/perf-it/",
            "--count-only",
            "-w",
            "json",
        ],
        &[],
    );
    let json: serde_json::Value = serde_json::from_slice(&left.stdout).unwrap();
    assert_eq!(json["count"].as_i64().unwrap_or(0), 0, "{json}");
    let old = keelctl(
        &[
            "--endpoints",
            &endpoint,
            "get",
            "--prefix",
            "/perf-it/",
            "--rev",
            &(after - 1).to_string(),
        ],
        &[],
    );
    assert!(
        text(&old.stderr).contains("required revision has been compacted"),
        "{}",
        text(&old.stderr)
    );
}
