//! keelctl against a one-member Keel cluster, replaying the command sequence
//! `fixtures/etcdctl/capture.sh` ran against etcd 3.4.23: stdout, stderr and
//! exit status must equal what etcdctl printed, byte for byte, once the
//! values that differ by nature (cluster and member ids, health check
//! durations) are mapped to etcd's.

mod common;

use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::ctl::output::Output;
use keel_server::ctl::{Invocation, run};
use keel_server::daemon::{ClusterState, Daemon};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use common::etcdctl::{fixture_text, fixtures};

/// The exit status etcdctl had for `name`, from `index.txt`.
fn expected_exit(name: &str) -> i32 {
    common::etcdctl::expected_exit_in("index.txt", name)
}

/// etcd's ids in the fixtures.
const ETCD_CLUSTER_ID: u64 = 15118495548433857066;
const ETCD_MEMBER_ID: u64 = 13668033151171901709;
/// The endpoints the fixtures name.
const ETCD_ENDPOINT: &str = "127.0.0.1:23791";
const ETCD_DEAD_ENDPOINT: &str = "127.0.0.1:23799";

struct Cluster {
    endpoint: String,
    dead_endpoint: String,
    cluster_id: u64,
    member_id: u64,
}

impl Cluster {
    async fn ctl(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut all: Vec<OsString> = vec!["--endpoints".into(), self.endpoint.clone().into()];
        all.extend(args.iter().map(OsString::from));
        self.ctl_raw(all, stdin).await
    }

    async fn ctl_raw(&self, args: Vec<OsString>, stdin: &[u8]) -> Output {
        let mut input = stdin;
        let mut prompts = Vec::new();
        let mut output = run(Invocation {
            args,
            env: BTreeMap::new(),
            stdin: &mut input,
            prompts: &mut prompts,
            stderr: None,
            stdin_lines: None,
            interrupt: None,
        })
        .await;
        prompts.extend_from_slice(&output.stdout);
        output.stdout = prompts;
        output
    }

    /// Keel's ids and endpoints replaced by the ones etcd had.
    fn as_etcd(&self, text: &str) -> String {
        let mut text = text
            .replace(&self.cluster_id.to_string(), &ETCD_CLUSTER_ID.to_string())
            .replace(&self.member_id.to_string(), &ETCD_MEMBER_ID.to_string())
            .replace(
                &format!("{:x}", self.cluster_id),
                &format!("{ETCD_CLUSTER_ID:x}"),
            )
            .replace(
                &format!("{:x}", self.member_id),
                &format!("{ETCD_MEMBER_ID:x}"),
            )
            .replace(&self.endpoint, ETCD_ENDPOINT)
            .replace(&self.dead_endpoint, ETCD_DEAD_ENDPOINT);
        text = normalize_took(&text);
        text
    }

    /// Runs `args` and checks the output against fixture `name`.
    async fn check(&self, name: &str, args: &[&str], stdin: &[u8]) {
        let output = self.ctl(args, stdin).await;
        self.compare(name, &output);
    }

    fn compare(&self, name: &str, output: &Output) {
        assert_eq!(
            self.as_etcd(&output.stdout_text()),
            normalize_took(&fixture_text(name, "out")),
            "stdout of {name}"
        );
        assert_eq!(
            self.as_etcd(&output.stderr_text()),
            normalize_took(&fixture_text(name, "err")),
            "stderr of {name}"
        );
        assert_eq!(
            output.exit_code,
            expected_exit(name),
            "exit status of {name}"
        );
    }
}

/// Health check durations vary run to run: `took = 1.2ms` becomes `took = T`.
fn normalize_took(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.find("took = ") {
            Some(at) => {
                out.push_str(&line[..at]);
                out.push_str("took = T");
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

async fn start() -> (Daemon, Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(3);
    let cluster = vec![("e1".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let options = daemon_options(
        dir.path(),
        "e1",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    let mut cluster = Cluster {
        endpoint: format!("127.0.0.1:{}", ports[0]),
        dead_endpoint: format!("127.0.0.1:{}", ports[2]),
        cluster_id: 0,
        member_id: 0,
    };
    let status = cluster
        .ctl(&["-w", "json", "endpoint", "status"], b"")
        .await;
    let json: serde_json::Value = serde_json::from_str(&status.stdout_text()).unwrap();
    let header = &json[0]["Status"]["header"];
    cluster.cluster_id = header["cluster_id"].as_u64().unwrap();
    cluster.member_id = header["member_id"].as_u64().unwrap();
    (daemon, cluster, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_prints_what_etcdctl_printed_for_the_same_commands() {
    let (daemon, c, _dir) = start().await;
    // Key-value commands; revisions follow from this exact sequence, as in
    // capture.sh.
    c.check("put_simple", &["put", "foo", "bar"], b"").await;
    c.check("put_json", &["-w", "json", "put", "foo2", "bar2"], b"")
        .await;
    c.check("put_prev_kv", &["put", "--prev-kv", "foo", "bar1"], b"")
        .await;
    c.check(
        "put_prev_kv_json",
        &["-w", "json", "put", "--prev-kv", "foo", "bar3"],
        b"",
    )
    .await;
    c.check("put_table", &["-w", "table", "put", "zz", "1"], b"")
        .await;
    c.check("put_no_args", &["put"], b"").await;
    c.check(
        "put_ignore_value_and_value",
        &["put", "--ignore-value", "foo", "v"],
        b"",
    )
    .await;
    c.check("put_bad_lease", &["put", "--lease=zz", "foo", "v"], b"")
        .await;
    c.check(
        "put_lease_out_of_range",
        &["put", "--lease=ffffffffffffffffffff", "foo", "v"],
        b"",
    )
    .await;
    c.check(
        "put_lease_not_found",
        &["put", "--lease=1234abcd", "foo", "v"],
        b"",
    )
    .await;
    c.check("put_empty_key", &["put", "", "v"], b"").await;
    c.check("put_value_from_stdin", &["put", "sk"], b"line\n")
        .await;
    c.check(
        "get_value_from_stdin_json",
        &["-w", "json", "get", "sk"],
        b"",
    )
    .await;
    c.check("get_simple", &["get", "foo"], b"").await;
    c.check("get_prefix", &["get", "--prefix", "f"], b"").await;
    c.check("get_json", &["-w", "json", "get", "foo"], b"")
        .await;
    c.check(
        "get_prefix_json",
        &["-w", "json", "get", "--prefix", "f"],
        b"",
    )
    .await;
    c.check("get_missing_json", &["-w", "json", "get", "nothere"], b"")
        .await;
    c.check(
        "get_limit_json",
        &["-w", "json", "get", "--prefix", "--limit", "1", "f"],
        b"",
    )
    .await;
    c.check(
        "get_keys_only",
        &["get", "--prefix", "--keys-only", "f"],
        b"",
    )
    .await;
    c.check(
        "get_keys_only_json",
        &["-w", "json", "get", "--prefix", "--keys-only", "f"],
        b"",
    )
    .await;
    c.check(
        "get_print_value_only",
        &["get", "--prefix", "--print-value-only", "f"],
        b"",
    )
    .await;
    c.check(
        "get_print_value_only_json",
        &["-w", "json", "get", "--print-value-only", "f"],
        b"",
    )
    .await;
    c.check("get_hex", &["--hex", "get", "--prefix", "f"], b"")
        .await;
    c.check("get_table", &["-w", "table", "get", "foo"], b"")
        .await;
    c.check("get_no_args", &["get"], b"").await;
    c.check(
        "get_prefix_and_from_key",
        &["get", "--prefix", "--from-key", "f"],
        b"",
    )
    .await;
    c.check(
        "get_prefix_and_range_end",
        &["get", "--prefix", "f", "g"],
        b"",
    )
    .await;
    c.check("get_bad_sort_target", &["get", "--sort-by=BOGUS", "f"], b"")
        .await;
    c.check("get_bad_sort_order", &["get", "--order=BOGUS", "f"], b"")
        .await;
    c.check("get_bad_consistency", &["get", "--consistency=x", "f"], b"")
        .await;
    c.check("get_future_revision", &["get", "--rev", "1000", "foo"], b"")
        .await;
    c.check("get_unsupported_format", &["-w", "yaml", "get", "foo"], b"")
        .await;
    c.check("del_missing", &["del", "nothere"], b"").await;
    c.check("del_one", &["del", "zz"], b"").await;
    c.check("del_prev_kv", &["del", "--prev-kv", "foo2"], b"")
        .await;
    c.check(
        "del_prev_kv_json",
        &["-w", "json", "del", "--prev-kv", "sk"],
        b"",
    )
    .await;
    c.check("del_json", &["-w", "json", "del", "nothere"], b"")
        .await;
    c.check("del_no_args", &["del"], b"").await;
    c.check("del_too_many_args", &["del", "a", "b", "c"], b"")
        .await;
    c.check("del_table", &["-w", "table", "del", "x"], b"")
        .await;
    c.check("compaction_simple", &["compaction", "3"], b"")
        .await;
    c.check(
        "compaction_json",
        &["-w", "json", "compaction", "--physical", "4"],
        b"",
    )
    .await;
    c.check("compaction_compacted", &["compaction", "2"], b"")
        .await;
    c.check("compaction_future", &["compaction", "100000"], b"")
        .await;
    c.check("compaction_bad_number", &["compaction", "abc"], b"")
        .await;
    c.check("compaction_no_args", &["compaction"], b"").await;

    // txn: keys t1=v1, t2=v2 first.
    assert_eq!(c.ctl(&["put", "t1", "v1"], b"").await.exit_code, 0);
    assert_eq!(c.ctl(&["put", "t2", "v2"], b"").await.exit_code, 0);
    let input = |name: &str| std::fs::read(fixtures().join(format!("{name}.in"))).unwrap();
    c.check("txn_success", &["txn"], &input("txn_success"))
        .await;
    c.check(
        "txn_success_json",
        &["-w", "json", "txn"],
        &input("txn_success"),
    )
    .await;
    c.check("txn_interactive", &["txn", "-i"], &input("txn_success"))
        .await;
    c.check("txn_failure", &["txn"], &input("txn_failure"))
        .await;
    c.check(
        "txn_failure_json",
        &["-w", "json", "txn"],
        &input("txn_failure"),
    )
    .await;
    c.check("txn_table", &["-w", "table", "txn"], &input("txn_success"))
        .await;
    c.check("txn_duplicate", &["txn"], &input("txn_duplicate"))
        .await;
    c.check("txn_malformed", &["txn"], &input("txn_malformed"))
        .await;
    c.check("txn_eof", &["txn"], &input("txn_eof")).await;
    c.check("txn_argument", &["txn", "extra"], &input("txn_success"))
        .await;

    // Alarms (none raised), membership and endpoints of the one member.
    c.check("alarm_list_none", &["alarm", "list"], b"").await;
    c.check(
        "alarm_list_none_json",
        &["-w", "json", "alarm", "list"],
        b"",
    )
    .await;
    c.check("alarm_list_table", &["-w", "table", "alarm", "list"], b"")
        .await;
    c.check("endpoint_health", &["endpoint", "health"], b"")
        .await;
    let unhealthy: Vec<OsString> = [
        "--endpoints",
        &format!("{},{}", c.endpoint, c.dead_endpoint),
        "--command-timeout",
        "1s",
        "--dial-timeout",
        "200ms",
        "endpoint",
        "health",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let output = c.ctl_raw(unhealthy, b"").await;
    c.compare("endpoint_health_unhealthy", &output);
    daemon.shutdown().await;
}

/// Outputs whose cells differ by nature (version, db size, raft index) are
/// compared column by column where they must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_list_and_endpoint_status_have_etcdctls_shape() {
    let (daemon, c, _dir) = start().await;
    let list = c.ctl(&["member", "list"], b"").await;
    let ours: Vec<String> = c
        .as_etcd(&list.stdout_text())
        .trim_end_matches('\n')
        .split(", ")
        .map(String::from)
        .collect();
    let etcds: Vec<String> = fixture_text("member_list", "out")
        .trim_end_matches('\n')
        .split(", ")
        .map(String::from)
        .collect();
    assert_eq!(ours.len(), etcds.len());
    // id, status, name, client URLs, is learner (the peer port differs).
    for column in [0, 1, 2, 4, 5] {
        assert_eq!(ours[column], etcds[column], "member list column {column}");
    }
    assert_eq!(list.exit_code, 0);

    let status = c.ctl(&["endpoint", "status"], b"").await;
    let ours: Vec<String> = c
        .as_etcd(&status.stdout_text())
        .trim_end_matches('\n')
        .split(", ")
        .map(String::from)
        .collect();
    let etcds: Vec<String> = fixture_text("endpoint_status", "out")
        .trim_end_matches('\n')
        .split(", ")
        .map(String::from)
        .collect();
    assert_eq!(ours.len(), etcds.len(), "{ours:?}");
    // endpoint, id, version (Keel reports etcd's), is leader, is learner,
    // raft term, errors
    for column in [0, 1, 2, 4, 5, 6, 9] {
        assert_eq!(
            ours[column], etcds[column],
            "endpoint status column {column}"
        );
    }
    let table = c.ctl(&["-w", "table", "endpoint", "status"], b"").await;
    let header = |text: &str| {
        text.lines()
            .nth(1)
            .unwrap_or("")
            .split('|')
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        header(&table.stdout_text()),
        header(&fixture_text("endpoint_status_table", "out"))
    );
    daemon.shutdown().await;
}
