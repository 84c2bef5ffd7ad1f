//! keelctl's lease commands against a one-member Keel cluster, replaying
//! the session `fixtures/etcdctl/capture-lease.sh` ran against etcd 3.4.23:
//! stdout, stderr and exit status must equal what etcdctl printed, byte for
//! byte, once the values that differ by nature are mapped to etcd's —
//! cluster and member ids, lease ids (each grant's id is read from both
//! outputs), the remaining TTL (compared as `N`, and checked to be within a
//! second or two of the granted TTL) and how many renewals a keep-alive
//! printed before its lease was revoked (repeated lines collapsed).

mod common;

use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::ctl::output::Output;
use keel_server::ctl::{Invocation, run};
use keel_server::daemon::{ClusterState, Daemon};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// etcd's ids and endpoint in the lease fixtures.
const ETCD_CLUSTER_ID: u64 = 8373857289935975120;
const ETCD_MEMBER_ID: u64 = 15620605431212779891;
const ETCD_ENDPOINT: &str = "127.0.0.1:23794";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/etcdctl")
}

fn fixture_text(name: &str, suffix: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("{name}.{suffix}"))).unwrap_or_default()
}

/// The exit status etcdctl had for `name`, from `index-lease.txt`.
fn expected_exit(name: &str) -> i32 {
    let index = std::fs::read_to_string(fixtures().join("index-lease.txt")).unwrap();
    let prefix = format!("{name} exit=");
    let line = index
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} is not in index-lease.txt"));
    line[prefix.len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The lease etcd granted as `label` (A, B, ...), from `lease-ids.txt`.
fn etcd_lease(label: &str) -> i64 {
    let ids = std::fs::read_to_string(fixtures().join("lease-ids.txt")).unwrap();
    let hex = ids
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("lease {label} is not in lease-ids.txt"));
    i64::from_str_radix(hex, 16).unwrap()
}

struct Cluster {
    endpoint: String,
    cluster_id: u64,
    member_id: u64,
    /// Keel's lease id → etcd's, for every lease both sessions granted.
    leases: Mutex<Vec<(i64, i64)>>,
}

impl Cluster {
    async fn ctl(&self, args: &[&str]) -> Output {
        let mut all: Vec<OsString> = vec!["--endpoints".into(), self.endpoint.clone().into()];
        all.extend(args.iter().map(OsString::from));
        let mut input: &[u8] = b"";
        let mut prompts = Vec::new();
        let mut output = run(Invocation {
            args: all,
            env: BTreeMap::new(),
            stdin: &mut input,
            prompts: &mut prompts,
            interrupt: None,
        })
        .await;
        prompts.extend_from_slice(&output.stdout);
        output.stdout = prompts;
        output
    }

    /// Records that Keel's `ours` is the lease etcd granted as `label`.
    fn map_lease(&self, ours: i64, label: &str) {
        self.leases.lock().unwrap().push((ours, etcd_lease(label)));
    }

    /// Keel's lease for etcd's lease `label`, in hex.
    fn ours(&self, label: &str) -> String {
        let etcd = etcd_lease(label);
        let leases = self.leases.lock().unwrap();
        let (ours, _) = leases
            .iter()
            .find(|(_, theirs)| *theirs == etcd)
            .unwrap_or_else(|| panic!("lease {label} was not granted here"));
        format!("{ours:x}")
    }

    /// Keel's ids replaced by the ones etcd had.
    fn as_etcd(&self, text: &str) -> String {
        let mut text = text
            .replace(&self.cluster_id.to_string(), &ETCD_CLUSTER_ID.to_string())
            .replace(&self.member_id.to_string(), &ETCD_MEMBER_ID.to_string())
            .replace(&self.endpoint, ETCD_ENDPOINT);
        for (ours, theirs) in self.leases.lock().unwrap().iter() {
            text = text
                .replace(&format!("{ours:016x}"), &format!("{theirs:016x}"))
                .replace(&ours.to_string(), &theirs.to_string());
        }
        text
    }

    /// Runs `args` and checks the output against fixture `name`.
    async fn check(&self, name: &str, args: &[&str]) -> Output {
        let output = self.ctl(args).await;
        self.compare(name, &output, |text| text.to_string());
        output
    }

    /// Compares after `normalize` (applied to both sides).
    fn compare(&self, name: &str, output: &Output, normalize: impl Fn(&str) -> String) {
        assert_eq!(
            normalize(&self.as_etcd(&output.stdout_text())),
            normalize(&fixture_text(name, "out")),
            "stdout of {name}"
        );
        assert_eq!(
            normalize(&self.as_etcd(&output.stderr_text())),
            normalize(&fixture_text(name, "err")),
            "stderr of {name}"
        );
        assert_eq!(
            output.exit_code,
            expected_exit(name),
            "exit status of {name}"
        );
    }
}

/// The number after `marker` in `text`, if any.
fn number_after(text: &str, marker: &str) -> Option<i64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// Replaces the number after each `marker` with `N`.
fn blank_number(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = at + marker.len();
        out.push_str(&rest[..after]);
        out.push('N');
        rest = rest[after..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The remaining TTL varies run to run: compared as `N`.
fn remaining_blanked(text: &str) -> String {
    blank_number(&blank_number(text, "remaining("), "\"ttl\":")
}

/// How many renewals ran before the revoke varies: repeated lines collapse.
fn repeats_collapsed(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.dedup();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The lease id a grant printed: `lease <hex> granted ...` or `"ID":<n>`.
fn granted_id(output: &Output) -> i64 {
    let text = output.stdout_text();
    if let Some(hex) = text.strip_prefix("lease ") {
        let hex = hex.split(' ').next().unwrap();
        return i64::from_str_radix(hex, 16).unwrap();
    }
    number_after(&text, "\"ID\":").unwrap_or_else(|| panic!("no lease id in {text:?}"))
}

/// A member with etcd's default election timeout (1 s), so the minimum
/// lease TTL is etcd's 2 s.
async fn start() -> (Daemon, Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("l1".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let mut options = daemon_options(
        dir.path(),
        "l1",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    options.node.election_ticks = 50;
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    let mut cluster = Cluster {
        endpoint: format!("127.0.0.1:{}", ports[0]),
        cluster_id: 0,
        member_id: 0,
        leases: Mutex::new(Vec::new()),
    };
    let status = cluster.ctl(&["-w", "json", "endpoint", "status"]).await;
    let json: serde_json::Value = serde_json::from_str(&status.stdout_text()).unwrap();
    let header = &json[0]["Status"]["header"];
    cluster.cluster_id = header["cluster_id"].as_u64().unwrap();
    cluster.member_id = header["member_id"].as_u64().unwrap();
    (daemon, cluster, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_lease_prints_what_etcdctl_printed_for_the_same_commands() {
    let (daemon, c, _dir) = start().await;
    // Argument errors.
    c.check("lease_grant_no_args", &["lease", "grant"]).await;
    c.check("lease_grant_too_many_args", &["lease", "grant", "1", "2"])
        .await;
    c.check("lease_grant_bad_ttl", &["lease", "grant", "abc"])
        .await;
    c.check(
        "lease_grant_ttl_out_of_range",
        &["lease", "grant", "99999999999999999999"],
    )
    .await;
    c.check("lease_revoke_no_args", &["lease", "revoke"]).await;
    c.check("lease_revoke_bad_id", &["lease", "revoke", "zz"])
        .await;
    c.check("lease_revoke_hex_prefix", &["lease", "revoke", "0x12"])
        .await;
    c.check(
        "lease_revoke_id_out_of_range",
        &["lease", "revoke", "8000000000000000"],
    )
    .await;
    c.check("lease_timetolive_no_args", &["lease", "timetolive"])
        .await;
    c.check("lease_timetolive_bad_id", &["lease", "timetolive", "zz"])
        .await;
    c.check("lease_keep_alive_no_args", &["lease", "keep-alive"])
        .await;
    c.check(
        "lease_keep_alive_too_many_args",
        &["lease", "keep-alive", "1", "2"],
    )
    .await;
    c.check(
        "lease_keep_alive_bad_id",
        &["lease", "keep-alive", "--once", "zz"],
    )
    .await;
    // The server refuses.
    c.check("lease_grant_too_large", &["lease", "grant", "9000000001"])
        .await;
    c.check("lease_revoke_not_found", &["lease", "revoke", "1234"])
        .await;
    c.check(
        "lease_keep_alive_once_not_found",
        &["lease", "keep-alive", "--once", "1234"],
    )
    .await;
    c.check(
        "lease_keep_alive_not_found",
        &["lease", "keep-alive", "1234"],
    )
    .await;
    c.check(
        "lease_keep_alive_not_found_json",
        &["-w", "json", "lease", "keep-alive", "1234"],
    )
    .await;
    c.check(
        "lease_timetolive_not_found",
        &["lease", "timetolive", "1234"],
    )
    .await;
    c.check(
        "lease_timetolive_not_found_json",
        &["-w", "json", "lease", "timetolive", "--keys", "1234"],
    )
    .await;
    c.check("lease_list_none", &["lease", "list"]).await;
    c.check("lease_list_none_json", &["-w", "json", "lease", "list"])
        .await;

    // Leases A (100 s, key k1) and B (200 s).
    let granted = c.ctl(&["lease", "grant", "100"]).await;
    c.map_lease(granted_id(&granted), "A");
    c.compare("lease_grant", &granted, str::to_string);
    let granted = c.ctl(&["-w", "json", "lease", "grant", "200"]).await;
    c.map_lease(granted_id(&granted), "B");
    c.compare("lease_grant_json", &granted, str::to_string);
    let (a, b) = (c.ours("A"), c.ours("B"));
    c.check("lease_put", &["put", &format!("--lease={a}"), "k1", "v1"])
        .await;
    c.check("lease_get_json", &["-w", "json", "get", "k1"])
        .await;
    for (name, args, granted) in [
        ("lease_timetolive", vec!["lease", "timetolive", &a], 100),
        (
            "lease_timetolive_keys",
            vec!["lease", "timetolive", "--keys", &a],
            100,
        ),
        (
            "lease_timetolive_json",
            vec!["-w", "json", "lease", "timetolive", &a],
            100,
        ),
        (
            "lease_timetolive_keys_json",
            vec!["-w", "json", "lease", "timetolive", "--keys", &a],
            100,
        ),
        (
            "lease_timetolive_no_keys",
            vec!["lease", "timetolive", "--keys", &b],
            200,
        ),
        (
            "lease_timetolive_no_keys_json",
            vec!["-w", "json", "lease", "timetolive", "--keys", &b],
            200,
        ),
    ] {
        let output = c.ctl(&args).await;
        let text = output.stdout_text();
        let left = number_after(&text, "remaining(")
            .or_else(|| number_after(&text, "\"ttl\":"))
            .unwrap_or_else(|| panic!("{name}: no remaining TTL in {text:?}"));
        assert!(
            (granted - 2..=granted).contains(&left),
            "{name}: {left}s left of {granted}s"
        );
        c.compare(name, &output, remaining_blanked);
    }
    c.check(
        "lease_timetolive_table",
        &["-w", "table", "lease", "timetolive", &a],
    )
    .await;
    c.check("lease_list", &["lease", "list"]).await;
    c.check("lease_list_json", &["-w", "json", "lease", "list"])
        .await;
    c.check("lease_list_table", &["-w", "table", "lease", "list"])
        .await;
    c.check(
        "lease_keep_alive_once",
        &["lease", "keep-alive", "--once", &a],
    )
    .await;
    c.check(
        "lease_keep_alive_once_json",
        &["-w", "json", "lease", "keep-alive", "--once", &a],
    )
    .await;
    c.check("lease_revoke", &["lease", "revoke", &a]).await;
    c.check("lease_revoked_get_json", &["-w", "json", "get", "k1"])
        .await;
    c.check("lease_revoke_again", &["lease", "revoke", &a])
        .await;
    c.check("lease_timetolive_revoked", &["lease", "timetolive", &a])
        .await;
    c.check("lease_revoke_json", &["-w", "json", "lease", "revoke", &b])
        .await;

    // The minimum TTL (2 s with etcd's election timeout), then expiry.
    let granted = c.ctl(&["lease", "grant", "1"]).await;
    c.map_lease(granted_id(&granted), "C");
    c.compare("lease_grant_min", &granted, str::to_string);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let expired = c.ours("C");
    c.check(
        "lease_timetolive_expired",
        &["lease", "timetolive", &expired],
    )
    .await;
    c.check(
        "lease_keep_alive_expired",
        &["lease", "keep-alive", &expired],
    )
    .await;

    // keep-alive renews (every TTL/3) until the lease is revoked.
    for (label, name, json) in [
        ("D", "lease_keep_alive", false),
        ("F", "lease_keep_alive_json", true),
    ] {
        let granted = c.ctl(&["lease", "grant", "3"]).await;
        c.map_lease(granted_id(&granted), label);
        let id = c.ours(label);
        let mut args = vec!["lease", "keep-alive", &id];
        if json {
            args.splice(0..0, ["-w", "json"]);
        }
        let started = tokio::time::Instant::now();
        let (output, revoked) = tokio::join!(c.ctl(&args), async {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            c.ctl(&["lease", "revoke", &id]).await
        });
        assert_eq!(revoked.exit_code, 0, "{}", revoked.stderr_text());
        let renewals = output.stdout_text().matches("TTL").count();
        assert!(
            (3..=4).contains(&renewals),
            "{name}: {renewals} renewals in 2.5 s of a 3 s lease"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: the revoke ends the keep-alive within a renewal period"
        );
        c.compare(name, &output, repeats_collapsed);
    }
    daemon.shutdown().await;
}
