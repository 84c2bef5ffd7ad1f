//! Starting a member's node: open (or create) its data, build the RawNode,
//! spawn the driver task.
//!
//! A member's data directory holds `db` (the state machine's B-tree file)
//! and `wal/` (the raft log), unless the log has a directory of its own
//! ([`NodeOptions::wal_dir`], etcd's `--wal-dir`). Restarting opens the last
//! checkpoint and the log replays what follows it.
//!
//! A first start creates the raft log before the state file, so a data
//! directory with a state file always has its log: one whose log is not
//! where the options say (moved, lost, or started once with another
//! `--wal-dir`) is refused with [`WalDirError`] rather than started with an
//! empty log, which would forget its votes and entries.

use super::driver::Driver;
use super::handle::{Command, NodeHandle, NodeStatus};
use super::pending::PendingRequests;
use super::raft_logger::raft_logger;
use super::read_queue::ReadQueue;
use super::{NodeConfig, NodeError, Transport, WalDirError};
use crate::api::Member;
use crate::raft_log::RaftLog;
use crate::state_machine::StateMachine;
use crate::storage::disk::Disk;
use crate::storage::wal::{Wal, WalOptions};
use raft::RawNode;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Commands a node's inbox holds before senders see it as full.
const INBOX_CAPACITY: usize = 8192;

/// How a member with no data gets its first state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// It is one of the initial members of a new cluster.
    NewCluster {
        /// The cluster's id.
        cluster_id: u64,
        /// Every initial member (ids, names, URLs).
        members: Vec<Member>,
    },
    /// It joins a running cluster (added with `member add`); its state
    /// arrives as a snapshot from the leader.
    JoinExisting {
        /// The cluster it joins.
        cluster_id: u64,
    },
}

impl Bootstrap {
    fn cluster_id(&self) -> u64 {
        match self {
            Bootstrap::NewCluster { cluster_id, .. } | Bootstrap::JoinExisting { cluster_id } => {
                *cluster_id
            }
        }
    }
}

/// Everything a node needs to start.
#[derive(Clone)]
pub struct NodeOptions {
    /// Consensus settings and limits.
    pub config: NodeConfig,
    /// The disk its data lives on.
    pub disk: Arc<dyn Disk>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// A directory of its own for the raft log (etcd's `--wal-dir`), created
    /// if missing; `None`: [`wal_dir`] inside the data directory.
    pub wal_dir: Option<PathBuf>,
    /// WAL settings.
    pub wal: WalOptions,
    /// How it reaches its peers.
    pub transport: Arc<dyn Transport>,
    /// How to create its data if it has none.
    pub bootstrap: Bootstrap,
}

/// The state machine file inside a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("db")
}

/// The raft log directory inside a data directory (where it is unless
/// given a directory of its own).
pub fn wal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("wal")
}

impl NodeOptions {
    /// Where the raft log is: [`NodeOptions::wal_dir`], or [`wal_dir`] of
    /// the data directory.
    pub fn wal_path(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| wal_dir(&self.data_dir))
    }
}

/// Refuses a raft log directory that does not fit the data directory: a log
/// left in the data directory while `wal_dir` names another place, or a
/// data directory whose state exists (`db_existed`) with no log in `wal`.
pub fn check_wal_dir(
    disk: &dyn Disk,
    data_dir: &Path,
    wal: &Path,
    db_existed: bool,
) -> Result<(), NodeError> {
    let default = wal_dir(data_dir);
    if wal != default && Wal::exists(disk, &default).map_err(storage)? {
        return Err(WalDirError::LeftInDataDir {
            data_dir: data_dir.to_path_buf(),
            found: default,
            wal_dir: wal.to_path_buf(),
        }
        .into());
    }
    if db_existed && !Wal::exists(disk, wal).map_err(storage)? {
        return Err(WalDirError::Missing {
            data_dir: data_dir.to_path_buf(),
            wal_dir: wal.to_path_buf(),
            dedicated: wal != default,
        }
        .into());
    }
    Ok(())
}

fn storage(err: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(err.to_string())
}

/// Opens or creates the member's state and raft log.
fn open_data(options: &NodeOptions) -> Result<(StateMachine, RaftLog, bool), NodeError> {
    let disk = &options.disk;
    let db = db_path(&options.data_dir);
    let wal = options.wal_path();
    disk.create_dir_all(&options.data_dir).map_err(storage)?;
    let existed = disk.exists(&db).map_err(storage)?;
    check_wal_dir(disk.as_ref(), &options.data_dir, &wal, existed)?;
    // Opened before the state file is created: the log exists first.
    let (peek, _) = Wal::open(Arc::clone(disk), &wal, options.wal.clone())
        .map_err(|e| NodeError::Storage(e.to_string()))?;
    let marker = peek.snapshot().0;
    drop(peek);
    let expected = options.bootstrap.cluster_id();
    let state = if existed {
        // Finish (or drop) a snapshot install a crash interrupted, as the
        // raft log decides.
        StateMachine::recover_staged(disk, &db, marker)?;
        let state = StateMachine::open(Arc::clone(disk), &db)?;
        if state.cluster_id() != 0 && expected != 0 && state.cluster_id() != expected {
            return Err(NodeError::Storage(format!(
                "the data directory {} belongs to cluster {:x}, not {:x}: \
                 point --data-dir elsewhere or remove it to join this cluster",
                options.data_dir.display(),
                state.cluster_id(),
                expected
            )));
        }
        state
    } else {
        match &options.bootstrap {
            Bootstrap::NewCluster {
                cluster_id,
                members,
            } => StateMachine::bootstrap(Arc::clone(disk), &db, *cluster_id, members)?,
            Bootstrap::JoinExisting { .. } => StateMachine::open(Arc::clone(disk), &db)?,
        }
    };
    let mut log = RaftLog::open(
        Arc::clone(disk),
        &wal,
        options.wal.clone(),
        state.applied_index(),
        state.conf_state().clone(),
        state.latest_checkpoint(),
    )?;
    let fresh_cluster = !existed && matches!(options.bootstrap, Bootstrap::NewCluster { .. });
    if fresh_cluster || (state.applied_index() == 1 && log.last_index_now() == 0) {
        log.bootstrap()?;
    }
    Ok((state, log, existed))
}

/// Starts the member's node and returns a handle to it. The node runs as a
/// task until stopped, removed, or a storage failure (fail-stop).
pub fn start_node(options: NodeOptions) -> Result<NodeHandle, NodeError> {
    let (state, mut log, existed) = open_data(&options)?;
    let member_id = options.config.member_id;
    if options.config.force_new_cluster && existed {
        let removed = super::standalone::make_standalone(&mut log, &state, member_id)?;
        tracing::warn!(
            member = member_id,
            removed = ?removed.iter().map(|id| format!("{id:x}")).collect::<Vec<_>>(),
            "forcing a new cluster: this member becomes the only one once its committed \
             entries apply; start it without --force-new-cluster from now on"
        );
    }
    let raft_config = options.config.raft_config(state.applied_index());
    raft_config.validate()?;
    let mut raw = RawNode::new(&raft_config, log, &raft_logger(member_id))?;
    let conf = raw.raft.prs().conf().to_conf_state();
    if conf.voters == [member_id] && conf.learners.is_empty() {
        // The only voter needs no election timeout to learn it wins.
        raw.campaign()?;
    }
    let (commands, inbox) = mpsc::channel::<Command>(INBOX_CAPACITY);
    let (status_tx, status) = watch::channel(NodeStatus {
        member_id,
        ..NodeStatus::default()
    });
    let bcrypt_cost = options.config.bcrypt_cost;
    let retry = options.config.tick_interval * options.config.election_ticks as u32;
    let first_request_id = rand::random::<u64>() | 1;
    let (defrag_sender, defrag_done) = tokio::sync::mpsc::unbounded_channel();
    let metrics = Arc::new(super::metrics::NodeMetrics::default());
    let mut driver = Driver {
        raw,
        state,
        transport: options.transport,
        pending: PendingRequests::new(first_request_id),
        reads: ReadQueue::new(retry),
        tokens: super::tokens::Tokens::new(options.config.auth_token_ttl),
        staged_snapshot: None,
        transfers: Vec::new(),
        status: status_tx,
        stopped: None,
        removed_at: None,
        applied_since_checkpoint: 0,
        snapshots_installed: 0,
        known_leader: 0,
        expected_cluster_id: options.bootstrap.cluster_id(),
        publish_due: None,
        published: false,
        config: options.config,
        leases: Default::default(),
        lease_checkpoint_due: tokio::time::Instant::now(),
        defrags: super::defrag::Defrags::new(defrag_sender),
        defrag_done: Some(defrag_done),
        metrics: Arc::clone(&metrics),
    };
    driver.sync_lease_clock();
    driver.publish_status();
    tokio::spawn(driver.run(inbox));
    Ok(NodeHandle {
        commands,
        status,
        metrics,
        bcrypt_cost,
    })
}
