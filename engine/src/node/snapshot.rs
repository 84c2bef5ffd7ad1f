//! Snapshots arriving from the leader, and this member's published identity.

use super::NodeError;
use super::driver::Driver;
use super::proposal::{Proposal, ProposalBody};
use crate::api::Member;
use bytes::Bytes;
use raft::eraftpb::{Message, Snapshot};
use tokio::time::Instant;

impl Driver {
    /// A snapshot message and its image arrived: the image is verified and
    /// staged beside the state before raft sees the message, so a damaged
    /// image is dropped here (the leader sends another) and never stops the
    /// member.
    pub(crate) fn receive_snapshot(&mut self, message: Message, image: Bytes) {
        let meta = message.get_snapshot().get_metadata();
        let (index, term) = (meta.index, meta.term);
        if index <= self.state.applied_index() {
            return;
        }
        match self.state.stage_image(&image) {
            Ok(staged) if staged.index == index && staged.term == term => {
                if self.expected_cluster_id != 0 && staged.cluster_id != self.expected_cluster_id {
                    tracing::warn!(
                        member = self.config.member_id,
                        "refusing a snapshot of cluster {:x}",
                        staged.cluster_id
                    );
                    return;
                }
                self.staged_snapshot = Some((index, term));
                self.step(message);
            }
            Ok(staged) => tracing::warn!(
                member = self.config.member_id,
                "snapshot image holds {}@{}, the message says {index}@{term}; dropped",
                staged.index,
                staged.term
            ),
            Err(err) => tracing::warn!(
                member = self.config.member_id,
                "snapshot image refused: {err}"
            ),
        }
    }

    /// raft handed over a snapshot in a Ready: record it in the log, then
    /// make the staged image the state (see `state_machine/snapshot.rs` for
    /// why in this order).
    pub(crate) fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), NodeError> {
        let meta = snapshot.get_metadata();
        if self.staged_snapshot != Some((meta.index, meta.term)) {
            return Err(NodeError::BadSnapshot(format!(
                "raft installs {}@{} but the staged image is {:?}",
                meta.index, meta.term, self.staged_snapshot
            )));
        }
        self.raw.mut_store().apply_snapshot(meta)?;
        self.state.promote_staged()?;
        self.sync_lease_clock();
        self.staged_snapshot = None;
        self.applied_since_checkpoint = 0;
        self.snapshots_installed += 1;
        tracing::info!(
            member = self.config.member_id,
            index = meta.index,
            "installed a snapshot from the leader"
        );
        Ok(())
    }

    /// Proposes this member's name and client URLs once a leader is known
    /// and until the member list shows them (etcd's "started" state).
    pub(crate) fn maybe_publish(&mut self, now: Instant) {
        if self.config.name.is_empty() {
            self.published = true;
            return;
        }
        if self.raw.raft.leader_id == 0 {
            return;
        }
        let Some(me) = self
            .state
            .members()
            .into_iter()
            .find(|m| m.id == self.config.member_id)
        else {
            return;
        };
        self.published = me.name == self.config.name && me.client_urls == self.config.client_urls;
        if self.published || self.publish_due.is_some_and(|due| now < due) {
            return;
        }
        let published = Member {
            name: self.config.name.clone(),
            client_urls: self.config.client_urls.clone(),
            ..me
        };
        let proposal = Proposal {
            origin: self.config.member_id,
            request_id: 0,
            who: None,
            body: ProposalBody::Publish(published),
        };
        if let Err(err) = self.raw.propose(vec![], proposal.encode().to_vec()) {
            tracing::debug!(member = self.config.member_id, "publish: {err}");
        }
        self.publish_due =
            Some(now + self.config.tick_interval * self.config.election_ticks as u32);
    }
}
