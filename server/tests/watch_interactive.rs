//! keelctl's `watch -i`, `watch ... -- command` and watch argument errors
//! against a one-member Keel cluster, replaying the sessions
//! `fixtures/etcdctl/capture-watch.sh` ran against etcd 3.4.23: the same
//! history first (so revisions agree), then each case's `NAME.in` — lines
//! written to stdin over time, writes made beside it — through the real
//! keelctl binary (its stdin read on a thread, its stdout shared with the
//! commands it runs). stdout, stderr and exit status must equal what
//! etcdctl printed, byte for byte; only cluster and member ids and the raft
//! term (JSON headers) are compared as `N`, and etcdctl's `ETCDCTL_WATCH_*` names
//! read as keelctl's `KEELCTL_WATCH_*`.

mod common;

use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::ctl::output::Output;
use keel_server::ctl::{Invocation, run};
use keel_server::daemon::{ClusterState, Daemon};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::etcdctl::{blank_number, fixture_text};

/// The exit status etcdctl had for `name`, from `index-watch.txt`.
fn expected_exit(name: &str) -> i32 {
    common::etcdctl::expected_exit_in("index-watch.txt", name)
}

/// Time between two directives of a session: capture-watch.sh waited 0.3 s;
/// the replay waits longer so a keelctl slowed by a loaded CI machine has
/// still opened its watch before the next write (the output does not
/// depend on the gap).
const STEP: Duration = Duration::from_millis(600);

struct Cluster {
    endpoint: String,
}

/// How a case ends once its directives are done.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// Standard input is closed (keelctl ends by itself).
    CloseStdin,
    /// SIGTERM, by pid (a watch from the command line runs until then).
    Terminate,
}

impl Cluster {
    /// keelctl in this process, for the writes beside a session.
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
            stderr: None,
            stdin_lines: None,
            interrupt: None,
        })
        .await;
        prompts.extend_from_slice(&output.stdout);
        output.stdout = prompts;
        output
    }

    async fn write(&self, args: &[&str]) {
        let output = self.ctl(args).await;
        assert_eq!(output.exit_code, 0, "{args:?}: {}", output.stderr_text());
    }

    /// The header's ids and raft term, which differ by nature, as `N`.
    fn normalized(text: &str) -> String {
        ["\"cluster_id\":", "\"member_id\":", "\"raft_term\":"]
            .iter()
            .fold(text.to_string(), |text, marker| blank_number(&text, marker))
    }

    /// Runs the keelctl binary with `args` (and `vars`, etcdctl's names),
    /// feeding it `NAME.in`; compares with fixture `name`.
    async fn session(&self, name: &str, vars: &[(&str, &str)], args: &[&str], ending: Ending) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keelctl"))
            .arg("--endpoints")
            .arg(&self.endpoint)
            .args(args)
            .envs(
                vars.iter()
                    .map(|(name, value)| (name.replace("ETCDCTL_", "KEELCTL_"), *value)),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take();
        let script = fixture_text(name, "in");
        // The watch (or the session) starts first, as in the capture.
        tokio::time::sleep(STEP).await;
        for directive in script.lines() {
            let (kind, text) = (&directive[..1], directive.get(2..).unwrap_or(""));
            match kind {
                "<" | "+" => {
                    let mut bytes = text.as_bytes().to_vec();
                    if kind == "<" {
                        bytes.push(b'\n');
                    }
                    if let Some(stdin) = stdin.as_mut() {
                        // Gone once keelctl has exited on a line.
                        let _ = stdin.write_all(&bytes).and_then(|()| stdin.flush());
                    }
                }
                "=" => {
                    let words: Vec<&str> = text.split(' ').collect();
                    self.write(&words).await;
                }
                other => panic!("unknown directive {other:?} in {name}.in"),
            }
            tokio::time::sleep(STEP).await;
        }
        if ending == Ending::Terminate {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        drop(stdin);
        let finished = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let exit = finished
            .status
            .code()
            .or_else(|| finished.status.signal().map(|signal| 128 + signal))
            .unwrap();
        let expected_err = fixture_text(name, "err").replace("ETCDCTL_", "KEELCTL_");
        assert_eq!(
            Self::normalized(&String::from_utf8_lossy(&finished.stdout)),
            Self::normalized(&fixture_text(name, "out")),
            "stdout of {name}"
        );
        assert_eq!(
            String::from_utf8_lossy(&finished.stderr),
            expected_err,
            "stderr of {name}"
        );
        assert_eq!(exit, expected_exit(name), "exit status of {name}");
    }
}

async fn start() -> (Daemon, Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let cluster = vec![("w1".to_string(), format!("http://127.0.0.1:{}", ports[1]))];
    let options = daemon_options(
        dir.path(),
        "w1",
        ports[0],
        ports[1],
        &cluster,
        ClusterState::New,
    );
    let daemon = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    assert!(daemon.wait_ready(Duration::from_secs(10)).await);
    let cluster = Cluster {
        endpoint: format!("127.0.0.1:{}", ports[0]),
    };
    (daemon, cluster, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_watch_sessions_print_what_etcdctl_printed() {
    use Ending::{CloseStdin, Terminate};
    let (daemon, c, _dir) = start().await;
    // capture-watch.sh's history: foo at 2 and 3, h/1 at 4, compacted at 3.
    c.write(&["put", "foo", "bar"]).await;
    c.write(&["put", "foo", "baz"]).await;
    c.write(&["put", "h/1", "x"]).await;
    c.write(&["compaction", "3"]).await;

    c.session("watch_interactive", &[], &["watch", "-i"], CloseStdin)
        .await;
    c.session(
        "watch_interactive_json",
        &[],
        &["-w", "json", "watch", "-i", "ignored"],
        CloseStdin,
    )
    .await;
    for name in ["watch_interactive_eof", "watch_interactive_unterminated"] {
        c.session(name, &[], &["watch", "-i"], CloseStdin).await;
    }
    for name in [
        "watch_line_unknown_flag",
        "watch_line_unknown_shorthand",
        "watch_line_bad_rev",
        "watch_line_rev_missing",
        "watch_line_bad_bool",
        "watch_line_bad_interactive",
        "watch_line_separator_last",
        "watch_line_no_key",
        "watch_line_help",
        "watch_line_bad_flag_syntax",
        "watch_line_rev_bases",
    ] {
        c.session(name, &[], &["watch", "-i"], CloseStdin).await;
    }

    let echo_env = "echo \"[$ETCD_WATCH_REVISION] [$ETCD_WATCH_EVENT_TYPE] [$ETCD_WATCH_KEY] [$ETCD_WATCH_VALUE]\"";
    c.session(
        "watch_exec",
        &[],
        &["watch", "e", "--", "sh", "-c", echo_env],
        Terminate,
    )
    .await;
    c.session(
        "watch_exec_fails",
        &[],
        &["watch", "e", "--", "sh", "-c", "echo ran; exit 3"],
        CloseStdin,
    )
    .await;
    c.session(
        "watch_exec_not_found",
        &[],
        &["watch", "e", "--", "nonexistent-command-x"],
        CloseStdin,
    )
    .await;
    c.session(
        "watch_separator_last",
        &[],
        &["watch", "foo", "--"],
        CloseStdin,
    )
    .await;
    c.session("watch_separator_only", &[], &["watch", "--"], CloseStdin)
        .await;
    c.session(
        "watch_separator_no_key",
        &[],
        &["watch", "--", "echo", "hi"],
        CloseStdin,
    )
    .await;
    c.session(
        "watch_extra_args",
        &[],
        &["watch", "x", "y", "z"],
        Terminate,
    )
    .await;
    c.session(
        "watch_env_key",
        &[
            ("ETCDCTL_WATCH_KEY", "x"),
            ("ETCDCTL_WATCH_RANGE_END", "xb"),
        ],
        &["watch"],
        Terminate,
    )
    .await;
    c.session(
        "watch_env_key_conflict",
        &[("ETCDCTL_WATCH_KEY", "x")],
        &["watch", "x"],
        CloseStdin,
    )
    .await;
    c.session(
        "watch_env_range_without_key",
        &[("ETCDCTL_WATCH_RANGE_END", "y")],
        &["watch", "-i"],
        CloseStdin,
    )
    .await;
    c.session(
        "watch_env_key_interactive",
        &[("ETCDCTL_WATCH_KEY", "x")],
        &["watch", "-i"],
        CloseStdin,
    )
    .await;
    daemon.shutdown().await;
}

/// In-process, with every line in `stdin` already: rejected lines are
/// collected into stderr, in order, before the error that ends it.
#[tokio::test]
async fn watch_interactive_reads_a_stdin_that_is_all_there() {
    let (daemon, c, _dir) = start().await;
    let mut all: Vec<OsString> = vec!["--endpoints".into(), c.endpoint.clone().into()];
    all.extend(["watch", "-i"].map(OsString::from));
    let mut input: &[u8] = b"bogus\nwatch\nwatch --bogus a\nwatch b\n";
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
    assert_eq!(
        output.stderr_text(),
        "Invalid command bogus (only support watch)\n\
         Invalid command watch (command type or key is not provided)\n\
         Error: unknown flag: --bogus\n"
    );
    assert_eq!(output.exit_code, 128);
    assert!(prompts.is_empty());
    daemon.shutdown().await;
}
