//! A Keel cluster on madsim hosts: each member is the real `Daemon` on its
//! own simulated host and its own [`SimDisk`], which outlives the member's
//! process (a kill loses what was not synced; the restart gets the disk
//! back). The harness reaches members' nodes directly for status, hashes
//! and the committed log; clients go through simulated TCP.

use crate::timeline::Timeline;
use keel_engine::compactor::AutoCompaction;
use keel_engine::node::{NodeConfig, NodeHandle, NodeStatus};
use keel_engine::storage::disk::SimDisk;
use keel_engine::storage::wal::WalOptions;
use keel_server::client_port::ClientPortOptions;
use keel_server::daemon::{ClusterState, Daemon, DaemonError, DaemonOptions};
use keel_server::peer::PeerTransportOptions;
use keel_server::url::Url;
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle as Host};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The client port every member listens on.
pub const CLIENT_PORT: u16 = 2379;
/// The peer port every member listens on.
pub const PEER_PORT: u16 = 2380;

/// Settings a seed may buggify.
#[derive(Debug, Clone, Copy)]
pub struct EngineKnobs {
    /// WAL segment size.
    pub wal_segment_bytes: u64,
    /// Entries between checkpoints (etcd's `--snapshot-count`).
    pub snapshot_count: u64,
    /// Entries kept behind a checkpoint for slow followers.
    pub catch_up_entries: u64,
    /// One member (slot) that handles each raft Ready this much late.
    pub slow_member: Option<(usize, Duration)>,
    /// Periodic auto-compaction's window on every member (`None`: off).
    pub auto_compaction: Option<Duration>,
}

impl Default for EngineKnobs {
    fn default() -> Self {
        EngineKnobs {
            wal_segment_bytes: 1 << 20,
            snapshot_count: 10_000,
            catch_up_entries: 5_000,
            slow_member: None,
            auto_compaction: None,
        }
    }
}

/// What one member slot holds across restarts. The disk and options are
/// what the host's next (re)start uses: a replaced member gets new ones.
struct Slot {
    name: String,
    ip: IpAddr,
    host: Host,
    disk: Arc<Mutex<SimDisk>>,
    options: Arc<Mutex<DaemonOptions>>,
}

/// The running member nodes, by slot, as their hosts registered them.
pub type Registry = Arc<Mutex<BTreeMap<usize, NodeHandle>>>;

/// A simulated cluster.
pub struct Cluster {
    slots: Vec<Slot>,
    registry: Registry,
    /// Faults and lifecycle events, with simulated times.
    pub timeline: Timeline,
    /// Backups taken during the campaign, checked after it.
    pub backups: Mutex<Vec<crate::backups::TakenBackup>>,
}

/// The IP of member slot `i`.
pub fn member_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1))
}

/// Every member's client endpoint.
pub fn client_endpoints(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{}:{CLIENT_PORT}", member_ip(i)))
        .collect()
}

fn options(i: usize, n: usize, knobs: EngineKnobs) -> DaemonOptions {
    let ip = member_ip(i);
    let url = |port: u16| format!("http://{ip}:{port}");
    let mut node = NodeConfig::new(0);
    node.snapshot_count = knobs.snapshot_count;
    node.catch_up_entries = knobs.catch_up_entries;
    node.request_timeout = Duration::from_secs(3);
    if let Some((_, delay)) = knobs.slow_member.filter(|(slot, _)| *slot == i) {
        node.slow_ready = delay;
    }
    DaemonOptions {
        name: format!("m{i}"),
        data_dir: PathBuf::from(format!("/data/m{i}")),
        wal_dir: None,
        listen_client_urls: Url::parse(&url(CLIENT_PORT)).into_iter().collect(),
        advertise_client_urls: vec![url(CLIENT_PORT)],
        listen_peer_urls: Url::parse(&url(PEER_PORT)).into_iter().collect(),
        initial_advertise_peer_urls: vec![url(PEER_PORT)],
        initial_cluster: (0..n)
            .map(|j| {
                (
                    format!("m{j}"),
                    format!("http://{}:{PEER_PORT}", member_ip(j)),
                )
            })
            .collect(),
        initial_cluster_state: ClusterState::New,
        initial_cluster_token: "keel-sim".into(),
        node,
        wal: WalOptions {
            segment_bytes: knobs.wal_segment_bytes,
            ..WalOptions::default()
        },
        client_port: ClientPortOptions::default(),
        peer_transport: PeerTransportOptions::default(),
        join_timeout: Duration::from_secs(10),
        client_tls: Default::default(),
        peer_tls: Default::default(),
        client_auto_tls: false,
        peer_auto_tls: false,
        initial_corrupt_check: false,
        corrupt_check_interval: None,
        // The `compaction` fault; the scenario then records the committed
        // history while it runs, before compaction removes it.
        auto_compaction: knobs.auto_compaction.map(AutoCompaction::Periodic),
        metrics: Default::default(),
    }
}

impl Cluster {
    /// Creates and starts `n` members; `disk_seed` seeds their disks.
    pub fn start(n: usize, knobs: EngineKnobs, disk_seed: u64, timeline: Timeline) -> Cluster {
        let handle = Handle::current();
        let registry: Registry = Arc::new(Mutex::new(BTreeMap::new()));
        let mut slots = Vec::new();
        for i in 0..n {
            let disk = Arc::new(Mutex::new(SimDisk::new(
                disk_seed.wrapping_mul(31).wrapping_add(i as u64),
            )));
            let options = Arc::new(Mutex::new(options(i, n, knobs)));
            let name = format!("m{i}");
            let init = {
                let disk = Arc::clone(&disk);
                let registry = Arc::clone(&registry);
                let options = Arc::clone(&options);
                let timeline = timeline.clone();
                move || {
                    let disk = disk.lock().clone();
                    let registry = Arc::clone(&registry);
                    let options = options.lock().clone();
                    let timeline = timeline.clone();
                    async move {
                        // A new incarnation starts with no sockets and no
                        // stale handle, as a process its supervisor restarts
                        // does. madsim's restart after a panic kills the old
                        // tasks but leaves their sockets bound: when that
                        // delayed restart (1-10 s after the panic) fired after
                        // the harness had already restarted the member, the
                        // killed incarnation kept the client port and the
                        // member could never start again (seed 2466).
                        NetSim::current().reset_node(madsim::plugin::node());
                        registry.lock().remove(&i);
                        let name = options.name.clone();
                        let disk: Arc<dyn keel_engine::storage::disk::Disk> = Arc::new(disk);
                        // A port of the killed incarnation may take a moment
                        // to be released (as under a supervisor that restarts
                        // at once): retry binding, nothing else.
                        let mut attempts = 0;
                        loop {
                            match Daemon::start(options.clone(), Arc::clone(&disk)).await {
                                Ok(daemon) => {
                                    timeline.event(format!("{name} running"));
                                    registry.lock().insert(i, daemon.node.clone());
                                    std::future::pending::<()>().await;
                                    drop(daemon);
                                }
                                Err(DaemonError::Listen { .. }) if attempts < 20 => {
                                    attempts += 1;
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                                Err(err) => {
                                    timeline.event(format!("{name} refused to start: {err}"));
                                    return;
                                }
                            }
                        }
                    }
                }
            };
            // raft-rs panics when the log cannot be read back (a flipped bit
            // on a read): the keel binary turns any panic into a process
            // exit, so here the member's host restarts, as a supervisor
            // would. Any other panic fails the seed.
            let host = handle
                .create_node()
                .name(&name)
                .ip(member_ip(i))
                .init(init)
                .restart_on_panic_matching("unexpected error: Store(")
                .build();
            slots.push(Slot {
                name,
                ip: member_ip(i),
                host,
                disk,
                options,
            });
        }
        Cluster {
            slots,
            registry,
            timeline,
            backups: Mutex::new(Vec::new()),
        }
    }

    /// How many member slots there are.
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// Slot `i`'s member name.
    pub fn name(&self, i: usize) -> &str {
        &self.slots[i].name
    }

    /// Slot `i`'s IP address.
    pub fn ip(&self, i: usize) -> IpAddr {
        self.slots[i].ip
    }

    /// Slot `i`'s disk.
    pub fn disk(&self, i: usize) -> SimDisk {
        self.slots[i].disk.lock().clone()
    }

    /// Slot `i`'s peer URL.
    pub fn peer_url(&self, i: usize) -> String {
        format!("http://{}:{PEER_PORT}", self.slots[i].ip)
    }

    /// The failed-member procedure's last step: slot `i` gets an empty disk
    /// (seeded by `disk_seed`) and starts as a member joining an existing
    /// cluster (it must have been added first).
    pub fn wipe_for_rejoin(&self, i: usize, disk_seed: u64) {
        *self.slots[i].disk.lock() = SimDisk::new(disk_seed);
        self.slots[i].options.lock().initial_cluster_state = ClusterState::Existing;
        self.timeline
            .event(format!("wipe {} to rejoin as existing", self.slots[i].name));
    }

    /// The madsim host id of slot `i`.
    pub fn host_id(&self, i: usize) -> madsim::task::NodeId {
        self.slots[i].host.id()
    }

    /// Slot `i`'s node, if its member is running.
    pub fn node(&self, i: usize) -> Option<NodeHandle> {
        self.registry.lock().get(&i).cloned()
    }

    /// Status of every running member, by slot.
    pub fn statuses(&self) -> BTreeMap<usize, NodeStatus> {
        self.registry
            .lock()
            .iter()
            .map(|(&i, node)| (i, node.status()))
            .collect()
    }

    /// The slot whose member every running member names as leader (among
    /// running, not stopped members).
    pub fn leader(&self) -> Option<usize> {
        let statuses = self.statuses();
        let live: Vec<&NodeStatus> = statuses.values().filter(|s| !s.stopped).collect();
        let leader_id = live.first()?.leader_id;
        if leader_id == 0 || !live.iter().all(|s| s.leader_id == leader_id) {
            return None;
        }
        statuses
            .iter()
            .find(|(_, s)| s.member_id == leader_id && !s.stopped)
            .map(|(&i, _)| i)
    }

    /// Kills slot `i`'s process; with `power_loss`, its disk drops or tears
    /// what was not synced.
    pub fn kill(&self, i: usize, power_loss: bool) {
        self.registry.lock().remove(&i);
        Handle::current().kill(self.host_id(i));
        if power_loss {
            self.slots[i].disk.lock().crash();
        }
        self.timeline.event(format!(
            "kill {}{}",
            self.slots[i].name,
            if power_loss { " (power loss)" } else { "" }
        ));
    }

    /// Starts slot `i`'s process again on its disk.
    pub fn restart(&self, i: usize) {
        self.registry.lock().remove(&i);
        Handle::current().restart(self.host_id(i));
        self.timeline
            .event(format!("restart {}", self.slots[i].name));
    }

    /// Whether slot `i`'s member is running and has not stopped.
    pub fn is_up(&self, i: usize) -> bool {
        self.node(i).is_some_and(|n| !n.status().stopped)
    }
}
