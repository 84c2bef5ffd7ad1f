//! A state made the first state of a new cluster (a restored backup).

use super::{StateMachine, fatal, write_members};
use crate::api::Member;
use crate::mvcc::Tree;
use crate::node::NodeError;
use std::ops::{Bound, ControlFlow};

impl StateMachine {
    /// Keeps every key, revision and lease, and replaces the rest: `members`
    /// become the only members (and raft's voters), the cluster id becomes
    /// `cluster_id`, alarms are cleared, and the applied term becomes 1 (a
    /// new cluster's raft starts at term 1). The applied index is kept (at
    /// least 1), so the ids of leases granted later, drawn from raft indexes,
    /// never meet the ids of the leases the state already holds. Written as a
    /// checkpoint before this returns.
    pub fn become_new_cluster(
        &mut self,
        cluster_id: u64,
        members: &[Member],
    ) -> Result<(), NodeError> {
        let backend = self.kv.backend_mut();
        for tree in [Tree::Members, Tree::Alarms] {
            let mut keys = Vec::new();
            backend
                .scan(tree, (Bound::Unbounded, Bound::Unbounded), false, |k, _| {
                    keys.push(k.clone());
                    Ok(ControlFlow::Continue(()))
                })
                .map_err(fatal)?;
            for key in keys {
                backend.delete(tree, &key);
            }
        }
        let conf_state = write_members(backend, members);
        self.meta.index = self.meta.index.max(1);
        self.meta.term = 1;
        self.meta.conf_state = conf_state;
        self.meta.cluster_id = cluster_id;
        self.checkpoints.clear();
        self.checkpoint()?;
        self.load_cluster_state()
    }
}
