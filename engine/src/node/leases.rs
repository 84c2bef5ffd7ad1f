//! The node's side of leases: deadlines follow what applies here, the
//! leader proposes expiries and checkpoints, and time-to-live answers come
//! from this member's own countdown (see `lease_clock`).

use super::driver::Driver;
use super::lease_clock::seconds_duration;
use super::proposal::{Proposal, ProposalBody};
use crate::api::*;
use raft::StateRole;
use tokio::time::Instant;

impl Driver {
    /// Keeps the clock in step with an entry that just applied here.
    pub(crate) fn lease_applied(
        &mut self,
        body: &ProposalBody,
        result: &Result<Response, ApiError>,
    ) {
        let now = Instant::now();
        let applied = self.state.applied_index();
        let refreshed = |id: i64| self.state.lease(id).map_or(applied, |l| l.refreshed_index);
        match (body, result) {
            (ProposalBody::Client(Request::LeaseGrant(_)), Ok(Response::LeaseGrant(g))) => {
                let from = refreshed(g.id);
                self.leases
                    .refresh(g.id, now + seconds_duration(g.ttl_seconds), from);
            }
            (ProposalBody::Client(Request::LeaseKeepAlive(_)), Ok(Response::LeaseKeepAlive(k))) => {
                let from = refreshed(k.id);
                self.leases
                    .refresh(k.id, now + seconds_duration(k.ttl_seconds), from);
            }
            (ProposalBody::Client(Request::LeaseRevoke(r)), _) => self.leases.forget(r.id),
            (ProposalBody::LeaseExpire { id, .. }, Ok(_)) => self.leases.forget(*id),
            (ProposalBody::LeaseExpire { id, .. }, Err(ApiError::LeaseNotFound)) => {
                self.leases.forget(*id)
            }
            (ProposalBody::LeaseExpire { id, .. }, Err(_)) => self.leases.expiry_settled(*id),
            (ProposalBody::Client(Request::LeaseKeepAlive(k)), Err(ApiError::LeaseNotFound)) => {
                self.leases.forget(k.id)
            }
            (
                ProposalBody::LeaseCheckpoint {
                    decided_index,
                    remaining,
                },
                Ok(_),
            ) => {
                // The leader's countdown, where it is the newer fact: this
                // member may be replaying entries after a restart, whose
                // grants and keep-alives restarted its clock at full TTL.
                for &(id, left) in remaining {
                    let current = self.state.lease(id);
                    if current.is_some_and(|l| l.refreshed_index <= *decided_index) {
                        self.leases.shorten(id, now + seconds_duration(left.max(1)));
                    }
                }
            }
            _ => {}
        }
    }

    /// The state changed wholesale (opened, or a snapshot installed).
    pub(crate) fn sync_lease_clock(&mut self) {
        let leases = self.state.leases();
        self.leases.sync_with(&leases, Instant::now());
    }

    /// Per tick: a leader that has applied everything of earlier terms
    /// proposes expiries for leases past their deadline, and now and then
    /// a checkpoint of the remaining TTLs.
    pub(crate) fn tick_leases(&mut self, now: Instant) {
        if self.raw.raft.state != StateRole::Leader {
            self.leases.clear_expiring();
            return;
        }
        // Until an entry of this term has applied, entries of earlier terms
        // (keep-alives among them) may still be on their way.
        if self.state.applied_term() != self.raw.raft.term {
            return;
        }
        let retry_after = self.config.election_timeout() * 2;
        let decided_index = self.state.applied_index();
        for id in
            self.leases
                .take_expired(now, retry_after, self.config.max_lease_expiries_per_tick)
        {
            self.propose_internal(ProposalBody::LeaseExpire { id, decided_index });
        }
        if now >= self.lease_checkpoint_due {
            self.lease_checkpoint_due = now + self.config.lease_checkpoint_interval;
            let remaining = self
                .leases
                .checkpoint(now, self.config.max_leases_per_checkpoint);
            if !remaining.is_empty() {
                self.propose_internal(ProposalBody::LeaseCheckpoint {
                    decided_index,
                    remaining,
                });
            }
        }
    }

    /// Proposes an entry nobody waits for; if it is dropped, the next tick
    /// decides again.
    fn propose_internal(&mut self, body: ProposalBody) {
        let proposal = Proposal {
            origin: self.config.member_id,
            request_id: 0,
            who: None,
            body,
        };
        if let Err(err) = self.raw.propose(vec![], proposal.encode().to_vec()) {
            tracing::debug!(member = self.config.member_id, "lease proposal: {err}");
        }
    }

    /// A read from the applied state, with this member's countdown as a
    /// lease's remaining time (whole seconds, truncated, as etcd's).
    pub(crate) fn read_state(&self, request: &Request) -> Result<Response, ApiError> {
        let mut response = self.state.read(request)?;
        if let Response::LeaseTimeToLive(ttl) = &mut response {
            if ttl.ttl_seconds >= 0 {
                if let Some(left) = self.leases.remaining_whole_seconds(ttl.id, Instant::now()) {
                    ttl.ttl_seconds = left;
                }
            }
        }
        Ok(response)
    }

    /// The deliberately broken keep-alive (`testing::broken`, local-keepalive):
    /// this member restarts only its own countdown and answers at once.
    pub(crate) fn keep_alive_locally(
        &mut self,
        k: LeaseKeepAliveRequest,
        reply: super::driver::Reply,
    ) {
        let result = match self.state.lease(k.id) {
            None => Err(ApiError::LeaseNotFound),
            Some(lease) => {
                let deadline = Instant::now() + seconds_duration(lease.ttl_seconds);
                self.leases.refresh(k.id, deadline, lease.refreshed_index);
                Ok(Response::LeaseKeepAlive(LeaseKeepAliveResponse {
                    header: ResponseHeader::default(),
                    id: k.id,
                    ttl_seconds: lease.ttl_seconds,
                }))
            }
        };
        let _ = reply.send(result.map(|r| self.finish_header(r)));
    }

    /// Raises a grant's TTL to the cluster's minimum (etcd's rule), before
    /// it is proposed, so every member applies the same TTL.
    pub(crate) fn clamp_lease_ttl(&self, grant: &mut LeaseGrantRequest) {
        grant.ttl_seconds = grant.ttl_seconds.max(self.config.min_lease_ttl_seconds());
    }
}
