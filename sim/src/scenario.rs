//! One seed, start to finish: a cluster, workload clients, the seed's
//! faults for the run's duration, then healing, the liveness write, the
//! convergence check, the committed log read back, and every checker.

use crate::check::{self, CheckReport};
use crate::cluster::{Cluster, EngineKnobs, client_endpoints};
use crate::faults::{FaultKind, FaultPlan};
use crate::history::{History, LeaseRecord, OpKind, Outcome};
use crate::lease_user::{self, LEASE_KEY_PREFIX, MAX_TTL_SECONDS};
use crate::log_reader::{self, LogReader};
use crate::timeline::Timeline;
use crate::workload::{self, PREFIX, SharedHistory};
use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::storage::disk::SimDiskFaults;
use keel_server::client::{Client, ClientOptions};
use madsim::net::NetSim;
use madsim::rand::{Rng, thread_rng};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What to run for one seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// The seed: everything else is drawn from it.
    pub seed: u64,
    /// Members (3 or 5); `None` draws it from the seed.
    pub nodes: Option<usize>,
    /// Simulated time under faults.
    pub duration: Duration,
    /// Faults the seed may draw from.
    pub faults: Vec<FaultKind>,
    /// Workload clients.
    pub clients: usize,
}

/// The verdict for one seed.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Members it ran.
    pub nodes: usize,
    /// The faults it drew.
    pub plan: FaultPlan,
    /// Everything that went wrong (empty: passed).
    pub violations: Vec<String>,
    /// Hash of the whole timeline and history: equal for equal seeds.
    pub trace_hash: u64,
    /// Simulated time the seed took, including healing and checks.
    pub simulated: Duration,
    /// Client operations recorded.
    pub ops: usize,
    /// Of which indeterminate (timeouts, lost connections).
    pub indeterminate: usize,
    /// Keys the WGL search decided / gave up on.
    pub wgl: (usize, usize),
    /// The readable timeline.
    pub timeline: Vec<String>,
    /// Every client operation.
    pub history: History,
}

impl SeedReport {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Runs one seed in a fresh simulator runtime.
pub fn run_seed(options: &SeedOptions) -> SeedReport {
    let mut runtime =
        madsim::runtime::Runtime::with_seed_and_config(options.seed, madsim::Config::default());
    // A hang is a liveness failure: bound the simulated time.
    runtime.set_time_limit(options.duration + Duration::from_secs(600));
    let options = options.clone();
    runtime.block_on(scenario(options))
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

/// Watches every member's status: one leader per term, and one store
/// revision per applied index (what a committed entry did never changes).
struct RaftInvariants {
    leader_of_term: BTreeMap<u64, u64>,
    revision_at_index: BTreeMap<u64, i64>,
    last_leader: u64,
    violations: Vec<String>,
}

impl RaftInvariants {
    fn sample(&mut self, cluster: &Cluster) {
        for (i, status) in cluster.statuses() {
            if status.leader_id != 0 {
                let first = *self
                    .leader_of_term
                    .entry(status.term)
                    .or_insert(status.leader_id);
                if first != status.leader_id {
                    self.violations.push(format!(
                        "two leaders in term {}: {first:x} and {:x} (seen by {})",
                        status.term,
                        status.leader_id,
                        cluster.name(i)
                    ));
                }
            }
            if status.applied_index > 0 {
                let first = *self
                    .revision_at_index
                    .entry(status.applied_index)
                    .or_insert(status.revision);
                if first != status.revision {
                    self.violations.push(format!(
                        "index {} applied to revision {first} and to {} (on {})",
                        status.applied_index,
                        status.revision,
                        cluster.name(i)
                    ));
                }
            }
        }
        if let Some(leader) = cluster.leader() {
            let statuses = cluster.statuses();
            if let Some(status) = statuses.get(&leader) {
                if status.member_id != self.last_leader {
                    self.last_leader = status.member_id;
                    cluster.timeline.event(format!(
                        "leader {} (term {})",
                        cluster.name(leader),
                        status.term
                    ));
                }
            }
        }
    }
}

fn all_links(cluster: &Cluster) -> Vec<(usize, usize)> {
    let n = cluster.size();
    (0..n)
        .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect()
}

fn clog(cluster: &Cluster, a: usize, b: usize) {
    NetSim::current().clog_link(cluster.host_id(a), cluster.host_id(b));
}

fn heal_network(cluster: &Cluster) {
    let net = NetSim::current();
    for (a, b) in all_links(cluster) {
        net.unclog_link(cluster.host_id(a), cluster.host_id(b));
    }
    net.update_config(|c| *c = madsim::net::Config::default());
}

fn pick(n: usize) -> usize {
    thread_rng().gen_range(0..n)
}

/// Splits the member slots into two non-empty groups at random.
fn split(n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, pick(i + 1));
    }
    let cut = 1 + pick(n - 1);
    let (a, b) = order.split_at(cut);
    (a.to_vec(), b.to_vec())
}

/// Injects one fault from `plan`, waits out its duration, undoes it.
async fn inject(cluster: &Cluster, plan: &FaultPlan, kinds: &[FaultKind]) {
    let Some(&kind) = kinds.get(pick(kinds.len().max(1))) else {
        return;
    };
    let n = cluster.size();
    let lasting = Duration::from_millis(thread_rng().gen_range(200..plan.max_duration_ms.max(201)));
    let t = &cluster.timeline;
    match kind {
        FaultKind::Partition => {
            let (a, b) = split(n);
            t.event(format!("partition {a:?} | {b:?} for {lasting:?}"));
            for &x in &a {
                for &y in &b {
                    clog(cluster, x, y);
                    clog(cluster, y, x);
                }
            }
            tokio::time::sleep(lasting).await;
            heal_network(cluster);
            t.event("heal");
        }
        FaultKind::OneWay => {
            let a = pick(n);
            let b = (a + 1 + pick(n - 1)) % n;
            t.event(format!(
                "one-way: {} cannot reach {} for {lasting:?}",
                cluster.name(a),
                cluster.name(b)
            ));
            clog(cluster, a, b);
            tokio::time::sleep(lasting).await;
            heal_network(cluster);
            t.event("heal");
        }
        FaultKind::LeaderIsolation => {
            let Some(leader) = cluster.leader() else {
                return;
            };
            t.event(format!(
                "isolate leader {} for {lasting:?}",
                cluster.name(leader)
            ));
            for other in (0..n).filter(|&o| o != leader) {
                clog(cluster, leader, other);
                clog(cluster, other, leader);
            }
            tokio::time::sleep(lasting).await;
            heal_network(cluster);
            t.event("heal");
        }
        FaultKind::Bridge => {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                order.swap(i, pick(i + 1));
            }
            let bridge = order[0];
            let rest = &order[1..];
            let (a, b) = rest.split_at(rest.len() / 2);
            t.event(format!(
                "bridge {}: {a:?} | {b:?} for {lasting:?}",
                cluster.name(bridge)
            ));
            for &x in a {
                for &y in b {
                    clog(cluster, x, y);
                    clog(cluster, y, x);
                }
            }
            tokio::time::sleep(lasting).await;
            heal_network(cluster);
            t.event("heal");
        }
        FaultKind::Latency => {
            let extra = thread_rng().gen_range(20..400u64);
            t.event(format!("latency +{extra}ms for {lasting:?}"));
            NetSim::current().update_config(|c| {
                c.send_latency = Duration::from_millis(extra)..Duration::from_millis(extra * 2);
            });
            tokio::time::sleep(lasting).await;
            heal_network(cluster);
            t.event("latency back to normal");
        }
        FaultKind::Kill => {
            let i = pick(n);
            cluster.kill(i, true);
            tokio::time::sleep(lasting).await;
            cluster.restart(i);
        }
        FaultKind::Pause => {
            let i = pick(n);
            t.event(format!("pause {} for {lasting:?}", cluster.name(i)));
            madsim::runtime::Handle::current().pause(cluster.host_id(i));
            tokio::time::sleep(lasting).await;
            madsim::runtime::Handle::current().resume(cluster.host_id(i));
            t.event(format!("resume {}", cluster.name(i)));
        }
        FaultKind::Disk => {
            let i = pick(n);
            let sync = thread_rng().gen_bool(0.5);
            let faults = if sync {
                SimDiskFaults {
                    sync_failure_probability: 0.2,
                    ..SimDiskFaults::default()
                }
            } else {
                SimDiskFaults {
                    read_bit_flip_probability: 0.01,
                    ..SimDiskFaults::default()
                }
            };
            t.event(format!(
                "disk of {}: {} for {lasting:?}",
                cluster.name(i),
                if sync {
                    "sync failures"
                } else {
                    "read bit flips"
                }
            ));
            cluster.disk(i).set_faults(faults);
            tokio::time::sleep(lasting).await;
            cluster.disk(i).set_faults(SimDiskFaults::default());
            t.event(format!("disk of {} healthy", cluster.name(i)));
            if let Some(node) = cluster.node(i) {
                let status = node.status();
                if status.stopped {
                    t.event(format!(
                        "{} had stopped: {}",
                        cluster.name(i),
                        status.fatal_error.unwrap_or_default()
                    ));
                }
            }
            // A process that saw its disk fail restarts (after losing its
            // page cache), whether or not it stopped.
            cluster.kill(i, true);
            cluster.restart(i);
        }
        FaultKind::LeaderTransfer => {
            let Some(leader) = cluster.leader() else {
                return;
            };
            let target = (leader + 1 + pick(n - 1)) % n;
            let (Some(from), Some(to)) = (cluster.node(leader), cluster.node(target)) else {
                return;
            };
            let target_id = to.status().member_id;
            let result = from
                .request(Request::MoveLeader(MoveLeaderRequest { target_id }))
                .await;
            t.event(format!(
                "move leader {} -> {}: {}",
                cluster.name(leader),
                cluster.name(target),
                match result {
                    Ok(_) => "ok".to_string(),
                    Err(e) => e.to_string(),
                }
            ));
        }
        FaultKind::Replace => replace_member(cluster).await,
        FaultKind::Defrag => {
            let i = pick(n);
            let Some(node) = cluster.node(i) else {
                return;
            };
            let result = node.request(Request::Defragment).await;
            t.event(format!(
                "defragment {}: {}",
                cluster.name(i),
                match result {
                    Ok(_) => "ok".to_string(),
                    Err(e) => e.to_string(),
                }
            ));
        }
        FaultKind::Backup => {
            let i = pick(n);
            let Some(node) = cluster.node(i) else {
                return;
            };
            match crate::backups::take(&node).await {
                Ok(bytes) => {
                    t.event(format!(
                        "backup of {}: {} bytes",
                        cluster.name(i),
                        bytes.len()
                    ));
                    cluster.backups.lock().push(crate::backups::TakenBackup {
                        member: cluster.name(i).to_string(),
                        bytes,
                    });
                }
                Err(err) => t.event(format!("backup of {}: {err}", cluster.name(i))),
            }
        }
        FaultKind::Buggify | FaultKind::Compaction => {}
    }
}

/// Sends `request` to whichever member is leader, retrying for a while.
async fn ask_leader(cluster: &Cluster, request: Request) -> Result<Response, String> {
    let mut last = String::from("no leader");
    for _ in 0..40 {
        if let Some(node) = cluster.leader().and_then(|l| cluster.node(l)) {
            match node.request(request.clone()).await {
                Ok(response) => return Ok(response),
                Err(err) => last = err.to_string(),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(last)
}

/// The failed-member procedure an operator follows (etcd's runbook): remove
/// the member, wipe its data, add it back (as a learner, then promoted, on
/// some seeds), start it with `--initial-cluster-state existing`.
async fn replace_member(cluster: &Cluster) {
    let t = &cluster.timeline;
    let Some(leader) = cluster.leader() else {
        return;
    };
    let n = cluster.size();
    let i = (leader + 1 + pick(n - 1)) % n;
    let Some(id) = cluster.node(i).map(|node| node.status().member_id) else {
        return;
    };
    let removed = ask_leader(cluster, Request::MemberRemove(MemberRemoveRequest { id })).await;
    t.event(format!(
        "member remove {}: {:?}",
        cluster.name(i),
        removed.as_ref().map(|_| "ok")
    ));
    // A retried remove whose first try applied finds no member: done too.
    let not_found = ApiError::MemberNotFound.to_string();
    if removed.as_ref().is_err_and(|e| *e != not_found) {
        return;
    }
    cluster.kill(i, false);
    cluster.wipe_for_rejoin(i, thread_rng().r#gen());
    let as_learner = thread_rng().gen_bool(0.5);
    let added = ask_leader(
        cluster,
        Request::MemberAdd(MemberAddRequest {
            peer_urls: vec![cluster.peer_url(i)],
            is_learner: as_learner,
            force: false,
        }),
    )
    .await;
    let new_id = match &added {
        Ok(Response::Member(m)) => m.member.as_ref().map(|m| m.id),
        // A retried add whose first try applied: find the member it made.
        Err(e) if *e == ApiError::PeerUrlExists.to_string() => {
            match ask_leader(
                cluster,
                Request::MemberList(MemberListRequest { linearizable: true }),
            )
            .await
            {
                Ok(Response::Member(list)) => list
                    .members
                    .iter()
                    .find(|m| m.peer_urls.contains(&cluster.peer_url(i)))
                    .map(|m| m.id),
                _ => None,
            }
        }
        _ => None,
    };
    t.event(format!(
        "member add {}{}: {}",
        cluster.name(i),
        if as_learner { " as learner" } else { "" },
        match (&added, new_id) {
            (Ok(_), Some(id)) => format!("id {id:x}"),
            (other, _) => format!("{other:?}"),
        }
    ));
    let Some(new_id) = new_id else {
        return;
    };
    cluster.restart(i);
    if as_learner {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let promoted = ask_leader(
                cluster,
                Request::MemberPromote(MemberPromoteRequest { id: new_id }),
            )
            .await;
            if promoted.is_ok() {
                t.event(format!("member promote {}: ok", cluster.name(i)));
                return;
            }
        }
        t.event(format!("member promote {}: gave up", cluster.name(i)));
    }
}

async fn wait_for_leader(cluster: &Cluster, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cluster.leader().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn client_ip(c: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, c as u8 + 1))
}

/// After the faults: every member back, a write succeeds (liveness), every
/// member reaches its revision, their hashes agree. Returns the final
/// revision and any violation.
async fn converge(
    cluster: &Cluster,
    history: &SharedHistory,
    timeline: &Timeline,
    violations: &mut Vec<String>,
) -> Option<u64> {
    let n = cluster.size();
    // Members still starting get a moment; any still down then restart.
    for _ in 0..50 {
        if (0..n).all(|i| cluster.is_up(i)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..n {
        if !cluster.is_up(i) {
            cluster.restart(i);
        }
    }
    // Liveness: a write through the real client succeeds in bounded time.
    let host = madsim::runtime::Handle::current()
        .create_node()
        .name("checker")
        .ip(client_ip(99))
        .build();
    let endpoints = client_endpoints(n);
    let history = Arc::clone(history);
    let timeline_for_probe = timeline.clone();
    let probe = host.spawn(async move {
        let mut options = ClientOptions::new(endpoints);
        options.command_timeout = Duration::from_secs(3);
        let client = Client::new(options).ok()?;
        for attempt in 0..10 {
            let kind = OpKind::Put {
                key: format!("{PREFIX}0"),
                value: format!("final-{attempt}"),
            };
            if let Outcome::Put { revision } =
                workload::perform(&client, 999, kind, &history, &timeline_for_probe).await
            {
                return Some(revision);
            }
        }
        None
    });
    let final_revision = match probe.await.ok().flatten() {
        Some(revision) => revision,
        None => {
            violations.push("liveness: no write succeeded within 30 s after the faults".into());
            return None;
        }
    };
    timeline.event(format!("liveness write at revision {final_revision}"));

    // Convergence: every member running and at the final revision.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = cluster.statuses();
        let behind: Vec<usize> = (0..n)
            .filter(|i| {
                statuses
                    .get(i)
                    .is_none_or(|s| s.stopped || s.revision < final_revision as i64)
            })
            .collect();
        if behind.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            for i in behind {
                violations.push(format!(
                    "convergence: {} did not reach revision {final_revision} within 30 s ({:?})",
                    cluster.name(i),
                    statuses.get(&i)
                ));
            }
            return Some(final_revision);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The hashes are compared at the final revision, or, when
    // auto-compaction has passed it, at the newest compaction a member
    // reports (once every member has reached it).
    let mut at = final_revision as i64;
    let mut hashes = BTreeMap::new();
    for _attempt in 0..10 {
        hashes.clear();
        let mut compacted_to = None;
        let mut errors = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline
            && !cluster
                .statuses()
                .values()
                .all(|s| !s.stopped && s.revision >= at)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for i in 0..n {
            let Some(node) = cluster.node(i) else {
                continue;
            };
            let request = Request::HashKv(HashKvRequest { revision: at });
            match node.request(request).await {
                Ok(Response::HashKv(h)) => {
                    // The hash, and the compaction it counts from.
                    hashes.insert(cluster.name(i).to_string(), (h.hash, h.compact_revision));
                }
                Err(ApiError::Compacted { compact_revision }) => {
                    compacted_to = compacted_to.max(Some(compact_revision));
                }
                other => errors.push(format!("hashkv on {}: {other:?}", cluster.name(i))),
            }
        }
        // A member at the revision may not have applied the compaction
        // after it yet (a compaction is not a revision): hashes count from
        // the compaction, so they are compared at equal compactions only,
        // as etcd's corruption check does.
        let compactions: std::collections::BTreeSet<i64> =
            hashes.values().map(|&(_, compacted)| compacted).collect();
        if compacted_to.is_none() && errors.is_empty() && compactions.len() > 1 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        match compacted_to {
            Some(revision) if errors.is_empty() => {
                timeline.event(format!(
                    "hashes at revision {at} compacted; comparing at {revision}"
                ));
                at = revision;
            }
            _ => {
                violations.extend(errors);
                break;
            }
        }
    }
    let distinct: std::collections::BTreeSet<(u32, i64)> = hashes.values().copied().collect();
    if distinct.len() > 1 {
        violations.push(format!(
            "convergence: members disagree at revision {at}: {hashes:?}"
        ));
    }
    if hashes.len() < n {
        violations.push(format!(
            "convergence: only {} of {n} members hashed revision {at}",
            hashes.len()
        ));
    }
    Some(final_revision)
}

/// After the faults, with nobody keeping anything alive: within the
/// longest TTL plus a few election timeouts every lease has expired on the
/// leader's word and every leased key is gone from every member.
async fn leases_all_expire(cluster: &Cluster, timeline: &Timeline, violations: &mut Vec<String>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(MAX_TTL_SECONDS as u64 + 10);
    let leased_keys = Request::Range(RangeRequest {
        key: Bytes::from_static(LEASE_KEY_PREFIX.as_bytes()),
        range_end: Bytes::from(vec![LEASE_KEY_PREFIX.as_bytes()[0] + 1]),
        serializable: true,
        count_only: true,
        ..RangeRequest::default()
    });
    let last = loop {
        let mut left = Vec::new();
        for i in 0..cluster.size() {
            let Some(node) = cluster.node(i) else {
                left.push(format!("{} is down", cluster.name(i)));
                continue;
            };
            match node.request(Request::LeaseLeases).await {
                Ok(Response::LeaseLeases(l)) if l.leases.is_empty() => {}
                other => left.push(format!("{} leases: {other:?}", cluster.name(i))),
            }
            match node.request(leased_keys.clone()).await {
                Ok(Response::Range(r)) if r.count == 0 => {}
                other => left.push(format!("{} leased keys: {other:?}", cluster.name(i))),
            }
        }
        if left.is_empty() {
            timeline.event("every lease expired");
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            break left.join("; ");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    violations.push(format!(
        "lease liveness: leases left {}s after the faults stopped: {last}",
        MAX_TTL_SECONDS + 10
    ));
}

async fn scenario(options: SeedOptions) -> SeedReport {
    let timeline = Timeline::new();
    let nodes = options
        .nodes
        .unwrap_or(if thread_rng().gen_bool(0.5) { 3 } else { 5 });
    let plan = FaultPlan::draw(&options.faults, |n| thread_rng().gen_range(0..n));
    let knobs = if plan.has(FaultKind::Buggify) {
        let mut rng = thread_rng();
        EngineKnobs {
            wal_segment_bytes: 64 << 10,
            snapshot_count: rng.gen_range(20..200),
            catch_up_entries: rng.gen_range(5..50),
            slow_member: rng.gen_bool(0.5).then(|| {
                (
                    rng.gen_range(0..nodes),
                    Duration::from_millis(rng.gen_range(5..60)),
                )
            }),
            auto_compaction: None,
        }
    } else {
        EngineKnobs::default()
    };
    let knobs = EngineKnobs {
        auto_compaction: plan
            .has(FaultKind::Compaction)
            .then(|| Duration::from_millis(thread_rng().gen_range(1_000..5_000))),
        ..knobs
    };
    timeline.event(format!(
        "seed {} nodes {nodes} faults [{}] gap ~{}ms, up to {}ms each; {knobs:?}",
        options.seed,
        plan.enabled
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(","),
        plan.mean_gap_ms,
        plan.max_duration_ms
    ));
    let cluster = Cluster::start(nodes, knobs, options.seed, timeline.clone());
    let mut violations = Vec::new();
    if !wait_for_leader(&cluster, Duration::from_secs(30)).await {
        violations.push("no leader elected within 30 s of start".into());
    }

    let invariants = Arc::new(Mutex::new(RaftInvariants {
        leader_of_term: BTreeMap::new(),
        revision_at_index: BTreeMap::new(),
        last_leader: 0,
        violations: Vec::new(),
    }));
    let cluster = Arc::new(cluster);
    let sampler = {
        let cluster = Arc::clone(&cluster);
        let invariants = Arc::clone(&invariants);
        tokio::spawn(async move {
            loop {
                invariants.lock().sample(&cluster);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // With compaction on, the history is read while the seed runs, before
    // compaction removes it; otherwise all of it at the end.
    let stop_recording = Arc::new(AtomicBool::new(false));
    let recorder = knobs.auto_compaction.is_some().then(|| {
        tokio::spawn(log_reader::record_while_running(
            Arc::clone(&cluster),
            LogReader::new(),
            Arc::clone(&stop_recording),
        ))
    });

    let history: SharedHistory = Arc::new(Mutex::new(History::default()));
    let stop = timeline.now() + options.duration.as_nanos() as u64;
    let mut clients = Vec::new();
    for c in 0..options.clients {
        let mut endpoints = client_endpoints(nodes);
        endpoints.rotate_left(c % nodes);
        let host = madsim::runtime::Handle::current()
            .create_node()
            .name(format!("client{c}"))
            .ip(client_ip(c))
            .build();
        clients.push(host.spawn(workload::run_client(
            c as u32,
            endpoints,
            Arc::clone(&history),
            timeline.clone(),
            stop,
        )));
    }

    let mut watchers = Vec::new();
    for w in 0..2usize {
        let mut endpoints = client_endpoints(nodes);
        endpoints.rotate_left((w + 1) % nodes);
        let host = madsim::runtime::Handle::current()
            .create_node()
            .name(format!("watcher{w}"))
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 2, w as u8 + 1)))
            .build();
        // One watcher replays from the first revision, one starts now.
        let start = if w == 0 { 1 } else { 0 };
        watchers.push(host.spawn(workload::run_watcher(
            w as u32,
            endpoints,
            timeline.clone(),
            stop,
            start,
        )));
    }

    // A third watcher speaks etcd's gRPC Watch API (as clientv3 does),
    // replaying from the first revision and resuming on other members.
    {
        let mut endpoints = client_endpoints(nodes);
        endpoints.rotate_left(nodes - 1);
        let host = madsim::runtime::Handle::current()
            .create_node()
            .name("etcd-watcher")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 9)))
            .build();
        watchers.push(host.spawn(crate::etcd_watcher::run_etcd_watcher(
            2,
            endpoints,
            timeline.clone(),
            stop,
            1,
        )));
    }

    let mut lease_users = Vec::new();
    for u in 0..2usize {
        let mut endpoints = client_endpoints(nodes);
        endpoints.rotate_left((u + 2) % nodes);
        let host = madsim::runtime::Handle::current()
            .create_node()
            .name(format!("lease-user{u}"))
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 3, u as u8 + 1)))
            .build();
        lease_users.push(host.spawn(lease_user::run_lease_user(
            u as u32,
            endpoints,
            timeline.clone(),
            stop,
        )));
    }

    let kinds: Vec<FaultKind> = plan
        .enabled
        .iter()
        .copied()
        .filter(|k| !matches!(k, FaultKind::Buggify | FaultKind::Compaction))
        .collect();
    while timeline.now() < stop {
        let gap = thread_rng().gen_range(0..2 * plan.mean_gap_ms + 1);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        if timeline.now() >= stop || kinds.is_empty() {
            continue;
        }
        inject(&cluster, &plan, &kinds).await;
    }
    heal_network(&cluster);
    timeline.event("faults stop");
    for client in clients {
        let _ = client.await;
    }
    let mut watch_records = Vec::new();
    for watcher in watchers {
        if let Ok(record) = watcher.await {
            watch_records.push(record);
        }
    }
    let mut lease_records: Vec<LeaseRecord> = Vec::new();
    for user in lease_users {
        if let Ok(records) = user.await {
            lease_records.extend(records);
        }
    }

    let final_revision = converge(&cluster, &history, &timeline, &mut violations).await;
    // The log is read before the leases expire: compaction may pass the
    // final revision while they do.
    stop_recording.store(true, Ordering::SeqCst);
    let reader = match recorder {
        Some(task) => task.await.unwrap_or_else(|_| LogReader::new()),
        None => LogReader::new(),
    };
    let log = match final_revision {
        None => None,
        Some(final_revision) => match (0..nodes).find(|&i| cluster.is_up(i)) {
            None => {
                violations.push("no member up to read the log from".into());
                None
            }
            Some(i) => match log_reader::read_log(&cluster, i, reader, final_revision).await {
                Err(err) => {
                    violations.push(format!("reading the committed log: {err}"));
                    None
                }
                Ok(log) => Some(log),
            },
        },
    };
    if final_revision.is_some() {
        leases_all_expire(&cluster, &timeline, &mut violations).await;
    }
    violations.extend(
        check::leases::check(&lease_records)
            .iter()
            .map(|v| v.to_string()),
    );
    sampler.abort();
    invariants.lock().sample(&cluster);
    violations.append(&mut invariants.lock().violations);

    let history = history.lock().clone();
    let mut wgl = (0, 0);
    if let Some(log) = log {
        for backup in cluster.backups.lock().iter() {
            let range = workload::request(&OpKind::Range { serializable: true });
            match crate::backups::check(backup, &log, &range) {
                Ok(revision) => timeline.event(format!(
                    "backup of {} restored: the committed state at revision {revision}",
                    backup.member
                )),
                Err(err) => violations.push(format!("backup of {}: {err}", backup.member)),
            }
        }
        let report: CheckReport = check::check(&history, &log, 2_000_000);
        wgl = (report.wgl_keys_checked, report.wgl_keys_skipped);
        violations.extend(report.violations.iter().map(|v| v.to_string()));
        violations.extend(
            check::watch::check(&watch_records, &log)
                .iter()
                .map(|v| v.to_string()),
        );
    }
    timeline.event(format!("done: {} violation(s)", violations.len()));

    let lines = timeline.lines();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for line in &lines {
        fnv(&mut hash, line.as_bytes());
    }
    for op in &history.ops {
        fnv(&mut hash, op.to_string().as_bytes());
    }
    for record in &lease_records {
        fnv(&mut hash, format!("{record:?}").as_bytes());
    }
    SeedReport {
        seed: options.seed,
        nodes,
        plan,
        violations,
        trace_hash: hash,
        simulated: Duration::from_nanos(timeline.now()),
        ops: history.ops.len(),
        indeterminate: history
            .ops
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Indeterminate(_)))
            .count(),
        wgl,
        timeline: lines,
        history,
    }
}
