//! The operator's runbook, end to end, with real `keel` and `keelctl`
//! processes on 127.0.0.1:
//!
//! 1. bootstrap three members, each configured by an environment file made
//!    from the sample `contrib/systemd/keel.env`, each telling systemd
//!    `READY=1` through `NOTIFY_SOCKET`;
//! 2. check them with `member list` and `endpoint status|health -w table`;
//! 3. put, get and delete keys, also by prefix;
//! 4. replace a failed member: kill it, `member remove`, wipe its data dir,
//!    `member add` it back and start it with the environment block that
//!    `member add` printed (`KEEL_INITIAL_CLUSTER_STATE="existing"`).
//!
//! Every process the test starts is stopped by its PID.

mod common;

use common::free_ports;
use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SAMPLE_ENV: &str = include_str!("../contrib/systemd/keel.env");
const NAMES: [&str; 3] = ["infra1", "infra2", "infra3"];

/// Child processes, killed by PID when dropped, whatever happens.
#[derive(Default)]
struct Processes {
    children: BTreeMap<String, Child>,
}

impl Processes {
    fn kill(&mut self, name: &str) {
        if let Some(mut child) = self.children.remove(name) {
            child.kill().unwrap(); // SIGKILL: the member fails
            child.wait().unwrap();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Runbook {
    dir: PathBuf,
    client_ports: Vec<u16>,
    peer_ports: Vec<u16>,
    notify: UnixDatagram,
    notify_path: PathBuf,
    processes: Processes,
}

/// What one keelctl run printed.
#[derive(Debug)]
struct Printed {
    stdout: String,
    stderr: String,
    code: i32,
}

impl Runbook {
    fn client_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.client_ports[i])
    }

    fn peer_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.peer_ports[i])
    }

    fn endpoints(&self, members: &[usize]) -> String {
        members
            .iter()
            .map(|&i| format!("127.0.0.1:{}", self.client_ports[i]))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The sample environment file, rewritten for member `i` on 127.0.0.1
    /// (as an operator edits it per host), with fast elections for a test.
    fn env_file(&self, i: usize) -> String {
        let cluster: Vec<String> = (0..3)
            .map(|j| format!("{}={}", NAMES[j], self.peer_url(j)))
            .collect();
        let mut out = String::new();
        for line in SAMPLE_ENV.lines() {
            let line = match line.split_once('=') {
                Some(("KEEL_NAME", _)) => format!("KEEL_NAME={}", NAMES[i]),
                Some(("KEEL_DATA_DIR", _)) => {
                    format!("KEEL_DATA_DIR={}", self.data_dir(i).display())
                }
                Some(("KEEL_LISTEN_PEER_URLS" | "KEEL_INITIAL_ADVERTISE_PEER_URLS", _)) => {
                    format!("{}={}", line.split('=').next().unwrap(), self.peer_url(i))
                }
                Some(("KEEL_LISTEN_CLIENT_URLS" | "KEEL_ADVERTISE_CLIENT_URLS", _)) => {
                    format!("{}={}", line.split('=').next().unwrap(), self.client_url(i))
                }
                Some(("KEEL_INITIAL_CLUSTER", _)) => {
                    format!("KEEL_INITIAL_CLUSTER={}", cluster.join(","))
                }
                Some(("# KEEL_HEARTBEAT_INTERVAL", _)) => "KEEL_HEARTBEAT_INTERVAL=50".into(),
                Some(("# KEEL_ELECTION_TIMEOUT", _)) => "KEEL_ELECTION_TIMEOUT=500".into(),
                _ => line.to_string(),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.join(NAMES[i])
    }

    /// Starts member `i` as systemd would: the environment file's variables
    /// and nothing else, plus `NOTIFY_SOCKET`.
    fn start(&mut self, i: usize, env_file: &str) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
        command
            .env_clear()
            .env("NOTIFY_SOCKET", &self.notify_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.join(format!("{}.log", NAMES[i]))).unwrap(),
            ));
        for (key, value) in parse_env_file(env_file) {
            command.env(key, value);
        }
        let child = command.spawn().expect("start keel");
        self.processes.children.insert(NAMES[i].to_string(), child);
    }

    /// Waits for `count` `READY=1` notifications.
    fn wait_ready(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ready = 0;
        let mut buffer = [0u8; 512];
        while ready < count {
            assert!(
                Instant::now() < deadline,
                "only {ready} of {count} members sent READY=1"
            );
            if let Ok(n) = self.notify.recv(&mut buffer) {
                if String::from_utf8_lossy(&buffer[..n])
                    .lines()
                    .any(|l| l == "READY=1")
                {
                    ready += 1;
                }
            }
        }
    }

    fn ctl(&self, args: &[&str]) -> Printed {
        let output = Command::new(env!("CARGO_BIN_EXE_keelctl"))
            .args(args)
            .env_remove("KEELCTL_ENDPOINTS")
            .stdin(Stdio::null())
            .output()
            .expect("run keelctl");
        Printed {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }

    /// Runs keelctl until it exits 0 and `accept` likes its output.
    fn ctl_until(&self, args: &[&str], accept: impl Fn(&Printed) -> bool) -> Printed {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let printed = self.ctl(args);
            if printed.code == 0 && accept(&printed) {
                return printed;
            }
            assert!(
                Instant::now() < deadline,
                "keelctl {args:?} kept printing {printed:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Member ids by name, from `member list -w json`.
    fn member_ids(&self, endpoints: &str) -> BTreeMap<String, u64> {
        let printed = self.ctl(&["--endpoints", endpoints, "-w", "json", "member", "list"]);
        assert_eq!(printed.code, 0, "{printed:?}");
        let json: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
        json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or("").to_string(),
                    m["ID"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

/// `KEY=VALUE` lines of an environment file (comments and blanks skipped,
/// one pair of double quotes removed), as systemd reads `EnvironmentFile`.
fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// A row of a `-w table` output, cells trimmed.
fn cells(line: &str) -> Vec<String> {
    line.trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_string())
        .collect()
}

fn table_rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(1)
        .map(cells)
        .collect()
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/etcdctl")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_three_member_runbook_works_with_keelctl() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(6);
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut book = Runbook {
        dir: dir.path().to_path_buf(),
        client_ports: ports[..3].to_vec(),
        peer_ports: ports[3..].to_vec(),
        notify,
        notify_path,
        processes: Processes::default(),
    };

    // 1. Bootstrap.
    for i in 0..3 {
        let env = book.env_file(i);
        book.start(i, &env);
    }
    book.wait_ready(3);
    let all = book.endpoints(&[0, 1, 2]);
    book.ctl_until(&["--endpoints", &all, "endpoint", "health"], |_| true);

    // 2. member list, endpoint status and health.
    let ids = book.member_ids(&all);
    assert_eq!(ids.keys().cloned().collect::<Vec<_>>(), NAMES.to_vec());
    let mut expected: Vec<(u64, String)> = (0..3)
        .map(|i| {
            let id = ids[NAMES[i]];
            (
                id,
                format!(
                    "{id:x}, started, {}, {}, {}, false\n",
                    NAMES[i],
                    book.peer_url(i),
                    book.client_url(i)
                ),
            )
        })
        .collect();
    expected.sort(); // etcd lists members by id
    let list = book.ctl(&["--endpoints", &all, "member", "list"]);
    assert_eq!(
        list.stdout,
        expected
            .iter()
            .map(|(_, line)| line.as_str())
            .collect::<String>()
    );
    assert_eq!((list.code, list.stderr.as_str()), (0, ""));

    let table = book.ctl(&["--endpoints", &all, "-w", "table", "member", "list"]);
    let etcd_table = fixture("member_list_table.out");
    assert_eq!(
        table.stdout.lines().nth(1).map(cells),
        etcd_table.lines().nth(1).map(cells)
    );
    assert_eq!(table_rows(&table.stdout).len(), 3);

    let status = book.ctl(&["--endpoints", &all, "-w", "table", "endpoint", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let etcd_status = fixture("endpoint_status_table.out");
    assert_eq!(
        status.stdout.lines().nth(1),
        etcd_status.lines().nth(1),
        "the header line is etcdctl's"
    );
    let rows = table_rows(&status.stdout);
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], format!("127.0.0.1:{}", book.client_ports[i]));
        assert_eq!(row[1], format!("{:x}", ids[NAMES[i]]));
        assert_eq!(row[5], "false", "no learners");
        assert_eq!(row[6], rows[0][6], "one raft term");
    }
    assert_eq!(
        rows.iter().filter(|row| row[4] == "true").count(),
        1,
        "one leader"
    );

    let health = book.ctl(&["--endpoints", &all, "-w", "table", "endpoint", "health"]);
    assert_eq!(health.code, 0, "{health:?}");
    let rows = table_rows(&health.stdout);
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|row| row[1] == "true" && row[3].is_empty()),
        "{rows:?}"
    );

    // 3. Keys: put, get, delete, also by prefix, through any member.
    let on: Vec<String> = (0..3).map(|i| book.endpoints(&[i])).collect();
    assert_eq!(
        book.ctl(&["--endpoints", &on[0], "put", "foo", "bar"])
            .stdout,
        "OK\n"
    );
    assert_eq!(
        book.ctl(&["--endpoints", &on[1], "put", "foo/a", "1"])
            .stdout,
        "OK\n"
    );
    assert_eq!(
        book.ctl(&["--endpoints", &on[2], "put", "foo/b", "2"])
            .stdout,
        "OK\n"
    );
    assert_eq!(
        book.ctl(&["--endpoints", &on[2], "put", "kept", "yes"])
            .stdout,
        "OK\n"
    );
    let get = book.ctl(&["--endpoints", &on[1], "get", "--prefix", "foo"]);
    assert_eq!(
        (get.stdout.as_str(), get.code),
        ("foo\nbar\nfoo/a\n1\nfoo/b\n2\n", 0)
    );
    assert_eq!(
        book.ctl(&["--endpoints", &on[0], "del", "--prefix", "foo/"])
            .stdout,
        "2\n"
    );
    assert_eq!(
        book.ctl(&["--endpoints", &all, "get", "--prefix", "foo"])
            .stdout,
        "foo\nbar\n"
    );
    assert_eq!(book.ctl(&["--endpoints", &all, "del", "foo"]).stdout, "1\n");
    let gone = book.ctl(&["--endpoints", &all, "get", "foo"]);
    assert_eq!((gone.stdout.as_str(), gone.code), ("", 0));

    // 4. infra3 fails; replace it.
    book.processes.kill(NAMES[2]);
    let survivors = book.endpoints(&[0, 1]);
    let cluster_id = {
        let printed = book.ctl(&["--endpoints", &survivors, "-w", "json", "member", "list"]);
        let json: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
        json["header"]["cluster_id"].as_u64().unwrap()
    };
    let old_id = ids[NAMES[2]];
    let removed = book.ctl(&[
        "--endpoints",
        &survivors,
        "member",
        "remove",
        &format!("{old_id:x}"),
    ]);
    assert_eq!(
        (removed.stdout.as_str(), removed.code),
        (
            format!("Member {old_id:16x} removed from cluster {cluster_id:16x}\n").as_str(),
            0
        ),
        "{removed:?}"
    );
    assert_eq!(book.member_ids(&survivors).len(), 2);
    std::fs::remove_dir_all(book.data_dir(2)).unwrap();

    let peer_urls = format!("--peer-urls={}", book.peer_url(2));
    let added = book.ctl(&[
        "--endpoints",
        &survivors,
        "member",
        "add",
        NAMES[2],
        &peer_urls,
    ]);
    assert_eq!(added.code, 0, "{added:?}");
    let first_line = added.stdout.lines().next().unwrap_or("");
    let new_id = u64::from_str_radix(
        first_line
            .strip_prefix("Member ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or(""),
        16,
    )
    .unwrap();
    assert_ne!(new_id, old_id);
    let mut initial: Vec<(u64, String)> = vec![
        (ids[NAMES[0]], format!("{}={}", NAMES[0], book.peer_url(0))),
        (ids[NAMES[1]], format!("{}={}", NAMES[1], book.peer_url(1))),
        (new_id, format!("{}={}", NAMES[2], book.peer_url(2))),
    ];
    initial.sort();
    let initial: Vec<String> = initial.into_iter().map(|(_, entry)| entry).collect();
    assert_eq!(
        added.stdout,
        format!(
            "Member {new_id:16x} added to cluster {cluster_id:16x}\n\n\
             KEEL_NAME=\"{}\"\n\
             KEEL_INITIAL_CLUSTER=\"{}\"\n\
             KEEL_INITIAL_ADVERTISE_PEER_URLS=\"{}\"\n\
             KEEL_INITIAL_CLUSTER_STATE=\"existing\"\n",
            NAMES[2],
            initial.join(","),
            book.peer_url(2)
        )
    );
    let unstarted = book.ctl(&["--endpoints", &survivors, "member", "list"]);
    assert!(
        unstarted.stdout.contains(&format!(
            "{new_id:x}, unstarted, , {}, , false\n",
            book.peer_url(2)
        )),
        "{unstarted:?}"
    );

    // Start it with the printed block on top of its environment file.
    let env = format!("{}{}", book.env_file(2), added.stdout);
    book.start(2, &env);
    book.wait_ready(1);
    book.ctl_until(&["--endpoints", &all, "member", "list"], |printed| {
        printed
            .stdout
            .lines()
            .filter(|l| l.contains(", started, "))
            .count()
            == 3
    });
    let health = book.ctl_until(
        &["--endpoints", &all, "-w", "table", "endpoint", "health"],
        |_| true,
    );
    assert!(
        table_rows(&health.stdout)
            .iter()
            .all(|row| row[1] == "true")
    );
    // The new member has the data written before it joined.
    book.ctl_until(
        &["--endpoints", &on[2], "get", "--consistency=s", "kept"],
        |printed| printed.stdout == "kept\nyes\n",
    );
    let ids = book.member_ids(&all);
    assert_eq!(ids.get(NAMES[2]), Some(&new_id));
}
