//! keelctl's lease, lock and elect commands against a one-member Keel
//! cluster, replaying the session `fixtures/etcdctl/capture-lease.sh` ran
//! against etcd 3.4.23:
//! stdout, stderr and exit status must equal what etcdctl printed, byte for
//! byte, once the values that differ by nature are mapped to etcd's —
//! cluster and member ids, lease ids (each grant's id is read from both
//! outputs), the remaining TTL (compared as `N`, and checked to be within a
//! second or two of the granted TTL) and how many renewals a keep-alive
//! printed before its lease was revoked (repeated lines collapsed), the
//! session lease in lock and election keys (`NAME/ID`). Contenders run
//! concurrently in this process, interrupted through
//! `Invocation::interrupt`; the real binary is used where a process must
//! die (SIGKILL: its lease expires) or catch SIGINT.

mod common;

use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::ctl::output::Output;
use keel_server::ctl::{Invocation, run};
use keel_server::daemon::{ClusterState, Daemon};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

use common::etcdctl::{blank_number, fixture_text, fixtures};

/// The exit status etcdctl had for `name`, from `index-lease.txt`.
fn expected_exit(name: &str) -> i32 {
    common::etcdctl::expected_exit_in("index-lease.txt", name)
}

/// Standard output as a command streams it, readable while it runs.
#[derive(Clone, Default)]
struct Streamed(Arc<Mutex<Vec<u8>>>);

impl Streamed {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Waits (at most `within`) until something was printed.
    async fn printed(&self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        while self.bytes().is_empty() {
            assert!(
                Instant::now() < deadline,
                "nothing printed within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.text()
    }
}

impl std::io::Write for Streamed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// etcd's ids and endpoint in the lease fixtures.
const ETCD_CLUSTER_ID: u64 = 8373857289935975120;
const ETCD_MEMBER_ID: u64 = 15620605431212779891;
const ETCD_ENDPOINT: &str = "127.0.0.1:23794";

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
        self.ctl_until(args, None, Streamed::default()).await
    }

    /// Runs `args`; what it prints as it goes is in `streamed` meanwhile
    /// (and in the output's stdout at the end); `interrupt` resolving is
    /// SIGINT.
    async fn ctl_until(
        &self,
        args: &[&str],
        interrupt: Option<oneshot::Receiver<()>>,
        streamed: Streamed,
    ) -> Output {
        let mut all: Vec<OsString> = vec!["--endpoints".into(), self.endpoint.clone().into()];
        all.extend(args.iter().map(OsString::from));
        let mut input: &[u8] = b"";
        let mut prompts = streamed.clone();
        let interrupt = interrupt.map(|signal| -> keel_server::ctl::InterruptSource {
            Box::new(move || {
                Box::pin(async move {
                    let _ = signal.await;
                })
            })
        });
        let mut output = run(Invocation {
            args: all,
            env: BTreeMap::new(),
            stdin: &mut input,
            prompts: &mut prompts,
            stderr: None,
            stdin_lines: None,
            interrupt,
        })
        .await;
        let mut stdout = streamed.bytes();
        stdout.extend_from_slice(&output.stdout);
        output.stdout = stdout;
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
            // 3 or 4 on an idle machine; a loaded CI machine may fit one
            // renewal fewer into the window.
            (2..=4).contains(&renewals),
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

/// Lock and election keys end in the session's lease id: `NAME/ID`.
fn lease_keys_blanked(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["L0/", "L1/", "L2/", "E1/"]
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| at + prefix.len()))
        .min()
    {
        out.push_str(&rest[..at]);
        out.push_str("ID");
        rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

/// A trigger for one contender's SIGINT.
fn interrupter() -> (oneshot::Sender<()>, Option<oneshot::Receiver<()>>) {
    let (send, receive) = oneshot::channel();
    (send, Some(receive))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_lock_and_elect_print_what_etcdctl_printed() {
    let (daemon, c, dir) = start().await;
    c.check("lock_no_args", &["lock"]).await;
    c.check("elect_no_args", &["elect"]).await;
    c.check("elect_too_many_args", &["elect", "a", "b", "c"])
        .await;
    c.check("elect_no_proposal", &["elect", "e1"]).await;
    c.check("elect_listen_with_proposal", &["elect", "-l", "e1", "p"])
        .await;

    // The lease session of capture-lease.sh left the revision at 3.
    assert_eq!(c.ctl(&["put", "k1", "v1"]).await.exit_code, 0);
    assert_eq!(c.ctl(&["del", "k1"]).await.exit_code, 0);
    // A command runs with ETCD_LOCK_KEY and ETCD_LOCK_REV set (its output
    // goes to keelctl's stdout; here to a file).
    let seen = dir.path().join("lock-env");
    let script = format!(
        "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\" > {}",
        seen.display()
    );
    let ran = c.ctl(&["lock", "L0", "--", "sh", "-c", &script]).await;
    assert_eq!(ran.exit_code, expected_exit("lock_exec_env"));
    assert_eq!(ran.stderr_text(), "");
    assert_eq!(
        lease_keys_blanked(&std::fs::read_to_string(&seen).unwrap()),
        lease_keys_blanked(&fixture_text("lock_exec_env", "out"))
    );
    c.check(
        "lock_exec_fails",
        &["lock", "L0", "--", "sh", "-c", "exit 3"],
    )
    .await;
    c.check(
        "lock_exec_not_found",
        &["lock", "L0", "nonexistent-command-x"],
    )
    .await;
    let released = c.ctl(&["get", "--prefix", "L0"]).await;
    assert_eq!(released.stdout_text(), "", "each run released the lock");

    // Two holders of one lock: the second acquires once the first is
    // interrupted.
    let (stop_first, first_interrupt) = interrupter();
    let (stop_second, second_interrupt) = interrupter();
    let (first_printed, second_printed) = (Streamed::default(), Streamed::default());
    let (first, second, ()) = tokio::join!(
        c.ctl_until(&["lock", "L1"], first_interrupt, first_printed.clone()),
        async {
            first_printed.printed(Duration::from_secs(5)).await;
            c.ctl_until(&["lock", "L1"], second_interrupt, second_printed.clone())
                .await
        },
        async {
            first_printed.printed(Duration::from_secs(5)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let waiting = c.ctl(&["get", "--prefix", "--keys-only", "L1"]).await;
            assert_eq!(waiting.stdout_text().matches("L1/").count(), 2);
            assert_eq!(second_printed.text(), "", "the second waits");
            stop_first.send(()).unwrap();
            second_printed.printed(Duration::from_secs(5)).await;
            stop_second.send(()).unwrap();
        }
    );
    c.compare("lock_first", &first, lease_keys_blanked);
    c.compare("lock_second", &second, lease_keys_blanked);
    assert_ne!(first.stdout_text(), second.stdout_text());

    // A holder whose lease is revoked: "session expired"; a waiter then
    // acquires.
    let (_keep, no_interrupt) = interrupter();
    let (stop_waiter, waiter_interrupt) = interrupter();
    let (holder_printed, waiter_printed) = (Streamed::default(), Streamed::default());
    let (holder, waiter, ()) = tokio::join!(
        c.ctl_until(
            &["lock", "--ttl", "3", "L2"],
            no_interrupt,
            holder_printed.clone()
        ),
        async {
            holder_printed.printed(Duration::from_secs(5)).await;
            c.ctl_until(&["lock", "L2"], waiter_interrupt, waiter_printed.clone())
                .await
        },
        async {
            let key = holder_printed.printed(Duration::from_secs(5)).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(waiter_printed.text(), "");
            let lease = key.trim().trim_start_matches("L2/").to_string();
            let revoked = c.ctl(&["lease", "revoke", &lease]).await;
            assert_eq!(revoked.exit_code, 0, "{}", revoked.stderr_text());
            waiter_printed.printed(Duration::from_secs(5)).await;
            stop_waiter.send(()).unwrap();
        }
    );
    c.compare("lock_session_expired", &holder, lease_keys_blanked);
    assert_eq!(waiter.exit_code, 0, "{}", waiter.stderr_text());

    // Election: an observer, a leader, a second candidate that leads once
    // the first resigns.
    let (stop_observer, observer_interrupt) = interrupter();
    let (stop_alpha, alpha_interrupt) = interrupter();
    let (stop_beta, beta_interrupt) = interrupter();
    let observed = Streamed::default();
    let (alpha_printed, beta_printed) = (Streamed::default(), Streamed::default());
    let (observer, alpha, beta, ()) = tokio::join!(
        c.ctl_until(&["elect", "-l", "E1"], observer_interrupt, observed.clone()),
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            c.ctl_until(
                &["elect", "E1", "alpha"],
                alpha_interrupt,
                alpha_printed.clone(),
            )
            .await
        },
        async {
            alpha_printed.printed(Duration::from_secs(5)).await;
            c.ctl_until(
                &["elect", "E1", "beta"],
                beta_interrupt,
                beta_printed.clone(),
            )
            .await
        },
        async {
            alpha_printed.printed(Duration::from_secs(5)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert_eq!(beta_printed.text(), "", "beta waits for alpha");
            assert_eq!(lease_keys_blanked(&observed.text()), "E1/ID\nalpha\n");
            stop_alpha.send(()).unwrap();
            beta_printed.printed(Duration::from_secs(5)).await;
            let deadline = Instant::now() + Duration::from_secs(5);
            while !observed.text().contains("beta") {
                assert!(Instant::now() < deadline, "the observer saw beta");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stop_beta.send(()).unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            stop_observer.send(()).unwrap();
        }
    );
    c.compare("elect_first", &alpha, lease_keys_blanked);
    c.compare("elect_second", &beta, lease_keys_blanked);
    c.compare("elect_observe", &observer, lease_keys_blanked);
    daemon.shutdown().await;
}

/// The real binary: a holder killed with SIGKILL keeps the lock until its
/// lease expires (TTL 2 s), then the waiter acquires; a holder sent SIGINT
/// releases at once and exits 0. Processes are stopped by PID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_lock_process_killed_or_interrupted() {
    let (daemon, c, _dir) = start().await;
    let spawn = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_keelctl"))
            .arg("--endpoints")
            .arg(&c.endpoint)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let keys = || async { c.ctl(&["get", "--prefix", "--keys-only", "K"]).await };
    let wait_keys = |count: usize| async move {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = keys().await.stdout_text().matches("K/").count();
            if found == count {
                return;
            }
            assert!(Instant::now() < deadline, "{found} keys, not {count}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    let mut killed = spawn(&["lock", "--ttl", "2", "K"]);
    wait_keys(1).await;
    let (stop_waiter, waiter_interrupt) = interrupter();
    let waiter_printed = Streamed::default();
    let killed_at = Instant::now();
    let (waiter, ()) = tokio::join!(
        c.ctl_until(&["lock", "K"], waiter_interrupt, waiter_printed.clone()),
        async {
            wait_keys(2).await;
            // SIGKILL: no release; the lock is freed by the lease's expiry.
            killed.kill().unwrap();
            let _ = killed.wait();
            // The last renewal was at most TTL/3 before the kill, so the
            // 2 s lease lives at least ~1.3 s more: 0.5 s leaves room for
            // a loaded machine's late wake-up.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(waiter_printed.text(), "", "the lease has not expired yet");
            waiter_printed.printed(Duration::from_secs(5)).await;
            assert!(killed_at.elapsed() >= Duration::from_millis(1500));
            stop_waiter.send(()).unwrap();
        }
    );
    assert_eq!(waiter.exit_code, 0, "{}", waiter.stderr_text());
    wait_keys(0).await;

    // SIGINT: the binary releases the lock and exits 0.
    let interrupted = spawn(&["lock", "K"]);
    wait_keys(1).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &interrupted.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let finished = interrupted.wait_with_output().unwrap();
    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    let printed = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(
        printed.starts_with("K/") && printed.ends_with("\n\n"),
        "{printed:?}"
    );
    wait_keys(0).await;
    daemon.shutdown().await;
}
