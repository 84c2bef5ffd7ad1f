//! The real `etcdctl` 3.4 (Debian's etcd-client, `ETCDCTL_API=3`) against a
//! three-member Keel cluster of real `keel` processes on 127.0.0.1, once
//! with plain client URLs and once with TLS on the client port: every case
//! of `fixtures/etcdctl/capture-cluster.sh` — which ran the same commands
//! against a three-member etcd 3.4.23 cluster set up the same way — is run
//! again here, and etcdctl's stdout, stderr (without zap's warning lines)
//! and exit status must equal what it printed against etcd, once the values
//! that differ by nature are normalised. Each such value has a named rule
//! below (`Rules`); nothing else is ignored, and no case is skipped: the
//! commands run here must be the ones the capture's index recorded, and
//! every captured case must be replayed. Cases are compared one by one and
//! every difference is reported at the end, in one assertion message, with
//! the command, what etcd made etcdctl print and what Keel made it print.
//!
//! etcdctl is a separate binary: when it is not on `PATH` the tests print
//! "skipped: etcdctl not installed" and pass. CI installs Debian's
//! etcd-client, so in CI they always run. An etcdctl other than 3.4 fails
//! the tests (the fixtures are 3.4.23's).
//!
//! Every process started here (three `keel` members per test, etcdctl runs
//! left in the background) is stopped by its PID, also on failure.

mod common;

use common::etcdctl::{
    blank_lease_keys, blank_number, blank_took, captured_command_in, captured_names_in,
    collapse_repeated_lines, etcdctl_on_path, expected_exit_in, fixture_text, fixtures,
    number_after, without_zap_warnings,
};
use common::free_ports;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The version etcd 3.4.23 reports in `endpoint status`.
const ETCD_VERSION: &str = "3.4.23";
/// Before the first directive of a watch session: etcdctl has dialed and
/// opened its watch (the capture waited 0.5 s; the output does not depend
/// on the wait).
const WATCH_START: Duration = Duration::from_millis(1000);
/// Between two directives of a watch session (the capture: 0.3 s).
const WATCH_STEP: Duration = Duration::from_millis(500);
/// How long a background etcdctl may take to end once told to.
const FINISH_WITHIN: Duration = Duration::from_secs(15);

#[test]
fn etcdctl_against_three_keel_members_prints_what_it_printed_against_etcd() {
    if let Some(etcdctl) = etcdctl_or_skip() {
        replay(Mode::Plain, etcdctl);
    }
}

#[test]
fn etcdctl_over_tls_against_three_keel_members_prints_what_it_printed_against_etcd() {
    if let Some(etcdctl) = etcdctl_or_skip() {
        replay(Mode::Tls, etcdctl);
    }
}

/// etcdctl 3.4 from `PATH`, or `None` (and a line saying so) when it is not
/// installed.
fn etcdctl_or_skip() -> Option<PathBuf> {
    let Some(etcdctl) = etcdctl_on_path() else {
        println!("skipped: etcdctl not installed (Debian's etcd-client provides it)");
        return None;
    };
    let version = Command::new(&etcdctl)
        .env("ETCDCTL_API", "3")
        .arg("version")
        .output()
        .expect("run etcdctl version");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with("etcdctl version: 3.4."),
        "the fixtures are etcdctl 3.4.23's; {} is {version:?}",
        etcdctl.display()
    );
    Some(etcdctl)
}

/// Plain client URLs or TLS on the client port (peers are plain in both,
/// as in the capture).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Plain,
    Tls,
}

impl Mode {
    /// Where capture-cluster.sh wrote this mode's fixtures.
    fn fixtures(self) -> &'static str {
        match self {
            Mode::Plain => "cluster/plain",
            Mode::Tls => "cluster/tls",
        }
    }

    /// How etcdctl is given an endpoint (as in the capture).
    fn endpoint(self, port: u16) -> String {
        match self {
            Mode::Plain => format!("127.0.0.1:{port}"),
            Mode::Tls => format!("https://127.0.0.1:{port}"),
        }
    }

    /// A member's client URL.
    fn client_url(self, port: u16) -> String {
        match self {
            Mode::Plain => format!("http://127.0.0.1:{port}"),
            Mode::Tls => format!("https://127.0.0.1:{port}"),
        }
    }
}

/// A process started here; killed (by its PID) when dropped, unless it has
/// been waited for.
struct Started(Option<Child>);

impl Started {
    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A CA and the certificate (for 127.0.0.1 and localhost, for serving and
/// as a client) it signed, as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path) -> Pki {
    let dir = dir.join("pki");
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "etcdctl_compat CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "keel");
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    // The names capture-cluster.sh gave its files: the one case that names
    // them on the command line reads the same once directories are dropped.
    let pki = Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

/// What one etcdctl run printed, and how it ended (128 + N for signal N,
/// as a shell reports it).
struct Printed {
    stdout: String,
    stderr: String,
    exit: i32,
}

impl Printed {
    fn from_output(output: std::process::Output) -> Printed {
        Printed {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: without_zap_warnings(&String::from_utf8_lossy(&output.stderr)),
            exit: exit_code(output.status),
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(-1)
}

/// Three `keel` members started as capture-cluster.sh started etcd's:
/// c1, c2, c3, one initial cluster, token `capture-cluster`, plain peers.
struct Cluster {
    /// First, so that they are stopped before their directory goes.
    members: Vec<Started>,
    mode: Mode,
    dir: tempfile::TempDir,
    etcdctl: PathBuf,
    pki: Option<Pki>,
    /// Client and peer ports of c1, c2, c3.
    client: [u16; 3],
    peer: [u16; 3],
    /// An endpoint nobody serves, then the peer ports named in member add
    /// and update (c4, c4 updated, c5), which nobody listens on either.
    spare: [u16; 4],
}

impl Cluster {
    fn start(mode: Mode, etcdctl: PathBuf) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(10);
        let pki = (mode == Mode::Tls).then(|| make_pki(dir.path()));
        let mut cluster = Cluster {
            mode,
            etcdctl,
            pki,
            client: [ports[0], ports[1], ports[2]],
            peer: [ports[3], ports[4], ports[5]],
            spare: [ports[6], ports[7], ports[8], ports[9]],
            members: Vec::new(),
            dir,
        };
        let initial: Vec<String> = (0..3)
            .map(|i| format!("c{}=http://127.0.0.1:{}", i + 1, cluster.peer[i]))
            .collect();
        for i in 0..3 {
            let name = format!("c{}", i + 1);
            let client_url = mode.client_url(cluster.client[i]);
            let peer_url = format!("http://127.0.0.1:{}", cluster.peer[i]);
            let log =
                std::fs::File::create(cluster.dir.path().join(format!("{name}.log"))).unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
            command
                .env_clear()
                .args(["--name", &name])
                .arg("--data-dir")
                .arg(cluster.dir.path().join(&name))
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "capture-cluster"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log));
            if let Some(pki) = &cluster.pki {
                command
                    .arg("--cert-file")
                    .arg(&pki.cert)
                    .arg("--key-file")
                    .arg(&pki.key);
            }
            cluster
                .members
                .push(Started(Some(command.spawn().expect("start keel"))));
        }
        cluster
    }

    /// All three client endpoints, as `--endpoints` takes them.
    fn all_endpoints(&self) -> String {
        self.client
            .iter()
            .map(|&port| self.mode.endpoint(port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// etcdctl with `ETCDCTL_API=3` (and `ETCDCTL_CACERT` with TLS unless
    /// `with_ca` is false) and no other `ETCDCTL_*` variable from this
    /// process's environment.
    fn etcdctl_command(&self, with_ca: bool) -> Command {
        let mut command = Command::new(&self.etcdctl);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ETCDCTL_") {
                command.env_remove(name);
            }
        }
        command.env("ETCDCTL_API", "3");
        if let (true, Some(pki)) = (with_ca, &self.pki) {
            command.env("ETCDCTL_CACERT", &pki.ca);
        }
        command
    }

    /// Runs etcdctl to its end, `stdin` as its standard input.
    fn etcdctl(&self, args: &[String], stdin: &[u8], with_ca: bool) -> Printed {
        let mut child = self
            .etcdctl_command(with_ca)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run etcdctl");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin);
        }
        Printed::from_output(child.wait_with_output().unwrap())
    }

    /// The last lines each member logged (for a failure's message).
    fn log_tails(&self) -> String {
        (1..=3)
            .map(|i| {
                let log = std::fs::read_to_string(self.dir.path().join(format!("c{i}.log")))
                    .unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                format!(
                    "--- c{i}.log (end) ---\n{}\n",
                    lines[lines.len().saturating_sub(25)..].join("\n")
                )
            })
            .collect()
    }

    /// Waits until every member answers `endpoint health`.
    fn wait_healthy(&self) {
        let args = vec![
            "--endpoints".to_string(),
            self.all_endpoints(),
            "endpoint".to_string(),
            "health".to_string(),
        ];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let printed = self.etcdctl(&args, b"", true);
            if printed.exit == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the {:?} Keel cluster did not become healthy: {}{}",
                self.mode,
                printed.stdout,
                printed.stderr
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// etcdctl left running while other commands run (lock, elect, keep-alive,
/// watch): its output goes to files, it is told to stop by signal.
struct Background {
    name: String,
    args: Vec<String>,
    process: Started,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// The normalisation rules that apply to a case: each value etcd and Keel
/// print differently by nature, why, and what is still checked.
#[derive(Default)]
struct Rules {
    /// Always: member, cluster and lease ids and the ports are Keel's own;
    /// they are mapped to the ones etcd had (capture-cluster.sh's vars.txt
    /// names each), by the position they hold (member c2 is c2, lease A is
    /// the first grant). Always: "took" durations are `T`; tables are
    /// compared cell by cell, trimmed (etcdctl sizes its columns to the
    /// values, which differ in width: ids, durations); raft terms are `N`
    /// (how many elections it took before c1 led differs from run to run on
    /// either side; every status and header field else is compared).
    ///
    /// BALANCED: with several `--endpoints`, clientv3's balancer picks which
    /// member answers; the header's `member_id` (`"MemberID"`) is `N`.
    balanced: bool,
    /// STATUS (`endpoint status`): the version is the server's own (Keel
    /// reports its version where etcd reports 3.4.23: mapped to etcd's);
    /// db sizes and raft indexes depend on the storage engine and on which
    /// internal entries each raft log holds: `N`. Leader, learner, ids,
    /// revision and errors are compared.
    status: bool,
    /// HASH (`endpoint hashkv`): etcd hashes its bolt encoding of the
    /// history, Keel its own; the hash is `N`, and every member must report
    /// the same one (checked on Keel's side).
    hash: bool,
    /// BY ID: rows that list members come in member-id order on both sides
    /// (member list, member add's `ETCD_INITIAL_CLUSTER`, the `members` of
    /// JSON answers, `endpoint ... --cluster`); the ids differ, so rows are
    /// compared as sorted sets, and Keel's member list is checked to be in
    /// its own id order. HEALTH: etcdctl prints `endpoint health` results
    /// as its concurrent checks finish: sorted too.
    unordered: bool,
    /// TTL: the remaining TTL is `N`; Keel's must be what etcd prints a
    /// second or less after the grant: etcd truncates the time left, so
    /// `granted - 1` (a loaded machine: `granted - 3` at worst).
    ttl: bool,
    /// REPEATS: how many renewals a keep-alive printed before its lease was
    /// revoked depends on timing; repeated lines are collapsed.
    repeats: bool,
    /// LOCK KEYS: lock and election keys end in the session's lease id,
    /// granted by etcdctl itself and never printed elsewhere: `ID`.
    lock_keys: bool,
    /// LEARNER UPDATE: etcd 3.4's MemberUpdate drops the learner flag of the
    /// member it updates (etcd-io/etcd#21694, fixed by #21719 and its 3.5
    /// and 3.6 backports): its answer lists the learner without
    /// `"isLearner":true`. Keel keeps the flag; the expected answer is the
    /// fixed etcd's.
    learner_update: bool,
}

impl Rules {
    fn for_case(name: &str, args: &[String]) -> Rules {
        let endpoints = args
            .iter()
            .position(|arg| arg == "--endpoints")
            .and_then(|at| args.get(at + 1));
        let several = endpoints.is_some_and(|endpoints| endpoints.contains(','));
        let status = name.contains("endpoint_status");
        let hash = name.contains("endpoint_hashkv");
        Rules {
            balanced: several && !status && !hash,
            status,
            hash,
            unordered: [
                "member_list",
                "member_add",
                "member_update",
                "member_remove",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
                || name.starts_with("endpoint_health")
                || name.ends_with("_cluster")
                || name.ends_with("_cluster_table"),
            ttl: name.starts_with("lease_timetolive"),
            repeats: name == "lease_keep_alive",
            lock_keys: name.starts_with("lock_") || name.starts_with("elect_"),
            learner_update: name == "member_update_learner_json",
        }
    }
}

/// Whose output a text is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Etcd,
    Keel,
}

/// One replay of capture-cluster.sh's session against Keel.
struct Replay {
    cluster: Cluster,
    /// capture-cluster.sh's vars.txt: etcd's value by label.
    etcd: BTreeMap<String, String>,
    /// The values substituted for `{NAME}` in a case's arguments.
    values: BTreeMap<&'static str, String>,
    /// Keel's ids (members, cluster) and etcd's, by position.
    ids: Vec<(u64, u64)>,
    /// Keel's lease ids and etcd's.
    leases: Vec<(i64, i64)>,
    /// Keel's `127.0.0.1:PORT`s and etcd's.
    endpoints: Vec<(String, String)>,
    /// The version Keel reports in `endpoint status`.
    version: String,
    healthy_at: Instant,
    replayed: Vec<String>,
    mismatches: Vec<String>,
}

/// The two replays run one after the other: with six members of a debug
/// build and the etcdctl processes at once, a busy two-core machine was
/// seen to starve a cluster into elections (`etcdserver: no leader`),
/// which is not what is compared here.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn replay(mode: Mode, etcdctl: PathBuf) {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let cluster = Cluster::start(mode, etcdctl);
    cluster.wait_healthy();
    let mut replay = Replay::new(cluster);
    replay.session();
    match mode {
        Mode::Plain => replay.plain_session(),
        Mode::Tls => replay.tls_session(),
    }
    replay.check_all_replayed();
    replay.check_members_alive();
    println!(
        "{mode:?}: {} cases compared with etcd 3.4.23's in {:.1?}",
        replay.replayed.len(),
        started.elapsed()
    );
    let mismatches = std::mem::take(&mut replay.mismatches);
    assert!(
        mismatches.is_empty(),
        "{mode:?}: {} of {} cases differ from what etcdctl printed against etcd 3.4.23:\n\n{}\n{}",
        mismatches.len(),
        replay.replayed.len(),
        mismatches.join("\n"),
        replay.cluster.log_tails()
    );
}

/// etcd's vars.txt: `LABEL... VALUE` lines.
fn read_vars(mode: Mode) -> BTreeMap<String, String> {
    let path = fixtures().join(mode.fixtures()).join("vars.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .lines()
        .filter_map(|line| {
            let (label, value) = line.rsplit_once(' ')?;
            Some((label.to_string(), value.to_string()))
        })
        .collect()
}

/// The unsigned number right after `marker` (ids above `i64::MAX` too).
fn u64_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn hex(text: &str) -> u64 {
    u64::from_str_radix(text, 16).unwrap_or_else(|_| panic!("not a hex id: {text:?}"))
}

impl Replay {
    fn new(cluster: Cluster) -> Replay {
        let etcd = read_vars(cluster.mode);
        let mode = cluster.mode;
        let mut values = BTreeMap::new();
        values.insert("EP", cluster.all_endpoints());
        for (i, key) in ["E1", "E2", "E3"].into_iter().enumerate() {
            values.insert(key, mode.endpoint(cluster.client[i]));
        }
        values.insert("H1", format!("127.0.0.1:{}", cluster.client[0]));
        values.insert("H2", format!("127.0.0.1:{}", cluster.client[1]));
        values.insert("DEAD", mode.endpoint(cluster.spare[0]));
        values.insert("P2", format!("127.0.0.1:{}", cluster.peer[1]));
        values.insert("P4", format!("127.0.0.1:{}", cluster.spare[1]));
        values.insert("P4U", format!("127.0.0.1:{}", cluster.spare[2]));
        values.insert("P5", format!("127.0.0.1:{}", cluster.spare[3]));
        if let Some(pki) = &cluster.pki {
            values.insert("CERT", pki.cert.display().to_string());
            values.insert("KEY", pki.key.display().to_string());
        }
        let mut endpoints = Vec::new();
        for i in 0..3 {
            let name = format!("c{}", i + 1);
            endpoints.push((
                format!("127.0.0.1:{}", cluster.client[i]),
                etcd[&format!("client {name}")].clone(),
            ));
            endpoints.push((
                format!("127.0.0.1:{}", cluster.peer[i]),
                etcd[&format!("peer {name}")].clone(),
            ));
        }
        for (port, label) in
            cluster
                .spare
                .iter()
                .zip(["dead", "peer c4", "peer c4-updated", "peer c5"])
        {
            endpoints.push((format!("127.0.0.1:{port}"), etcd[label].clone()));
        }
        let mut replay = Replay {
            cluster,
            etcd,
            values,
            ids: Vec::new(),
            leases: Vec::new(),
            endpoints,
            version: String::new(),
            healthy_at: Instant::now(),
            replayed: Vec::new(),
            mismatches: Vec::new(),
        };
        replay.learn_members();
        replay.lead_with_c1();
        replay
    }

    /// Keel's member and cluster ids, mapped to etcd's by name.
    fn learn_members(&mut self) {
        let printed = self.run(&["--endpoints", "{E1}", "-w", "json", "member", "list"]);
        assert_eq!(printed.exit, 0, "member list: {}", printed.stderr);
        let json: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
        let cluster_id = json["header"]["cluster_id"].as_u64().unwrap();
        self.ids.push((cluster_id, hex(&self.etcd["cluster"])));
        for member in json["members"].as_array().unwrap() {
            let name = member["name"].as_str().unwrap();
            let id = member["ID"].as_u64().unwrap();
            let key = match name {
                "c1" => "ID1",
                "c2" => "ID2",
                "c3" => "ID3",
                other => panic!("unexpected member {other}"),
            };
            self.values.insert(key, format!("{id:x}"));
            self.ids
                .push((id, hex(&self.etcd[&format!("member {name}")])));
        }
    }

    /// The capture moved leadership to c1 before its session: so here.
    fn lead_with_c1(&mut self) {
        let c1 = self.values["ID1"].clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let printed = self.run(&["--endpoints", "{E1}", "-w", "json", "endpoint", "status"]);
            if printed.exit == 0 {
                let json: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
                let status = &json[0]["Status"];
                self.version = status["version"].as_str().unwrap_or_default().to_string();
                if status["leader"].as_u64() == Some(hex(&c1)) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "c1 did not become leader");
            let _ = self.run(&["--endpoints", "{EP}", "move-leader", &c1]);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// `template` with each `{NAME}` replaced by its value here.
    fn expand(&self, template: &[&str]) -> Vec<String> {
        template
            .iter()
            .map(|arg| {
                let mut arg = arg.to_string();
                for (name, value) in &self.values {
                    arg = arg.replace(&format!("{{{name}}}"), value);
                }
                assert!(!arg.contains('{'), "no value for {arg:?} yet");
                arg
            })
            .collect()
    }

    /// Runs etcdctl (not a case: setup).
    fn run(&self, template: &[&str]) -> Printed {
        self.cluster.etcdctl(&self.expand(template), b"", true)
    }

    /// A write the session makes between cases; it must succeed.
    fn write(&self, template: &[&str]) {
        let printed = self.run(template);
        assert_eq!(
            printed.exit,
            0,
            "{template:?}: {}\n{}",
            printed.stderr,
            self.cluster.log_tails()
        );
    }

    /// Runs case `name` and compares it with the capture.
    fn case(&mut self, name: &str, template: &[&str]) -> Printed {
        self.case_with(name, template, b"", true)
    }

    fn case_with(&mut self, name: &str, template: &[&str], stdin: &[u8], with_ca: bool) -> Printed {
        let args = self.expand(template);
        let printed = self.cluster.etcdctl(&args, stdin, with_ca);
        self.compare(name, &args, &printed);
        printed
    }

    /// Runs case `name` and lets `learn` read values from its output
    /// (new ids) before it is compared.
    fn case_learning(
        &mut self,
        name: &str,
        template: &[&str],
        learn: impl FnOnce(&mut Replay, &Printed),
    ) {
        let args = self.expand(template);
        let printed = self.cluster.etcdctl(&args, b"", true);
        learn(self, &printed);
        self.compare(name, &args, &printed);
    }

    /// Records Keel's lease `ours` as the one etcd granted as `label`.
    fn map_lease(&mut self, label: &'static str, ours: Option<i64>) {
        let Some(ours) = ours else {
            self.mismatches
                .push(format!("lease {label}: Keel granted no lease id"));
            return;
        };
        let theirs = hex(&self.etcd[&format!("lease {label}")]) as i64;
        self.leases.push((ours, theirs));
        self.values.insert(label, format!("{ours:016x}"));
    }

    /// Records Keel's member `ours` as etcd's member `name` (c4, c5).
    fn map_member(&mut self, key: &'static str, name: &str, ours: Option<u64>) {
        let Some(ours) = ours else {
            self.mismatches
                .push(format!("member {name}: Keel added no member"));
            self.values.insert(key, "0".to_string());
            return;
        };
        self.ids
            .push((ours, hex(&self.etcd[&format!("member {name}")])));
        self.values.insert(key, format!("{ours:x}"));
    }

    fn spawn(&mut self, name: &str, template: &[&str]) -> Background {
        let args = self.expand(template);
        let dir = self.cluster.dir.path();
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = self
            .cluster
            .etcdctl_command(true)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("run etcdctl");
        Background {
            name: name.to_string(),
            args,
            process: Started(Some(child)),
            stdout,
            stderr,
        }
    }

    /// Sends `signal` (if any) to a background etcdctl, waits for it and
    /// compares it with the capture.
    fn finish(&mut self, mut background: Background, signal: Option<&str>) {
        if let Some(signal) = signal {
            signal_process(background.process.pid(), signal);
        }
        let exit = self.wait_for(&mut background);
        let printed = Printed {
            stdout: std::fs::read_to_string(&background.stdout).unwrap_or_default(),
            stderr: without_zap_warnings(
                &std::fs::read_to_string(&background.stderr).unwrap_or_default(),
            ),
            exit,
        };
        let Background { name, args, .. } = background;
        self.compare(&name, &args, &printed);
    }

    fn wait_for(&mut self, background: &mut Background) -> i32 {
        let deadline = Instant::now() + FINISH_WITHIN;
        let child = background.process.0.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                background.process.0 = None;
                return exit_code(status);
            }
            if Instant::now() > deadline {
                self.mismatches.push(format!(
                    "{}: etcdctl did not end within {FINISH_WITHIN:?} (killed)",
                    background.name
                ));
                let _ = child.kill();
                let status = child.wait().unwrap();
                background.process.0 = None;
                return exit_code(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A watch session as capture-cluster.sh ran it: `cluster/NAME.in`,
    /// one directive each step ("< TEXT" to etcdctl's stdin, "= ARGS" a
    /// write beside it), then SIGTERM — or, for `watch -i`, stdin closed.
    fn watch_session(&mut self, name: &str, template: &[&str]) {
        let args = self.expand(template);
        let script = std::fs::read_to_string(fixtures().join(format!("cluster/{name}.in")))
            .unwrap_or_else(|err| panic!("cluster/{name}.in: {err}"));
        let dir = self.cluster.dir.path();
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let mut child = self
            .cluster
            .etcdctl_command(true)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("run etcdctl");
        let mut stdin = child.stdin.take();
        let mut background = Background {
            name: name.to_string(),
            args,
            process: Started(Some(child)),
            stdout,
            stderr,
        };
        std::thread::sleep(WATCH_START);
        for directive in script.lines() {
            let (kind, text) = directive.split_at(1);
            let text = text.strip_prefix(' ').unwrap_or(text);
            match kind {
                "<" => {
                    if let Some(input) = stdin.as_mut() {
                        // Gone if etcdctl has ended.
                        let _ = writeln!(input, "{text}").and_then(|()| input.flush());
                    }
                }
                "=" => {
                    let mut write = vec!["--endpoints", "{EP}"];
                    write.extend(text.split(' '));
                    self.write(&write);
                }
                other => panic!("unknown directive {other:?} in cluster/{name}.in"),
            }
            std::thread::sleep(WATCH_STEP);
        }
        if !background.args.iter().any(|arg| arg == "-i") {
            signal_process(background.process.pid(), "TERM");
        }
        drop(stdin);
        let exit = self.wait_for(&mut background);
        let printed = Printed {
            stdout: std::fs::read_to_string(&background.stdout).unwrap_or_default(),
            stderr: without_zap_warnings(
                &std::fs::read_to_string(&background.stderr).unwrap_or_default(),
            ),
            exit,
        };
        let Background { name, args, .. } = background;
        self.compare(&name, &args, &printed);
    }

    /// Keel's ids and ports replaced by etcd's, in each form etcdctl prints
    /// them: member and cluster ids as `%x` (member list, endpoint status,
    /// move-leader), as `%16x` after `Member ` and `cluster ` (member add,
    /// remove, update pad with spaces); lease ids as `%016x` (and `%x` if
    /// that is shorter); all as decimal (JSON). In two steps, so that no
    /// replacement is replaced again.
    fn as_etcd(&self, text: &str) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for &(ours, theirs) in &self.ids {
            for word in ["Member", "cluster"] {
                pairs.push((
                    format!("{word} {ours:>16x}"),
                    format!("{word} {theirs:>16x}"),
                ));
            }
            pairs.push((format!("{ours:x}"), format!("{theirs:x}")));
            pairs.push((ours.to_string(), theirs.to_string()));
        }
        for &(ours, theirs) in &self.leases {
            pairs.push((format!("{ours:016x}"), format!("{theirs:016x}")));
            if format!("{ours:x}").len() < 16 {
                pairs.push((format!("{ours:x}"), format!("{theirs:x}")));
            }
            pairs.push((ours.to_string(), theirs.to_string()));
        }
        pairs.extend(self.endpoints.iter().cloned());
        pairs.retain(|(ours, theirs)| ours != theirs);
        pairs.sort_by_key(|(ours, _)| std::cmp::Reverse(ours.len()));
        pairs.dedup_by(|a, b| a.0 == b.0);
        let mut text = text.to_string();
        for (i, (ours, _)) in pairs.iter().enumerate() {
            text = replace_whole(&text, ours, &format!("\u{1}{i}\u{1}"));
        }
        for (i, (_, theirs)) in pairs.iter().enumerate() {
            text = text.replace(&format!("\u{1}{i}\u{1}"), theirs);
        }
        text
    }

    /// Compares case `name` (run with `args`) with its capture; a
    /// difference is recorded, not raised.
    fn compare(&mut self, name: &str, args: &[String], printed: &Printed) {
        self.replayed.push(name.to_string());
        let dir = self.cluster.mode.fixtures();
        let index = format!("{dir}/index.txt");
        let captured = captured_command_in(&index, name);
        let ran = self.as_etcd(&format!("etcdctl {}", args.join(" ")));
        if without_directories(&ran) != without_directories(&captured) {
            self.mismatches.push(format!(
                "{name}: the replay ran `{ran}`, the capture `{captured}` \
                 (etcdctl_compat.rs is out of step with capture-cluster.sh)"
            ));
            return;
        }
        let rules = Rules::for_case(name, args);
        let mut problems = Vec::new();
        let fixture = format!("{dir}/{name}");
        let mut report = String::new();
        for (stream, theirs, ours) in [
            (
                "stdout",
                fixture_text(&fixture, "out"),
                printed.stdout.as_str(),
            ),
            (
                "stderr",
                fixture_text(&fixture, "err"),
                printed.stderr.as_str(),
            ),
        ] {
            let expected = self.normalize(name, &rules, &theirs, Side::Etcd, &mut problems);
            let actual = self.normalize(name, &rules, ours, Side::Keel, &mut problems);
            if expected != actual {
                report.push_str(&format!(
                    "  {stream} expected (etcd): {expected:?}\n  {stream} actual (Keel):   {actual:?}\n"
                ));
            }
        }
        let expected_exit = expected_exit_in(&index, name);
        if printed.exit != expected_exit {
            report.push_str(&format!(
                "  exit status expected (etcd): {expected_exit}, actual (Keel): {}\n",
                printed.exit
            ));
        }
        for problem in problems {
            report.push_str(&format!("  {problem}\n"));
        }
        if !report.is_empty() {
            self.mismatches
                .push(format!("{name}: {captured}\n{report}"));
        }
    }

    /// Applies the case's rules to one side's text; what Keel's side must
    /// satisfy besides is added to `problems`.
    fn normalize(
        &self,
        name: &str,
        rules: &Rules,
        text: &str,
        side: Side,
        problems: &mut Vec<String>,
    ) -> String {
        let keel = side == Side::Keel;
        let mut text = if keel {
            self.as_etcd(text)
        } else {
            text.to_string()
        };
        if keel && rules.unordered && is_simple_member_list(name) {
            check_listed_by_id(text.as_str(), &self.ids, problems);
        }
        text = blank_took(&text);
        let mut blank_columns = vec!["TOOK", "RAFT TERM"];
        if rules.status {
            blank_columns.extend(["DB SIZE", "RAFT INDEX", "RAFT APPLIED INDEX"]);
        }
        if rules.hash {
            if keel {
                check_one_hash(&text, problems);
            }
            blank_columns.push("HASH");
        }
        text = canonical_tables(&text, &blank_columns);
        text = blank_numbers(
            &text,
            &["\"raft_term\":", "\"raftTerm\":", "\"RaftTerm\" : "],
        );
        if rules.status {
            if keel && !self.version.is_empty() {
                text = self.etcd_version(&text);
            }
            text = blank_numbers(
                &text,
                &[
                    "\"raftIndex\":",
                    "\"raftAppliedIndex\":",
                    "\"dbSize\":",
                    "\"dbSizeInUse\":",
                    "\"RaftIndex\" : ",
                    "\"RaftAppliedIndex\" : ",
                    "\"DBSize\" : ",
                ],
            );
            // endpoint, id, version, db size, leader, learner, term, index,
            // applied index, errors
            text = blank_fields(&text, 10, &[3, 6, 7, 8]);
        }
        if rules.hash {
            text = blank_numbers(&text, &["\"hash\":"]);
            text = blank_fields(&text, 2, &[1]);
        }
        if rules.balanced {
            text = blank_numbers(&text, &["\"member_id\":", "\"MemberID\" : "]);
        }
        if rules.ttl {
            if keel {
                check_remaining_ttl(&text, problems);
            }
            text = blank_number(&blank_number(&text, "remaining("), "\"ttl\":");
        }
        if rules.repeats {
            text = collapse_repeated_lines(&text);
        }
        if rules.lock_keys {
            text = blank_lease_keys(&text, &["L0/", "L1/", "L2/", "E1/"]);
        }
        if rules.unordered {
            text = sort_rows(&text);
        }
        if rules.learner_update && !keel {
            let updated = format!(
                "\"peerURLs\":[\"http://{}\"]}}",
                self.etcd["peer c4-updated"]
            );
            text = text.replace(&updated, &updated.replace("]}", "],\"isLearner\":true}"));
        }
        text
    }

    /// Keel's version in `endpoint status` output as etcd's.
    fn etcd_version(&self, text: &str) -> String {
        let v = &self.version;
        text.replace(
            &format!("\"version\":\"{v}\""),
            &format!("\"version\":\"{ETCD_VERSION}\""),
        )
        .replace(
            &format!("\"Version\" : \"{v}\""),
            &format!("\"Version\" : \"{ETCD_VERSION}\""),
        )
        .replace(&format!(", {v}, "), &format!(", {ETCD_VERSION}, "))
        .replace(&format!("|{v}|"), &format!("|{ETCD_VERSION}|"))
    }

    /// No member may have exited during the session.
    fn check_members_alive(&mut self) {
        for (i, member) in self.cluster.members.iter_mut().enumerate() {
            if let Some(child) = member.0.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.mismatches
                        .push(format!("keel member c{} exited: {status}", i + 1));
                }
            }
        }
    }

    /// Every case the capture indexed must have been replayed.
    fn check_all_replayed(&mut self) {
        let index = format!("{}/index.txt", self.cluster.mode.fixtures());
        for name in captured_names_in(&index) {
            if !self.replayed.contains(&name) {
                self.mismatches
                    .push(format!("{name}: captured in {index} but not replayed here"));
            }
        }
    }

    /// capture-cluster.sh's `cases`, in its order (revisions follow from it).
    fn session(&mut self) {
        self.key_values();
        self.alarms_and_auth();
        self.leases();
        self.locks_and_elections();
        self.watches();
        // etcd refuses reconfiguration until its members have been
        // connected for 5 s: the capture waited at least 6 s from health.
        while self.healthy_at.elapsed() < Duration::from_secs(6) {
            std::thread::sleep(Duration::from_millis(200));
        }
        self.membership();
        self.leadership();
        self.endpoints();
    }

    fn key_values(&mut self) {
        let ep = ["--endpoints", "{EP}"];
        let with = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = ep.to_vec();
            args.extend_from_slice(rest);
            args
        };
        for (name, rest) in [
            ("put_simple", &["put", "foo", "bar"][..]),
            ("put_json", &["-w", "json", "put", "foo2", "bar2"]),
            ("put_fields", &["-w", "fields", "put", "foo3", "bar3"]),
            ("put_prev_kv", &["put", "--prev-kv", "foo", "bar1"]),
            (
                "put_prev_kv_json",
                &["-w", "json", "put", "--prev-kv", "foo", "bar2"],
            ),
            ("put_ignore_value", &["put", "--ignore-value", "foo"]),
            (
                "put_ignore_lease_missing",
                &["put", "--ignore-lease", "nothere", "v"],
            ),
            (
                "put_lease_not_found",
                &["put", "--lease=1234abcd", "foo", "v"],
            ),
            ("put_empty_key", &["put", "", "v"]),
        ] {
            self.case(name, &with(rest));
        }
        self.case_with(
            "put_value_from_stdin",
            &with(&["put", "sk"]),
            b"line\n",
            true,
        );
        for (name, rest) in [
            ("get_simple", &["get", "foo"][..]),
            ("get_prefix", &["get", "--prefix", "f"]),
            ("get_json", &["-w", "json", "get", "foo"]),
            ("get_fields", &["-w", "fields", "get", "foo"]),
            ("get_prefix_json", &["-w", "json", "get", "--prefix", "f"]),
            ("get_missing_json", &["-w", "json", "get", "nothere"]),
            (
                "get_limit_json",
                &["-w", "json", "get", "--prefix", "--limit", "1", "f"],
            ),
            ("get_keys_only", &["get", "--prefix", "--keys-only", "f"]),
            (
                "get_print_value_only",
                &["get", "--prefix", "--print-value-only", "f"],
            ),
            ("get_hex", &["--hex", "get", "--prefix", "f"]),
            ("get_from_key", &["get", "--from-key", "foo2"]),
            ("get_range", &["get", "foo", "foo3"]),
            (
                "get_sort",
                &[
                    "get",
                    "--prefix",
                    "--sort-by=MODIFY",
                    "--order=DESCEND",
                    "f",
                ],
            ),
            ("get_rev", &["get", "--rev", "2", "foo"]),
            ("get_serializable", &["get", "--consistency=s", "foo"]),
            ("get_future_revision", &["get", "--rev", "1000", "foo"]),
            ("del_missing", &["del", "nothere"]),
            ("del_one", &["del", "foo3"]),
            ("del_prev_kv", &["del", "--prev-kv", "foo2"]),
            (
                "del_prev_kv_json",
                &["-w", "json", "del", "--prev-kv", "sk"],
            ),
        ] {
            self.case(name, &with(rest));
        }
        self.write(&with(&["put", "p/1", "a"]));
        self.write(&with(&["put", "p/2", "b"]));
        self.case("del_prefix", &with(&["del", "--prefix", "p/"]));
        self.write(&with(&["put", "zz1", "a"]));
        self.write(&with(&["put", "zz2", "b"]));
        for (name, rest) in [
            (
                "del_from_key_json",
                &["-w", "json", "del", "--from-key", "zz"][..],
            ),
            ("compaction_simple", &["compaction", "5"]),
            (
                "compaction_json",
                &["-w", "json", "compaction", "--physical", "6"],
            ),
            ("compaction_compacted", &["compaction", "4"]),
            ("compaction_future", &["compaction", "100000"]),
            ("get_compacted", &["get", "--rev", "3", "foo"]),
            ("version", &["version"]),
        ] {
            self.case(name, &with(rest));
        }
        // txn: keys t1=v1, t2=v2 first; the inputs capture.sh wrote.
        self.write(&with(&["put", "t1", "v1"]));
        self.write(&with(&["put", "t2", "v2"]));
        let input = |name: &str| std::fs::read(fixtures().join(format!("{name}.in"))).unwrap();
        for (name, rest, input_name) in [
            ("txn_success", &["txn"][..], "txn_success"),
            ("txn_success_json", &["-w", "json", "txn"], "txn_success"),
            (
                "txn_success_fields",
                &["-w", "fields", "txn"],
                "txn_success",
            ),
            ("txn_interactive", &["txn", "-i"], "txn_success"),
            ("txn_failure", &["txn"], "txn_failure"),
            ("txn_failure_json", &["-w", "json", "txn"], "txn_failure"),
            ("txn_duplicate", &["txn"], "txn_duplicate"),
        ] {
            self.case_with(name, &with(rest), &input(input_name), true);
        }
    }

    fn alarms_and_auth(&mut self) {
        for (name, rest) in [
            ("alarm_list_none", &["alarm", "list"][..]),
            ("alarm_list_none_json", &["-w", "json", "alarm", "list"]),
            ("alarm_disarm_none", &["alarm", "disarm"]),
            ("alarm_disarm_none_json", &["-w", "json", "alarm", "disarm"]),
            // Authentication is off and there are no users or roles.
            ("user_list", &["user", "list"]),
            ("user_list_json", &["-w", "json", "user", "list"]),
            ("role_list", &["role", "list"]),
            ("user_get_missing", &["user", "get", "nobody"]),
            ("role_get_missing", &["role", "get", "nobody"]),
            ("user_delete_missing", &["user", "delete", "nobody"]),
            ("role_delete_missing", &["role", "delete", "nobody"]),
            ("auth_enable_no_root", &["auth", "enable"]),
            ("auth_disable", &["auth", "disable"]),
        ] {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            self.case(name, &args);
        }
    }

    fn leases(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        // A (100 s, key k1) and B (200 s).
        self.case_learning("lease_grant", &ep(&["lease", "grant", "100"]), |r, p| {
            r.map_lease("A", granted_simple(p))
        });
        self.case_learning(
            "lease_grant_json",
            &ep(&["-w", "json", "lease", "grant", "200"]),
            |r, p| r.map_lease("B", number_after(&p.stdout, "\"ID\":")),
        );
        for (name, rest) in [
            ("lease_put", &["put", "--lease={A}", "k1", "v1"][..]),
            ("lease_get_json", &["-w", "json", "get", "k1"]),
            (
                "lease_timetolive_keys",
                &["lease", "timetolive", "--keys", "{A}"],
            ),
            (
                "lease_timetolive_json",
                &["-w", "json", "lease", "timetolive", "--keys", "{A}"],
            ),
            (
                "lease_timetolive_no_keys",
                &["lease", "timetolive", "--keys", "{B}"],
            ),
            ("lease_list", &["lease", "list"]),
            ("lease_list_json", &["-w", "json", "lease", "list"]),
            (
                "lease_keep_alive_once",
                &["lease", "keep-alive", "--once", "{A}"],
            ),
            (
                "lease_keep_alive_once_json",
                &["-w", "json", "lease", "keep-alive", "--once", "{A}"],
            ),
            ("lease_revoke", &["lease", "revoke", "{A}"]),
            ("lease_revoked_get", &["get", "k1"]),
            ("lease_revoke_again", &["lease", "revoke", "{A}"]),
            ("lease_timetolive_revoked", &["lease", "timetolive", "{A}"]),
            (
                "lease_revoke_json",
                &["-w", "json", "lease", "revoke", "{B}"],
            ),
            (
                "lease_keep_alive_once_not_found",
                &["lease", "keep-alive", "--once", "1234"],
            ),
            ("lease_grant_too_large", &["lease", "grant", "9000000001"]),
            ("lease_list_none", &["lease", "list"]),
        ] {
            self.case(name, &ep(rest));
        }
        // The minimum TTL (1 s is raised to 2 s), then expiry.
        self.case_learning("lease_grant_min", &ep(&["lease", "grant", "1"]), |r, p| {
            r.map_lease("C", granted_simple(p))
        });
        std::thread::sleep(Duration::from_millis(3500));
        self.case(
            "lease_timetolive_expired",
            &ep(&["lease", "timetolive", "{C}"]),
        );
        self.case(
            "lease_keep_alive_expired",
            &ep(&["lease", "keep-alive", "{C}"]),
        );
        // keep-alive renews every TTL/3 until the lease is revoked.
        let granted = self.run(&ep(&["lease", "grant", "3"]));
        self.map_lease("D", granted_simple(&granted));
        let keep_alive = self.spawn("lease_keep_alive", &ep(&["lease", "keep-alive", "{D}"]));
        std::thread::sleep(Duration::from_millis(2500));
        self.write(&ep(&["lease", "revoke", "{D}"]));
        self.finish(keep_alive, None);
    }

    fn locks_and_elections(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        let second = Duration::from_secs(1);
        self.case(
            "lock_exec_env",
            &ep(&[
                "lock",
                "L0",
                "--",
                "sh",
                "-c",
                "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"",
            ]),
        );
        self.case(
            "lock_exec_fails",
            &ep(&["lock", "L0", "--", "sh", "-c", "exit 3"]),
        );
        // Two holders of one lock: the second acquires once the first is
        // interrupted (SIGINT releases it).
        let first = self.spawn("lock_first", &ep(&["lock", "L1"]));
        std::thread::sleep(second);
        let waiting = self.spawn("lock_second", &ep(&["lock", "L1"]));
        std::thread::sleep(second);
        self.finish(first, Some("INT"));
        std::thread::sleep(second);
        self.finish(waiting, Some("INT"));
        // A holder whose session lease is revoked: "session expired".
        let holder = self.spawn("lock_session_expired", &ep(&["lock", "--ttl", "3", "L2"]));
        std::thread::sleep(second);
        let key = std::fs::read_to_string(&holder.stdout).unwrap_or_default();
        let lease = key
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("L2/"))
            .unwrap_or("0")
            .to_string();
        let _ = self.run(&["--endpoints", "{EP}", "lease", "revoke", &lease]);
        self.finish(holder, None);
        // Election: an observer, a leader, a second candidate that leads
        // once the first resigns (SIGINT).
        let observer = self.spawn("elect_observe", &ep(&["elect", "-l", "E1"]));
        std::thread::sleep(second);
        let alpha = self.spawn("elect_first", &ep(&["elect", "E1", "alpha"]));
        std::thread::sleep(second);
        let beta = self.spawn("elect_second", &ep(&["elect", "E1", "beta"]));
        std::thread::sleep(second);
        self.finish(alpha, Some("INT"));
        std::thread::sleep(second);
        self.finish(beta, Some("INT"));
        std::thread::sleep(second);
        self.finish(observer, Some("INT"));
    }

    fn watches(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        self.watch_session("watch_prefix", &ep(&["watch", "--prefix", "w/"]));
        self.watch_session(
            "watch_prev_kv_json",
            &ep(&["-w", "json", "watch", "--prev-kv", "w/1"]),
        );
        self.watch_session(
            "watch_history",
            &ep(&["watch", "--rev", "7", "--prefix", "f"]),
        );
        self.watch_session("watch_compacted", &ep(&["watch", "--rev", "2", "foo"]));
        self.watch_session("watch_interactive", &ep(&["watch", "-i"]));
        self.watch_session(
            "watch_exec",
            &ep(&[
                "watch",
                "w/4",
                "--",
                "sh",
                "-c",
                "echo \"$ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE\"",
            ]),
        );
    }

    fn membership(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        for (name, rest) in [
            ("member_list", &["member", "list"][..]),
            ("member_list_json", &["-w", "json", "member", "list"]),
            ("member_list_table", &["-w", "table", "member", "list"]),
            ("member_list_fields", &["-w", "fields", "member", "list"]),
        ] {
            self.case(name, &ep(rest));
        }
        self.case_learning(
            "member_add_learner",
            &ep(&[
                "member",
                "add",
                "c4",
                "--peer-urls=http://{P4}",
                "--learner",
            ]),
            |r, p| {
                let id = p
                    .stdout
                    .strip_prefix("Member ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|id| u64::from_str_radix(id, 16).ok());
                r.map_member("C4", "c4", id)
            },
        );
        let follower = ["--endpoints", "{E2}", "member", "promote", "{C4}"];
        for (name, args) in [
            ("member_list_learner", ep(&["member", "list"])),
            (
                "member_list_learner_json",
                ep(&["-w", "json", "member", "list"]),
            ),
            (
                "member_list_learner_table",
                ep(&["-w", "table", "member", "list"]),
            ),
            (
                "member_update_learner",
                ep(&["member", "update", "{C4}", "--peer-urls=http://{P4U}"]),
            ),
            (
                "member_update_learner_json",
                ep(&[
                    "-w",
                    "json",
                    "member",
                    "update",
                    "{C4}",
                    "--peer-urls=http://{P4U}",
                ]),
            ),
            (
                "member_promote_not_ready",
                ep(&["member", "promote", "{C4}"]),
            ),
            // The same, asked of a follower (c2; c1 leads).
            ("member_promote_not_ready_follower", follower.to_vec()),
            ("member_promote_voter", ep(&["member", "promote", "{ID2}"])),
            ("member_remove_learner", ep(&["member", "remove", "{C4}"])),
            ("member_remove_not_found", ep(&["member", "remove", "{C4}"])),
            (
                "member_update_not_found",
                ep(&["member", "update", "{C4}", "--peer-urls=http://{P5}"]),
            ),
            (
                "member_add_existing_url",
                ep(&["member", "add", "x", "--peer-urls=http://{P2}"]),
            ),
        ] {
            self.case(name, &args);
        }
        self.case_learning(
            "member_add_voter_json",
            &ep(&[
                "-w",
                "json",
                "member",
                "add",
                "c5",
                "--peer-urls=http://{P5}",
            ]),
            |r, p| r.map_member("C5", "c5", u64_after(&p.stdout, "\"member\":{\"ID\":")),
        );
        for (name, rest) in [
            ("member_list_voter_unstarted", &["member", "list"][..]),
            (
                "member_remove_voter_json",
                &["-w", "json", "member", "remove", "{C5}"],
            ),
            ("member_list_after", &["member", "list"]),
        ] {
            self.case(name, &ep(rest));
        }
    }

    fn leadership(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        for (name, rest) in [
            ("move_leader", &["move-leader", "{ID2}"][..]),
            ("endpoint_status_moved", &["endpoint", "status"]),
            (
                "move_leader_back_json",
                &["-w", "json", "move-leader", "{ID1}"],
            ),
            ("move_leader_self", &["move-leader", "{ID1}"]),
            ("move_leader_not_member", &["move-leader", "1234"]),
        ] {
            self.case(name, &ep(rest));
        }
        self.case(
            "move_leader_no_leader_endpoint",
            &["--endpoints", "{E2},{E3}", "move-leader", "{ID3}"],
        );
    }

    fn endpoints(&mut self) {
        let ep = |rest: &[&'static str]| -> Vec<&'static str> {
            let mut args = vec!["--endpoints", "{EP}"];
            args.extend_from_slice(rest);
            args
        };
        for (name, args) in [
            ("endpoint_status", ep(&["endpoint", "status"])),
            (
                "endpoint_status_json",
                ep(&["-w", "json", "endpoint", "status"]),
            ),
            (
                "endpoint_status_table",
                ep(&["-w", "table", "endpoint", "status"]),
            ),
            (
                "endpoint_status_fields",
                ep(&["-w", "fields", "endpoint", "status"]),
            ),
            (
                "endpoint_status_cluster",
                vec!["--endpoints", "{E2}", "endpoint", "status", "--cluster"],
            ),
            (
                "endpoint_status_cluster_table",
                vec![
                    "--endpoints",
                    "{E2}",
                    "-w",
                    "table",
                    "endpoint",
                    "status",
                    "--cluster",
                ],
            ),
            ("endpoint_health", ep(&["endpoint", "health"])),
            (
                "endpoint_health_json",
                ep(&["-w", "json", "endpoint", "health"]),
            ),
            (
                "endpoint_health_table",
                ep(&["-w", "table", "endpoint", "health"]),
            ),
            (
                "endpoint_health_cluster",
                vec!["--endpoints", "{E3}", "endpoint", "health", "--cluster"],
            ),
            (
                "endpoint_health_unhealthy",
                vec![
                    "--endpoints",
                    "{EP},{DEAD}",
                    "--command-timeout",
                    "1s",
                    "endpoint",
                    "health",
                ],
            ),
            (
                "endpoint_health_unhealthy_json",
                vec![
                    "--endpoints",
                    "{EP},{DEAD}",
                    "--command-timeout",
                    "1s",
                    "-w",
                    "json",
                    "endpoint",
                    "health",
                ],
            ),
            ("endpoint_hashkv", ep(&["endpoint", "hashkv"])),
            (
                "endpoint_hashkv_json",
                ep(&["-w", "json", "endpoint", "hashkv"]),
            ),
            (
                "endpoint_hashkv_table",
                ep(&["-w", "table", "endpoint", "hashkv"]),
            ),
            (
                "endpoint_hashkv_rev",
                ep(&["endpoint", "hashkv", "--rev", "10"]),
            ),
            (
                "endpoint_hashkv_cluster",
                vec!["--endpoints", "{E1}", "endpoint", "hashkv", "--cluster"],
            ),
        ] {
            self.case(name, &args);
        }
    }

    /// capture-cluster.sh's `plain_cases`: endpoints given as URLs, as
    /// `endpoint ... --cluster` gives them (the members' client URLs).
    fn plain_session(&mut self) {
        self.case("url_get", &["--endpoints", "http://{H1}", "get", "foo"]);
        self.case(
            "url_endpoint_status",
            &[
                "--endpoints",
                "http://{H1},http://{H2}",
                "endpoint",
                "status",
            ],
        );
        self.case(
            "url_endpoint_hashkv",
            &["--endpoints", "http://{H1}", "endpoint", "hashkv"],
        );
    }

    /// capture-cluster.sh's `tls_cases`: without the CA (`ETCDCTL_CACERT`
    /// unset), skipping verification without it, plaintext to the TLS
    /// port, the CA with a client certificate.
    fn tls_session(&mut self) {
        let quick = ["--dial-timeout", "1s", "--command-timeout", "2s"];
        let mut no_ca = vec!["--endpoints", "{E1}"];
        no_ca.extend(quick);
        no_ca.extend(["get", "foo"]);
        self.case_with("tls_no_cacert", &no_ca, b"", false);
        let mut skip = vec!["--endpoints", "{E1}", "--insecure-skip-tls-verify"];
        skip.extend(quick);
        skip.extend(["get", "foo"]);
        self.case_with("tls_insecure_skip_verify", &skip, b"", false);
        let mut plaintext = vec!["--endpoints", "http://{H1}"];
        plaintext.extend(quick);
        plaintext.extend(["get", "foo"]);
        self.case_with("tls_plaintext_client", &plaintext, b"", false);
        self.case(
            "tls_ca_and_client_cert",
            &[
                "--endpoints",
                "{E1}",
                "--cert",
                "{CERT}",
                "--key",
                "{KEY}",
                "get",
                "foo",
            ],
        );
    }
}

/// Sends `signal` (`INT`, `TERM`) to the process `pid` started here.
fn signal_process(pid: u32, signal: &str) {
    // The process may have ended by itself already (a canceled watch).
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// The lease id `lease grant` printed: `lease <hex> granted with ...`.
fn granted_simple(printed: &Printed) -> Option<i64> {
    let hex = printed.stdout.strip_prefix("lease ")?.split(' ').next()?;
    i64::from_str_radix(hex, 16).ok()
}

/// `text` with `from` replaced where it is not part of a longer number or
/// id (`127.0.0.1:2382` must not match in `127.0.0.1:23821`).
fn replace_whole(text: &str, from: &str, to: &str) -> String {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let checks_before = from.starts_with(|c: char| c.is_ascii_alphanumeric());
    let checks_after = from.ends_with(|c: char| c.is_ascii_alphanumeric());
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        out.push_str(&rest[..at]);
        let before = out.chars().last();
        let after = rest[at + from.len()..].chars().next();
        if (checks_before && alnum(before)) || (checks_after && alnum(after)) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// A command line with each path that capture-cluster.sh or this test
/// made (the TLS files) reduced to its file name.
fn without_directories(command: &str) -> String {
    command
        .split(' ')
        .map(|word| match word.rfind("/pki/") {
            Some(at) => &word[at + "/pki/".len()..],
            None => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces the number after each of `markers` with `N`.
fn blank_numbers(text: &str, markers: &[&str]) -> String {
    markers
        .iter()
        .fold(text.to_string(), |text, marker| blank_number(&text, marker))
}

/// In lines of exactly `count` `", "`-separated fields (simple output of
/// `endpoint status` and `hashkv`), the fields at `positions` become `N`.
fn blank_fields(text: &str, count: usize, positions: &[usize]) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            let mut fields: Vec<&str> = body.split(", ").collect();
            if fields.len() != count || body.starts_with(['|', '+', '[', '{', '"']) {
                return line.to_string();
            }
            for &at in positions {
                fields[at] = "N";
            }
            fields.join(", ") + end
        })
        .collect()
}

/// Tables compared cell by cell: borders as `+`, each row's cells trimmed
/// (etcdctl sizes columns to the widest value), and the cells under the
/// headers in `blank` (values that vary by nature) as `N`.
fn canonical_tables(text: &str, blank: &[&str]) -> String {
    let mut header: Option<Vec<String>> = None;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if body.len() > 1 && body.starts_with('+') && body.ends_with('+') {
            out.push('+');
        } else if body.len() > 1 && body.starts_with('|') && body.ends_with('|') {
            let cells: Vec<String> = body[1..body.len() - 1]
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect();
            let cells = match &header {
                None => {
                    header = Some(cells.clone());
                    cells
                }
                Some(names) => cells
                    .into_iter()
                    .zip(
                        names
                            .iter()
                            .map(String::as_str)
                            .chain(std::iter::repeat("")),
                    )
                    .map(|(cell, name)| {
                        if blank.contains(&name) {
                            "N".to_string()
                        } else {
                            cell
                        }
                    })
                    .collect(),
            };
            out.push('|');
            out.push_str(&cells.join("|"));
            out.push('|');
        } else {
            header = None;
            out.push_str(body);
        }
        out.push_str(end);
    }
    out
}

/// Rows whose order is not Keel's to decide (see `Rules::unordered`),
/// sorted: a JSON array of results, the `members` of a JSON answer,
/// `ETCD_INITIAL_CLUSTER`'s entries, `-w fields` member blocks, table rows,
/// or else the lines.
fn sort_rows(text: &str) -> String {
    if text.starts_with('[') {
        return sort_json_array(text, 0);
    }
    if let Some(at) = text.find("\"members\":[") {
        return sort_json_array(text, at + "\"members\":".len());
    }
    let cluster = "ETCD_INITIAL_CLUSTER=\"";
    if let Some(at) = text.find(cluster) {
        let start = at + cluster.len();
        let len = text[start..].find('"').unwrap_or(0);
        let mut entries: Vec<&str> = text[start..start + len].split(',').collect();
        entries.sort_unstable();
        return format!(
            "{}{}{}",
            &text[..start],
            entries.join(","),
            &text[start + len..]
        );
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if let Some(first) = lines.iter().position(|line| line.starts_with("\"ID\" : ")) {
        let mut blocks: Vec<String> = Vec::new();
        for line in &lines[first..] {
            if line.starts_with("\"ID\" : ") || blocks.is_empty() {
                blocks.push(String::new());
            }
            blocks.last_mut().unwrap().push_str(line);
        }
        blocks.sort_unstable();
        return lines[..first].concat() + &blocks.concat();
    }
    if lines.iter().any(|line| line.starts_with('|')) {
        let rows: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with('|'))
            .skip(1)
            .collect();
        let mut sorted: Vec<&str> = rows.iter().map(|&i| lines[i]).collect();
        sorted.sort_unstable();
        let mut lines = lines.clone();
        for (&i, row) in rows.iter().zip(sorted) {
            lines[i] = row;
        }
        return lines.concat();
    }
    let mut lines: Vec<String> = lines
        .iter()
        .map(|line| line.trim_end_matches('\n').to_string())
        .collect();
    lines.sort_unstable();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The JSON array that opens at byte `open` of `text`, its elements sorted
/// as text.
fn sort_json_array(text: &str, open: usize) -> String {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'[') {
        return text.to_string();
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut elements = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    if i > start {
                        elements.push(&text[start..i]);
                    }
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => {
                elements.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return text.to_string();
    };
    elements.sort_unstable();
    format!("{}{}{}", &text[..=open], elements.join(","), &text[close..])
}

/// The cases whose output is `member list`'s simple form.
fn is_simple_member_list(name: &str) -> bool {
    matches!(
        name,
        "member_list" | "member_list_learner" | "member_list_voter_unstarted" | "member_list_after"
    )
}

/// etcd lists members in id order; so must Keel, in its own ids. `text` is
/// Keel's list already in etcd's ids: `ids` maps them back.
fn check_listed_by_id(text: &str, ids: &[(u64, u64)], problems: &mut Vec<String>) {
    let keel_ids: Vec<u64> = text
        .lines()
        .filter_map(|line| line.split(", ").next())
        .filter_map(|id| u64::from_str_radix(id, 16).ok())
        .map(|etcd_id| {
            ids.iter()
                .find(|(_, theirs)| *theirs == etcd_id)
                .map_or(etcd_id, |(ours, _)| *ours)
        })
        .collect();
    if keel_ids.windows(2).any(|pair| pair[0] > pair[1]) {
        problems.push(format!(
            "Keel lists members out of member-id order: {:x?}",
            keel_ids
        ));
    }
}

/// Every member must report the same hash of the history.
fn check_one_hash(text: &str, problems: &mut Vec<String>) {
    let mut hashes: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"hash\":") {
        rest = &rest[at + "\"hash\":".len()..];
        hashes.push(rest.chars().take_while(char::is_ascii_digit).collect());
    }
    for line in text.lines() {
        let fields: Vec<&str> = line.split(", ").collect();
        if fields.len() == 2 && !line.starts_with(['|', '[', '{']) {
            hashes.push(fields[1].to_string());
        }
        if line.starts_with('|') && !line.contains("HASH") {
            if let Some(cell) = line.trim_matches('|').split('|').nth(1) {
                hashes.push(cell.trim().to_string());
            }
        }
    }
    hashes.dedup();
    if hashes.len() > 1 {
        problems.push(format!("the members' hashes differ: {hashes:?}"));
    }
}

/// etcd truncates the time a lease has left: a second or less after the
/// grant it prints `granted - 1` (`granted - 3` on a loaded machine).
fn check_remaining_ttl(text: &str, problems: &mut Vec<String>) {
    let pairs = [
        ("granted with TTL(", "remaining("),
        ("\"granted-ttl\":", "\"ttl\":"),
    ];
    for (granted, remaining) in pairs {
        if let (Some(granted), Some(left)) =
            (number_after(text, granted), number_after(text, remaining))
        {
            if !(granted - 3..granted).contains(&left) {
                problems.push(format!(
                    "remaining TTL {left} s of a {granted} s lease just granted: etcd 3.4 \
                     truncates the time left and prints {} (at most {})",
                    granted - 1,
                    granted - 1
                ));
            }
        }
    }
}
