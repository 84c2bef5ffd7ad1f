//! A member's consensus settings and limits, with units in their names.

use std::time::Duration;

/// Settings of one member's node. Every limit that bounds memory or work is
/// here, with its unit in its name.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// This member's id (never 0).
    pub member_id: u64,
    /// This member's name, published to the member list once it runs.
    pub name: String,
    /// URLs clients reach this member on, published with the name.
    pub client_urls: Vec<String>,
    /// Time between raft ticks (etcd's `--heartbeat-interval`).
    pub tick_interval: Duration,
    /// Ticks without a leader before a follower campaigns (etcd's
    /// `--election-timeout` divided by the heartbeat interval).
    pub election_ticks: usize,
    /// Ticks between leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Applied entries between checkpoints (etcd's `--snapshot-count`).
    pub snapshot_count: u64,
    /// Entries kept behind a checkpoint for slow followers (etcd's
    /// snapshot catch-up entries) before the log is compacted.
    pub catch_up_entries: u64,
    /// Changes held in memory before a checkpoint is forced.
    pub memtable_max_bytes: usize,
    /// Largest client request accepted (etcd's `--max-request-bytes`).
    pub max_request_bytes: usize,
    /// Most operations in one txn list (etcd's `--max-txn-ops`).
    pub max_txn_ops: usize,
    /// Backend size past which a NOSPACE alarm is raised (etcd's
    /// `--quota-backend-bytes`).
    pub quota_backend_bytes: u64,
    /// Refuse to add or remove a voter when the started voters would not
    /// be a quorum afterwards (etcd's `--strict-reconfig-check`, on by
    /// default). Off, such changes are proposed as asked.
    pub strict_reconfig_check: bool,
    /// Bytes of entries in one append message.
    pub max_append_bytes: u64,
    /// Append messages in flight to one follower.
    pub max_inflight_appends: usize,
    /// Proposals waiting to be applied before new ones are refused.
    pub max_pending_proposals: usize,
    /// How long a proposal or read may wait before it fails with `Timeout`.
    pub request_timeout: Duration,
    /// How often the leader records the leases' remaining TTLs in the log,
    /// so a restarted cluster does not count them from the full TTL.
    pub lease_checkpoint_interval: Duration,
    /// Most expired leases the leader proposes to revoke per tick (etcd
    /// revokes at most 1000 per second).
    pub max_lease_expiries_per_tick: usize,
    /// Most leases in one checkpoint entry.
    pub max_leases_per_checkpoint: usize,
    /// Buggify knob for the simulator: wait this long before handling each
    /// raft Ready (a member that persists and applies slowly). Zero — off —
    /// by default; no flag sets it.
    pub slow_ready: Duration,
    /// etcd's `--force-new-cluster`: a member with data starts as the only
    /// member of its cluster (every other member removed through committed
    /// entries before it serves). For disaster recovery only; start without
    /// it afterwards.
    pub force_new_cluster: bool,
    /// etcd's `--bcrypt-cost`: how hard new password hashes are (4 to 31).
    pub bcrypt_cost: u32,
    /// etcd's `--auth-token-ttl`: how long a token lasts unused.
    pub auth_token_ttl: Duration,
}

impl NodeConfig {
    /// etcd's defaults for a member with `member_id`.
    pub fn new(member_id: u64) -> Self {
        NodeConfig {
            member_id,
            name: String::new(),
            client_urls: Vec::new(),
            tick_interval: Duration::from_millis(100),
            election_ticks: 10,
            heartbeat_ticks: 1,
            snapshot_count: 100_000,
            catch_up_entries: 5_000,
            memtable_max_bytes: 4 << 20,
            max_request_bytes: 1536 * 1024,
            max_txn_ops: 128,
            quota_backend_bytes: 2 << 30,
            strict_reconfig_check: true,
            max_append_bytes: 1 << 20,
            max_inflight_appends: 256,
            max_pending_proposals: 100_000,
            request_timeout: Duration::from_secs(7),
            lease_checkpoint_interval: Duration::from_secs(5),
            max_lease_expiries_per_tick: 100,
            max_leases_per_checkpoint: 10_000,
            slow_ready: Duration::ZERO,
            force_new_cluster: false,
            bcrypt_cost: crate::auth::DEFAULT_BCRYPT_COST,
            auth_token_ttl: Duration::from_secs(300),
        }
    }

    /// The election timeout these settings imply.
    pub fn election_timeout(&self) -> Duration {
        self.tick_interval * self.election_ticks as u32
    }

    /// The shortest TTL a lease is granted, in seconds: one and a half
    /// election timeouts rounded up (etcd's rule), so a lease survives a
    /// leader election.
    pub fn min_lease_ttl_seconds(&self) -> i64 {
        let millis = self.election_timeout().as_millis() as i64 * 3 / 2;
        ((millis + 999) / 1000).max(1)
    }

    /// The raft-rs configuration these settings imply: pre-vote and
    /// check-quorum on, safe (quorum-confirmed) ReadIndex.
    pub fn raft_config(&self, applied: u64) -> raft::Config {
        raft::Config {
            id: self.member_id,
            election_tick: self.election_ticks,
            heartbeat_tick: self.heartbeat_ticks,
            applied,
            max_size_per_msg: self.max_append_bytes,
            max_inflight_msgs: self.max_inflight_appends,
            check_quorum: true,
            pre_vote: true,
            read_only_option: raft::ReadOnlyOption::Safe,
            max_uncommitted_size: (self.max_request_bytes as u64) * 1024,
            ..raft::Config::default()
        }
    }
}
