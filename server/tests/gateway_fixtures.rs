//! etcd's JSON gateway, Keel against etcd 3.4.23: every request captured in
//! `tests/fixtures/gateway/` (README.md there) is sent to Keel as etcd got
//! it — phase A to a fresh one-member cluster, B to three members, C to a
//! member with a tiny space quota — and Keel's answer must match etcd's
//! byte for byte after the README's normalisation: status line, headers
//! (without `Date`; `Content-Length` as the body's length), chunk
//! boundaries of streams, trailers, body. The cases Keel cannot answer yet
//! are listed by name with their reason in `gateway_fixtures/gaps.rs`.

mod common;
#[path = "gateway_fixtures/fixture.rs"]
mod fixture;
#[path = "gateway_fixtures/gaps.rs"]
mod gaps;
#[path = "gateway_fixtures/http.rs"]
mod http;
#[path = "gateway_fixtures/normalize.rs"]
mod normalize;

use common::{daemon_options, free_ports};
use fixture::{Case, Curl, Fixture, Kind, Raw, Vars};
use gaps::{Handling, gap_of, stand_in};
use http::{Connection, Response};
use keel_engine::node::NodeConfig;
use keel_engine::storage::disk::OsDisk;
use keel_server::daemon::{ClusterState, Daemon};
use normalize::Normalizer;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The fixture's client and peer ports of member `index` (0-based).
fn fixture_ports(index: usize) -> (u16, u16) {
    (23891 + index as u16, 23991 + index as u16)
}

/// A running Keel cluster for one phase.
struct Cluster {
    daemons: Vec<Daemon>,
    /// Client address of each member (`127.0.0.1:PORT`).
    clients: Vec<String>,
    /// Peer address of each member.
    peers: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Members `names` on 127.0.0.1 with etcd's timing defaults (a 1 s
    /// election timeout, so leases have etcd's 2 s minimum TTL).
    async fn start(names: &[&str], quota_backend_bytes: Option<u64>) -> Cluster {
        common::task_panics();
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(names.len() * 2);
        let cluster: Vec<(String, String)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    name.to_string(),
                    format!("http://127.0.0.1:{}", ports[names.len() + i]),
                )
            })
            .collect();
        let mut daemons = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let mut options = daemon_options(
                dir.path(),
                name,
                ports[i],
                ports[names.len() + i],
                &cluster,
                ClusterState::New,
            );
            let defaults = NodeConfig::new(0);
            options.node.tick_interval = defaults.tick_interval;
            options.node.request_timeout = defaults.request_timeout;
            options.initial_cluster_token = format!("keel-gw-{}", names.len());
            if let Some(quota) = quota_backend_bytes {
                options.node.quota_backend_bytes = quota;
            }
            daemons.push(
                Daemon::start(options, Arc::new(OsDisk::new()))
                    .await
                    .unwrap(),
            );
        }
        for daemon in &daemons {
            assert!(daemon.wait_ready(Duration::from_secs(30)).await);
        }
        Cluster {
            daemons,
            clients: (0..names.len())
                .map(|i| format!("127.0.0.1:{}", ports[i]))
                .collect(),
            peers: (0..names.len())
                .map(|i| format!("127.0.0.1:{}", ports[names.len() + i]))
                .collect(),
            _dir: dir,
        }
    }

    /// (Keel's address, the fixture's) for every client and peer port.
    fn addresses(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for i in 0..self.clients.len() {
            let (client, peer) = fixture_ports(i);
            pairs.push((self.clients[i].clone(), format!("127.0.0.1:{client}")));
            pairs.push((self.peers[i].clone(), format!("127.0.0.1:{peer}")));
        }
        pairs
    }

    async fn stop(self) {
        for daemon in self.daemons {
            daemon.shutdown().await;
        }
    }
}

/// What one phase's replay found.
#[derive(Default)]
struct Report {
    matched: Vec<String>,
    differed: Vec<(String, String)>,
    gaps_still_differing: Vec<String>,
    gaps_now_matching: Vec<String>,
    gaps_not_sent: Vec<String>,
    gaps_ttl_blanked: Vec<String>,
}

/// One phase: its cluster, both sides' run-time values, the replay state.
struct Replay<'a> {
    phase: &'static str,
    cluster: Cluster,
    fixture: &'a Fixture,
    keel_vars: Vars,
    report: Report,
}

/// A JSON field of a body, as text (`"ID":"5"` → `5`).
fn json_field(body: &[u8], path: &[&str]) -> Option<String> {
    let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    for key in path {
        doc = doc.get(*key)?.clone();
    }
    match doc {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Replay<'_> {
    /// The Keel member a case goes to.
    fn target(&self, case: &Case) -> String {
        if self.phase != "B" {
            return self.cluster.clients[0].clone();
        }
        // capture.sh's PORT for each phase-B case: m1, the leader, or the
        // first follower (it sent "to the follower" on the port that was one
        // in that run).
        let id_of = |var: &str| self.keel_vars.get(var).cloned().unwrap_or_default();
        let member_index = |id: &str| {
            (1..=3)
                .position(|i| id_of(&format!("M{i}_ID")) == id)
                .unwrap_or(0)
        };
        let index = match case.name.as_str() {
            "cluster_status_leader"
            | "cluster_transfer_to_self"
            | "cluster_transfer_unknown"
            | "cluster_transfer" => member_index(&id_of("LEADER_ID")),
            "cluster_status_follower"
            | "cluster_range_follower"
            | "cluster_member_list_follower"
            | "cluster_transfer_from_follower"
            | "cluster_status_new_leader"
            | "cluster_member_remove_m3"
            | "cluster_member_list_after" => member_index(&id_of("FOLLOWER_ID")),
            _ => 0,
        };
        self.cluster.clients[index].clone()
    }

    /// A request template with Keel's values and addresses.
    fn substitute(&self, template: &str) -> String {
        let mut text = template.to_string();
        for (name, value) in &self.keel_vars {
            text = text.replace(&format!("@{name}@"), value);
        }
        for (keel, fixture) in self.cluster.addresses() {
            text = text.replace(&fixture, &keel);
        }
        text
    }

    /// The bytes curl sent, with Keel's values (and the body's length).
    fn curl_request(&self, curl: &Curl) -> Vec<u8> {
        let body = curl.body_template.as_deref().map(|t| self.substitute(t));
        let etcd_token = self.etcd_vars().get("TOKEN").cloned();
        let mut out = format!("{}\r\n", curl.request_line);
        for (name, value) in &curl.request_headers {
            let value = if name.eq_ignore_ascii_case("Content-Length") {
                body.as_ref().map(|b| b.len()).unwrap_or(0).to_string()
            } else {
                let mut value = value.clone();
                if let Some(token) = &etcd_token {
                    let keel = self.keel_vars.get("TOKEN").cloned();
                    value = value.replace(token, &keel.unwrap_or_else(|| "no-token".into()));
                }
                value
            };
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if let Some(body) = body {
            bytes.extend_from_slice(body.as_bytes());
        }
        bytes
    }

    fn etcd_vars(&self) -> &Vars {
        &self.fixture.vars[self.phase]
    }

    fn etcd_normalizer(&self) -> Normalizer {
        Normalizer::new(self.phase, self.etcd_vars(), Vec::new())
    }

    fn keel_normalizer(&self) -> Normalizer {
        Normalizer::new(self.phase, &self.keel_vars, self.cluster.addresses())
    }

    /// Sends a curl case and reads the answer (for a stream: as many
    /// chunks as etcd sent, or until its time limit).
    async fn send_curl(
        &self,
        curl: &Curl,
        address: &str,
        on_chunk: &(dyn Fn(usize) + Sync),
    ) -> Option<Response> {
        let mut connection = Connection::open(address).await;
        connection.send(&self.curl_request(curl)).await;
        let deadline = Instant::now() + read_time(curl);
        let enough = if curl.stream_complete == Some(false) {
            curl.chunks.as_ref().map(Vec::len)
        } else {
            None
        };
        connection
            .read_response(
                &curl.method,
                deadline,
                enough,
                Duration::from_millis(200),
                on_chunk,
            )
            .await
    }

    /// Sends what the fixture did outside any case: the stand-in writes
    /// of a gap case.
    async fn post(&self, address: &str, path: &str, body: &str) -> Response {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut connection = Connection::open(address).await;
        connection.send(request.as_bytes()).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        connection
            .read_response("POST", deadline, None, Duration::ZERO, &|_| {})
            .await
            .unwrap_or_else(|| panic!("no answer to {path}"))
    }

    /// Learns Keel's run-time values where capture.sh learnt etcd's.
    fn learn(&mut self, name: &str, body: &[u8]) {
        let learnt = match name {
            "lease_grant_auto_id" => Some(("AUTO_LEASE", json_field(body, &["ID"]))),
            "lease_grant_lowercase_fields" => Some(("AUTO_LEASE2", json_field(body, &["ID"]))),
            "member_add_learner" => Some(("LEARNER_ID", json_field(body, &["member", "ID"]))),
            "cluster_member_add_voter" => Some(("NEW_ID", json_field(body, &["member", "ID"]))),
            "auth_authenticate" => Some(("TOKEN", json_field(body, &["token"]))),
            _ => None,
        };
        if let Some((var, Some(value))) = learnt {
            self.keel_vars.insert(var.to_string(), value);
        }
        // The stand-ins write etcd's lock and election keys, so Keel's
        // values are etcd's.
        for var in ["LOCK_KEY", "LOCK2_KEY", "ELECTION_REV"] {
            let stand_in_case = match var {
                "LOCK_KEY" => "lock_lock",
                "LOCK2_KEY" => "lock_no_name",
                _ => "election_campaign",
            };
            if name == stand_in_case {
                let value = self.etcd_vars()[var].clone();
                self.keel_vars.insert(var.to_string(), value);
            }
        }
    }

    /// Compares Keel's answer with etcd's; `None` when they match.
    fn compare_curl(&self, curl: &Curl, got: Option<&Response>, blank_ttl: bool) -> Option<String> {
        let etcd = self.etcd_normalizer().blank_ttl(blank_ttl);
        let keel = self.keel_normalizer().blank_ttl(blank_ttl);
        let Some(got) = got else {
            return (!curl.status_line.is_empty())
                .then(|| format!("no answer; etcd answered {}", curl.status_line));
        };
        if curl.status_line.is_empty() {
            return Some(format!(
                "etcd wrote nothing; Keel answered {} {:?}",
                got.status_line,
                String::from_utf8_lossy(&got.body)
            ));
        }
        let mut problems = Vec::new();
        if got.status_line != curl.status_line {
            problems.push(format!(
                "status {:?}, etcd {:?}",
                got.status_line, curl.status_line
            ));
        }
        // Go frames a whole body by its length (Content-Length up to 2048
        // bytes, else one chunk); ids of other lengths on Keel's side can
        // put the same answer on the other side of that line.
        let by_length = whole_body_framed_by_own_length(curl, got);
        let framing = |headers: &[(String, String)]| {
            comparable_headers(headers)
                .into_iter()
                .filter(|(name, _)| {
                    !by_length || (name != "Content-Length" && name != "Transfer-Encoding")
                })
                .collect::<Vec<_>>()
        };
        let expected_headers = framing(&curl.response_headers);
        let got_headers = framing(&got.headers);
        if got_headers != expected_headers {
            problems.push(format!(
                "headers {got_headers:?}, etcd {expected_headers:?}"
            ));
        }
        if let Some(length) = got.header("Content-Length") {
            let is_head = curl.method == "HEAD";
            if !is_head && length != got.body.len().to_string() {
                problems.push(format!(
                    "Content-Length {length} for a {}-byte body",
                    got.body.len()
                ));
            }
        }
        let text = |n: &Normalizer, bytes: &[u8]| n.text(&String::from_utf8_lossy(bytes));
        match (&curl.chunks, curl.chunked) {
            (Some(chunks), true) if curl.body_truncated_to.is_none() && !by_length => {
                let want: Vec<String> = chunks.iter().map(|c| text(&etcd, c)).collect();
                let have: Vec<String> = got.chunks.iter().map(|c| text(&keel, c)).collect();
                if want != have {
                    problems.push(format!("chunks\n   keel {have:?}\n   etcd {want:?}"));
                }
            }
            _ => {
                let mut body = got.body.clone();
                if let Some(limit) = curl.body_truncated_to {
                    body.truncate(limit);
                }
                let want = text(&etcd, &curl.body);
                let have = text(&keel, &body);
                if want != have {
                    problems.push(format!("body\n   keel {have}\n   etcd {want}"));
                }
            }
        }
        if let Some(complete) = curl.stream_complete
            && got.complete != complete
            && !by_length
        {
            problems.push(format!("stream complete {}, etcd {complete}", got.complete));
        }
        if got.trailers != curl.trailers {
            problems.push(format!(
                "trailers {:?}, etcd {:?}",
                got.trailers, curl.trailers
            ));
        }
        (!problems.is_empty()).then(|| problems.join("\n  "))
    }

    /// Compares a raw exchange: every response on the connection, and
    /// whether the server closed it.
    fn compare_raw(&self, raw: &Raw, got: &[u8], closed: bool) -> Option<String> {
        let etcd = self.etcd_normalizer();
        let keel = self.keel_normalizer();
        let want = match http::parse_all(&raw.response, &["POST"]) {
            Ok(responses) => responses,
            Err(why) => return Some(format!("fixture does not parse: {why}")),
        };
        let have = match http::parse_all(got, &["POST"]) {
            Ok(responses) => responses,
            Err(why) => return Some(format!("answer does not parse: {why}")),
        };
        let mut problems = Vec::new();
        if closed != raw.closed {
            problems.push(format!("closed {closed}, etcd {}", raw.closed));
        }
        if have.len() != want.len() {
            problems.push(format!(
                "{} responses, etcd {}: {:?}",
                have.len(),
                want.len(),
                String::from_utf8_lossy(got)
            ));
        }
        for (index, (h, w)) in have.iter().zip(&want).enumerate() {
            let date = |r: &Response| r.headers.iter().any(|(k, _)| k == "Date");
            if h.status_line != w.status_line
                || comparable_headers(&h.headers) != comparable_headers(&w.headers)
                || date(h) != date(w)
                || position_of_date(h) != position_of_date(w)
            {
                problems.push(format!(
                    "response {index}: {} {:?}, etcd {} {:?}",
                    h.status_line, h.headers, w.status_line, w.headers
                ));
            }
            if let Some(length) = h.header("Content-Length")
                && length != h.body.len().to_string()
            {
                problems.push(format!("response {index}: Content-Length {length}"));
            }
            let chunks = |n: &Normalizer, r: &Response| -> Vec<String> {
                if r.chunked {
                    r.chunks
                        .iter()
                        .map(|c| n.text(&String::from_utf8_lossy(c)))
                        .collect()
                } else {
                    vec![n.text(&String::from_utf8_lossy(&r.body))]
                }
            };
            if chunks(&keel, h) != chunks(&etcd, w) || h.trailers != w.trailers {
                problems.push(format!(
                    "response {index} body\n   keel {:?}\n   etcd {:?}",
                    chunks(&keel, h),
                    chunks(&etcd, w)
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("\n  "))
    }

    /// Records a comparison's outcome, by the case's gap status.
    fn record(&mut self, name: &str, difference: Option<String>) {
        let gap = gap_of(name);
        match (difference, gap) {
            (None, Some(gap)) if gap.handling == Handling::TtlBlanked => {
                self.report.gaps_ttl_blanked.push(name.to_string())
            }
            (Some(why), Some(gap)) if gap.handling == Handling::TtlBlanked => {
                self.report.differed.push((name.to_string(), why))
            }
            (None, None) => self.report.matched.push(name.to_string()),
            (Some(why), None) => self.report.differed.push((name.to_string(), why)),
            (Some(_), Some(_)) => self.report.gaps_still_differing.push(name.to_string()),
            (None, Some(_)) => self.report.gaps_now_matching.push(name.to_string()),
        }
    }

    /// Replays one case (and, for a background stream, the cases sent
    /// while it ran).
    async fn run_case(&mut self, case: &Case, during: &[&Case]) {
        if let Some(gap) = gap_of(&case.name)
            && gap.handling == Handling::NotSent
        {
            self.report.gaps_not_sent.push(case.name.clone());
            self.stand_ins(&case.name).await;
            return;
        }
        match &case.kind {
            Kind::Raw(raw) => {
                let mut connection = Connection::open(&self.target(case)).await;
                connection.send(&raw.request).await;
                let (bytes, closed) = connection
                    .read_until_quiet(Duration::from_millis(1000), Duration::from_secs(5))
                    .await;
                let difference = self.compare_raw(raw, &bytes, closed);
                self.record(&case.name, difference);
            }
            Kind::Curl(curl) => {
                let address = self.target(case);
                let response = if during.is_empty() {
                    self.send_curl(curl, &address, &|_| {}).await
                } else {
                    self.with_cases_during(curl, &address, during).await
                };
                if let Some(response) = &response {
                    self.learn(&case.name, &response.body);
                }
                let blank_ttl =
                    gap_of(&case.name).is_some_and(|gap| gap.handling == Handling::TtlBlanked);
                let difference = self.compare_curl(curl, response.as_ref(), blank_ttl);
                self.record(&case.name, difference);
            }
        }
        self.stand_ins(&case.name).await;
    }

    /// A background stream: once its first chunk is in, the `during`
    /// cases are sent one after another, then the stream is read to its
    /// end (as many chunks as etcd sent, or its time limit).
    async fn with_cases_during(
        &mut self,
        curl: &Curl,
        address: &str,
        during: &[&Case],
    ) -> Option<Response> {
        let (count, mut counted) = tokio::sync::watch::channel(0usize);
        let background = {
            let request = self.curl_request(curl);
            let curl = curl.clone();
            let address = address.to_string();
            tokio::spawn(async move {
                let mut connection = Connection::open(&address).await;
                connection.send(&request).await;
                let deadline = Instant::now() + read_time(&curl);
                let enough = curl.chunks.as_ref().map(Vec::len);
                connection
                    .read_response(
                        &curl.method,
                        deadline,
                        enough,
                        Duration::from_millis(200),
                        &|n| {
                            let _ = count.send(n);
                        },
                    )
                    .await
            })
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), counted.wait_for(|n| *n >= 1)).await;
        for case in during {
            Box::pin(self.run_case(case, &[])).await;
        }
        background.await.unwrap()
    }

    async fn stand_ins(&self, name: &str) {
        for (path, body) in stand_in(name) {
            let answer = self.post(&self.cluster.clients[0], path, body).await;
            assert_eq!(answer.status(), 200, "stand-in for {name}: {answer:?}");
        }
    }
}

/// How long to read an answer: curl's time limit, and for a stream that
/// etcd answered at all 3 s more (the read stops as soon as it has as
/// many chunks as etcd sent; the margin is for a loaded machine). A
/// stream etcd sent nothing on is watched for exactly curl's time.
fn read_time(curl: &Curl) -> Duration {
    let limit = Duration::from_secs_f64(curl.max_time_seconds);
    if curl.status_line.is_empty() {
        limit
    } else {
        limit + Duration::from_secs(3)
    }
}

/// Headers as compared: without `Date`, `Content-Length` as `<N>` (it
/// follows the body, whose ids have each side's length).
/// Whether both answers are one whole body that etcd and Keel framed
/// differently, each as Go frames a body of its own length: Keel's (ids
/// and addresses normalised away may differ in length from etcd's) with
/// `Content-Length` up to 2048 bytes and as one chunk above.
fn whole_body_framed_by_own_length(curl: &Curl, got: &Response) -> bool {
    const GO_BUFFER_BYTES: usize = 2048;
    let whole = |chunked: bool, chunks: usize| !chunked || chunks == 1;
    let etcd_chunks = curl.chunks.as_ref().map_or(0, Vec::len);
    if curl.chunked == got.chunked
        || !curl.trailers.is_empty()
        || !got.trailers.is_empty()
        || !whole(curl.chunked, etcd_chunks)
        || !whole(got.chunked, got.chunks.len())
    {
        return false;
    }
    let etcd_length = curl.body.len();
    let keel_length = got.body.len();
    (etcd_length > GO_BUFFER_BYTES) == curl.chunked
        && (keel_length > GO_BUFFER_BYTES) == got.chunked
}

fn comparable_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name != "Date")
        .map(|(name, value)| {
            if name == "Content-Length" {
                (name.clone(), "<N>".to_string())
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
}

fn position_of_date(response: &Response) -> Option<usize> {
    response.headers.iter().position(|(name, _)| name == "Date")
}

/// Replays one phase's cases in order against `cluster`.
async fn replay(phase: &'static str, cluster: Cluster, keel_vars: Vars) -> Report {
    let fixture = fixture::load();
    let cases: Vec<&Case> = fixture.cases.iter().filter(|c| c.phase == phase).collect();
    let mut replay = Replay {
        phase,
        cluster,
        fixture: &fixture,
        keel_vars,
        report: Report::default(),
    };
    let during_of = |name: &str| -> Vec<&Case> {
        cases
            .iter()
            .copied()
            .filter(|c| matches!(&c.kind, Kind::Curl(curl) if curl.during.as_deref() == Some(name)))
            .collect()
    };
    for case in &cases {
        if matches!(&case.kind, Kind::Curl(curl) if curl.during.is_some()) {
            continue;
        }
        let during = during_of(&case.name);
        replay.run_case(case, &during).await;
    }
    let Replay {
        cluster, report, ..
    } = replay;
    cluster.stop().await;
    report
}

/// Prints what a phase found and fails on any difference outside the
/// known gaps, and on a known gap that now matches.
fn conclude(phase: &str, report: &Report) {
    for (name, why) in &report.differed {
        eprintln!("== {phase} {name}\n  {why}");
    }
    eprintln!(
        "phase {phase}: {} match, {} differ; known gaps: {} still differ, {} not sent, {} match with TTL blanked, {} now match",
        report.matched.len(),
        report.differed.len(),
        report.gaps_still_differing.len(),
        report.gaps_not_sent.len(),
        report.gaps_ttl_blanked.len(),
        report.gaps_now_matching.len()
    );
    assert!(
        report.differed.is_empty(),
        "phase {phase}: {} cases differ from etcd: {:?}",
        report.differed.len(),
        report.differed.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert!(
        report.gaps_now_matching.is_empty(),
        "phase {phase}: known gaps now match etcd, take them off gaps.rs: {:?}",
        report.gaps_now_matching
    );
    assert_eq!(common::task_panics(), 0, "a server task panicked");
}

/// A member's id, as the gateway writes it.
fn id(daemon: &Daemon) -> String {
    daemon.identity.member_id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phase_a_one_member() {
    let cluster = Cluster::start(&["e1"], None).await;
    let mut vars = Vars::new();
    vars.insert("E1_ID".into(), id(&cluster.daemons[0]));
    vars.insert(
        "CLUSTER_ID".into(),
        cluster.daemons[0].identity.cluster_id.to_string(),
    );
    let report = replay("A", cluster, vars).await;
    conclude("A", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phase_b_three_members() {
    let cluster = Cluster::start(&["m1", "m2", "m3"], None).await;
    let mut vars = Vars::new();
    let ids: Vec<String> = cluster.daemons.iter().map(id).collect();
    for (i, member) in ids.iter().enumerate() {
        vars.insert(format!("M{}_ID", i + 1), member.clone());
    }
    vars.insert(
        "CLUSTER_ID".into(),
        cluster.daemons[0].identity.cluster_id.to_string(),
    );
    let leader = cluster.daemons[0].node.status().leader_id.to_string();
    let followers: Vec<&String> = ids.iter().filter(|i| **i != leader).collect();
    vars.insert("FOLLOWER_ID".into(), followers[0].clone());
    vars.insert("FOLLOWER2_ID".into(), followers[1].clone());
    vars.insert("LEADER_ID".into(), leader);
    let report = replay("B", cluster, vars).await;
    conclude("B", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phase_c_space_quota() {
    let cluster = Cluster::start(&["q1"], Some(1)).await;
    let mut vars = Vars::new();
    vars.insert("Q1_ID".into(), id(&cluster.daemons[0]));
    vars.insert(
        "CLUSTER_ID".into(),
        cluster.daemons[0].identity.cluster_id.to_string(),
    );
    let report = replay("C", cluster, vars).await;
    conclude("C", &report);
}

#[test]
fn every_gap_names_a_captured_case() {
    let fixture = fixture::load();
    for gap in gaps::GAPS {
        for name in gap.cases {
            assert!(
                fixture.cases.iter().any(|c| c.name == *name),
                "{name} ({}) is not in cases.json",
                gap.reason
            );
        }
    }
}
