//! `keelctl snapshot save|status|restore` replayed against etcdctl 3.4's
//! captured output (`fixtures/etcdctl/snapshot/`, from `capture.sh`
//! there): every case of the capture, run in the same order with the same
//! arguments against a `keel` process, prints what etcdctl printed and
//! exits as etcdctl exited. Values that differ by nature (the hash, the key
//! count and the size of a Keel state versus a bbolt file, the bytes of a
//! sha256) are masked; the printers are checked byte for byte with etcd's
//! values in `output::snapshot`'s unit test.

mod common;

use common::etcdctl::{captured_command_in, captured_names_in, expected_exit_in, fixture_text};
use common::free_ports;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const INDEX: &str = "snapshot/index.txt";
/// The member the capture ran against.
const ETCD_ENDPOINT: &str = "127.0.0.1:23791";

struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stderr without zap's JSON log lines (etcdctl's and keelctl's differ in
/// fields and timestamps; the capture dropped them too).
fn without_logs(stderr: &str) -> String {
    stderr
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("{\"level\":"))
        .collect()
}

/// Hex and decimal runs as `N`, runs of spaces and dashes squeezed: what is
/// left is the output's shape.
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
            continue;
        }
        in_number = false;
        if (c == ' ' || c == '-') && out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn keelctl_snapshot_prints_what_etcdctl_printed() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let endpoint = format!("127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let _member = Member(
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["--name", "s1", "--data-dir", "keel-data"])
            .args(["--listen-client-urls", &format!("http://{endpoint}")])
            .args(["--advertise-client-urls", &format!("http://{endpoint}")])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("s1={peer}")])
            .env_remove("KEEL_NAME")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let keelctl = |args: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_keelctl"))
            .args(args)
            .env_remove("KEELCTL_ENDPOINTS")
            .env_remove("ETCDCTL_ENDPOINTS")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let put = ["--endpoints", &endpoint, "put", "a", "1"].map(String::from);
    let mut served = false;
    for _ in 0..100 {
        if keelctl(&put).status.success() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "keel never served");

    let names = captured_names_in(INDEX);
    assert!(names.len() >= 18, "{names:?}");
    for name in names {
        let command = captured_command_in(INDEX, &name);
        let args: Vec<String> = command
            .split(' ')
            .skip(1)
            .map(|arg| arg.replace(ETCD_ENDPOINT, &endpoint))
            .collect();
        // The files capture.sh made between cases.
        let saved = || std::fs::read(dir.path().join("s.db")).unwrap();
        if name == "restore_torn" {
            std::fs::write(dir.path().join("torn.db"), &saved()[..1000]).unwrap();
        }
        if name == "restore_altered" {
            let mut altered = saved();
            altered[..512].fill(0);
            std::fs::write(dir.path().join("altered.db"), altered).unwrap();
        }
        let output = keelctl(&args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            without_logs(&String::from_utf8_lossy(&output.stderr)),
        );
        let (mut expected_out, mut expected_err) = (
            fixture_text(&format!("snapshot/{name}"), "out"),
            fixture_text(&format!("snapshot/{name}"), "err").replace(ETCD_ENDPOINT, &endpoint),
        );
        let (mut got_out, mut got_err) = (stdout.clone(), stderr.clone());
        if name.starts_with("status_") || name == "restore_altered" {
            (expected_out, expected_err) = (masked(&expected_out), masked(&expected_err));
            (got_out, got_err) = (masked(&got_out), masked(&got_err));
        }
        assert_eq!(
            (got_out, got_err, output.status.code()),
            (
                expected_out,
                expected_err,
                Some(expected_exit_in(INDEX, &name))
            ),
            "{name}: keelctl {args:?} printed {stdout:?} / {stderr:?}"
        );
    }
    // The restore that worked made a member's data directory; the failed
    // ones left nothing.
    assert!(dir.path().join("r1/db").exists());
    for failed in ["r-missing", "r-torn", "r-altered", "r2"] {
        assert!(!dir.path().join(failed).exists(), "{failed}");
    }
}
