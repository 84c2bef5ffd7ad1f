//! A whole cluster in one process: real nodes on simulated disks, talking
//! over the in-memory network, on tokio's paused clock (or madsim's).

#![allow(dead_code)]

use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::node::{
    Bootstrap, NodeConfig, NodeError, NodeHandle, NodeOptions, ids, start_node,
};
use keel_engine::storage::disk::SimDisk;
use keel_engine::storage::wal::WalOptions;
use keel_engine::testing::MemNetwork;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN: &str = "test-cluster";

pub struct Cluster {
    pub net: MemNetwork,
    pub disks: BTreeMap<u64, SimDisk>,
    pub nodes: BTreeMap<u64, NodeHandle>,
    pub members: Vec<Member>,
    pub cluster_id: u64,
    pub snapshot_count: u64,
    pub catch_up_entries: u64,
    pub quota_backend_bytes: u64,
    /// Members that handle each raft Ready late (`NodeConfig::slow_ready`).
    pub slow: BTreeMap<u64, Duration>,
    /// `NodeConfig::strict_reconfig_check` of members started from now on.
    pub strict_reconfig_check: bool,
    /// Members whose raft log has a directory of its own
    /// (`NodeOptions::wal_dir`) from their next start.
    pub wal_dirs: BTreeMap<u64, PathBuf>,
}

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn member(i: u64) -> Member {
    let peer_urls = vec![format!("http://127.0.0.1:{}", 2380 + i * 10)];
    Member {
        id: ids::member_id(&peer_urls, TOKEN, 0),
        name: format!("m{i}"),
        client_urls: vec![format!("http://127.0.0.1:{}", 2379 + i * 10)],
        peer_urls,
        is_learner: false,
    }
}

impl Cluster {
    /// A new cluster of `n` members, all started.
    pub fn new(n: u64, seed: u64) -> Cluster {
        Self::with_settings(n, seed, 100_000, 5_000, 2 << 30)
    }

    pub fn with_settings(
        n: u64,
        seed: u64,
        snapshot_count: u64,
        catch_up_entries: u64,
        quota: u64,
    ) -> Cluster {
        let mut cluster = Self::unstarted(n, seed, snapshot_count, catch_up_entries, quota);
        for id in cluster.ids() {
            cluster.start(id, false);
        }
        cluster
    }

    /// As [`Cluster::with_settings`], with no member started yet.
    pub fn unstarted(
        n: u64,
        seed: u64,
        snapshot_count: u64,
        catch_up_entries: u64,
        quota: u64,
    ) -> Cluster {
        let members: Vec<Member> = (1..=n).map(member).collect();
        let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
        let mut cluster = Cluster {
            net: MemNetwork::new(seed),
            disks: BTreeMap::new(),
            nodes: BTreeMap::new(),
            cluster_id: ids::cluster_id(&ids),
            members,
            snapshot_count,
            catch_up_entries,
            quota_backend_bytes: quota,
            slow: BTreeMap::new(),
            strict_reconfig_check: true,
            wal_dirs: BTreeMap::new(),
        };
        for (i, m) in cluster.members.clone().iter().enumerate() {
            cluster.disks.insert(
                m.id,
                SimDisk::new(seed.wrapping_mul(100).wrapping_add(i as u64)),
            );
        }
        cluster
    }

    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }

    pub fn config(&self, id: u64) -> NodeConfig {
        let mut config = NodeConfig::new(id);
        config.snapshot_count = self.snapshot_count;
        config.catch_up_entries = self.catch_up_entries;
        config.quota_backend_bytes = self.quota_backend_bytes;
        config.strict_reconfig_check = self.strict_reconfig_check;
        if let Some(&delay) = self.slow.get(&id) {
            config.slow_ready = delay;
        }
        config.request_timeout = Duration::from_secs(5);
        if let Some(m) = self.members.iter().find(|m| m.id == id) {
            config.name = m.name.clone();
            config.client_urls = m.client_urls.clone();
        }
        config
    }

    /// Starts (or restarts) member `id` on its disk.
    pub fn start(&mut self, id: u64, join: bool) {
        self.start_with(id, join, |_| {});
    }

    /// As [`Cluster::start`], with `tweak` applied to the member's config.
    pub fn start_with(&mut self, id: u64, join: bool, tweak: impl FnOnce(&mut NodeConfig)) {
        self.try_start_with(id, join, tweak).expect("start node");
    }

    /// The data directory of member `id` on its disk.
    pub fn data_dir(id: u64) -> PathBuf {
        PathBuf::from(format!("/data/{id:x}"))
    }

    /// As [`Cluster::start`], returning why the node refused to start.
    pub fn try_start(&mut self, id: u64, join: bool) -> Result<(), NodeError> {
        self.try_start_with(id, join, |_| {})
    }

    fn try_start_with(
        &mut self,
        id: u64,
        join: bool,
        tweak: impl FnOnce(&mut NodeConfig),
    ) -> Result<(), NodeError> {
        let bootstrap = if join {
            Bootstrap::JoinExisting {
                cluster_id: self.cluster_id,
            }
        } else {
            // As the server does: names and peer URLs from the initial
            // cluster; client URLs arrive when each member publishes them.
            let initial: Vec<Member> = self
                .members
                .iter()
                .filter(|m| !m.is_learner)
                .map(|m| Member {
                    client_urls: Vec::new(),
                    ..m.clone()
                })
                .collect();
            Bootstrap::NewCluster {
                cluster_id: self.cluster_id,
                members: initial,
            }
        };
        let mut config = self.config(id);
        tweak(&mut config);
        let options = NodeOptions {
            config,
            disk: Arc::new(self.disks[&id].clone()),
            data_dir: Self::data_dir(id),
            wal_dir: self.wal_dirs.get(&id).cloned(),
            wal: WalOptions {
                segment_bytes: 64 * 1024,
                ..WalOptions::default()
            },
            transport: self.net.transport(id),
            bootstrap,
        };
        let handle = start_node(options)?;
        self.net.register(id, handle.clone());
        self.nodes.insert(id, handle);
        Ok(())
    }

    /// Stops member `id` (its disk keeps what was synced and unsynced).
    pub async fn stop(&mut self, id: u64) {
        self.net.unregister(id);
        if let Some(handle) = self.nodes.remove(&id) {
            handle.stop().await;
            wait_until(|| handle.status().stopped).await;
        }
    }

    /// Power loss on member `id`: stop it and lose whatever it had not synced.
    pub async fn crash(&mut self, id: u64) {
        self.stop(id).await;
        self.disks[&id].crash();
    }

    pub fn handle(&self, id: u64) -> &NodeHandle {
        &self.nodes[&id]
    }

    /// The leader every running member agrees on, once there is one.
    pub async fn leader(&self) -> u64 {
        for _ in 0..600 {
            let leaders: Vec<u64> = self.nodes.values().map(|h| h.status().leader_id).collect();
            if let Some(&first) = leaders.first() {
                if first != 0
                    && leaders.iter().all(|&l| l == first)
                    && self.nodes.contains_key(&first)
                {
                    return first;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no agreed leader: {:?}",
            self.nodes.values().map(|h| h.status()).collect::<Vec<_>>()
        );
    }

    /// A running member other than `not`.
    pub fn other_than(&self, not: u64) -> u64 {
        *self
            .nodes
            .keys()
            .find(|&&id| id != not)
            .expect("another member")
    }

    /// Sends a request through member `via`, retrying while the cluster
    /// has no leader yet.
    pub async fn request(&self, via: u64, request: Request) -> Result<Response, ApiError> {
        for _ in 0..100 {
            match self.handle(via).request(request.clone()).await {
                Err(ApiError::NoLeader)
                | Err(ApiError::NotLeader { .. })
                | Err(ApiError::Unavailable(_)) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
        Err(ApiError::Timeout)
    }

    /// Puts `key`, retrying a timed-out attempt (a put of the same value
    /// twice is harmless here; the outcome of a timeout is unknown).
    pub async fn put(&self, via: u64, key: &str, value: &str) -> PutResponse {
        let request = Request::Put(PutRequest {
            key: b(key),
            value: b(value),
            ..PutRequest::default()
        });
        for _ in 0..10 {
            match self.request(via, request.clone()).await {
                Ok(Response::Put(r)) => return r,
                Err(ApiError::Timeout) | Err(ApiError::LeaderChanged) => continue,
                other => panic!("put {key} via {via:x}: {other:?}"),
            }
        }
        panic!("put {key} via {via:x}: timed out ten times");
    }

    pub async fn get(&self, via: u64, key: &str, serializable: bool) -> Option<Bytes> {
        let request = Request::Range(RangeRequest {
            key: b(key),
            serializable,
            ..RangeRequest::default()
        });
        match self.request(via, request).await {
            Ok(Response::Range(r)) => r.kvs.first().map(|kv| kv.value.clone()),
            other => panic!("get {key} via {via:x}: {other:?}"),
        }
    }

    pub async fn member_list(&self, via: u64) -> Vec<Member> {
        match self
            .request(
                via,
                Request::MemberList(MemberListRequest { linearizable: true }),
            )
            .await
        {
            Ok(Response::Member(r)) => r.members,
            other => panic!("member list via {via:x}: {other:?}"),
        }
    }

    /// Waits until every running member has applied the same index.
    #[allow(dead_code)]
    pub async fn settle(&self) {
        wait_until(|| {
            let applied: Vec<u64> = self
                .nodes
                .values()
                .map(|h| h.status().applied_index)
                .collect();
            applied.windows(2).all(|w| w[0] == w[1])
        })
        .await;
    }

    /// Waits until every running member has applied the same index, then
    /// checks they agree on the state: equal HashKV at the same revision.
    pub async fn assert_converged(&self) {
        self.settle().await;
        let mut hashes = BTreeMap::new();
        for (&id, handle) in &self.nodes {
            match handle
                .request(Request::HashKv(HashKvRequest { revision: 0 }))
                .await
            {
                Ok(Response::HashKv(h)) => {
                    hashes.insert(id, (h.header.revision, h.hash));
                }
                other => panic!("hash kv on {id:x}: {other:?}"),
            }
        }
        let values: Vec<&(i64, u32)> = hashes.values().collect();
        assert!(
            values.windows(2).all(|w| w[0] == w[1]),
            "members disagree: {hashes:?}"
        );
    }
}

/// Waits (on the test clock) until `condition` holds; panics after 60s.
pub async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..600 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached in 60 simulated seconds");
}
