//! Client requests entering the node: what is served locally, what waits
//! for a ReadIndex round, what is proposed through raft.

use super::driver::{Driver, Reply};
use super::proposal::{Proposal, ProposalBody};
use crate::api::*;
use crate::auth::{AuthInfo, check_request};
use crate::mvcc::txn::{check_delete, check_put, check_range, check_txn};
use crate::state_machine::txn_puts;
use raft::StateRole;
use raft::eraftpb::{ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2};
use tokio::time::Instant;

/// Whether a txn only reads.
pub(crate) fn txn_is_read_only(txn: &TxnRequest) -> bool {
    txn.success.iter().chain(&txn.failure).all(|op| match op {
        RequestOp::Range(_) => true,
        RequestOp::Txn(t) => txn_is_read_only(t),
        _ => false,
    })
}

/// Whether every read of a read-only txn is serializable.
fn txn_is_serializable(txn: &TxnRequest) -> bool {
    txn.success.iter().chain(&txn.failure).all(|op| match op {
        RequestOp::Range(r) => r.serializable,
        RequestOp::Txn(t) => txn_is_serializable(t),
        _ => false,
    })
}

impl Driver {
    pub(crate) fn on_client(
        &mut self,
        mut request: Request,
        credentials: Credentials,
        reply: Reply,
    ) {
        if self.stopped.is_some() || self.removed_at.is_some() {
            let _ = reply.send(Err(ApiError::Stopped));
            return;
        }
        let who = match self
            .tokens
            .resolve(&credentials, self.state.auth(), Instant::now())
        {
            Ok(who) => who,
            Err(err) => {
                let _ = reply.send(Err(err));
                return;
            }
        };
        if let Err(err) = self.check_request(&request) {
            let _ = reply.send(Err(err));
            return;
        }
        // Reads are checked when served, writes when they apply; what is
        // neither (membership changes, maintenance) is checked now, as
        // etcd checks it before proposing.
        let checked_now = matches!(
            request,
            Request::MemberAdd(_)
                | Request::MemberRemove(_)
                | Request::MemberPromote(_)
                | Request::MoveLeader(_)
                | Request::Defragment
        );
        let trusted = credentials == Credentials::Member;
        if checked_now && !trusted {
            if let Err(err) = self.permitted(&request, who.as_ref()) {
                let _ = reply.send(Err(err));
                return;
            }
        }
        let deadline = Instant::now() + self.config.request_timeout;
        if let Request::LeaseGrant(grant) = &mut request {
            self.clamp_lease_ttl(grant);
        }
        match request {
            Request::Range(ref r)
                if r.serializable || crate::testing::broken::Bug::StaleReads.is_on() =>
            {
                self.serve_local(&request, who.as_ref(), reply)
            }
            Request::Txn(ref t) if txn_is_read_only(t) && txn_is_serializable(t) => {
                self.serve_local(&request, who.as_ref(), reply)
            }
            Request::MemberList(ref l) if !l.linearizable => {
                self.serve_local(&request, who.as_ref(), reply)
            }
            Request::Status | Request::HashKv(_) if trusted => {
                self.serve_unchecked(&request, reply)
            }
            Request::Status | Request::HashKv(_) => self.serve_local(&request, who.as_ref(), reply),
            Request::Range(_) | Request::MemberList(_) => {
                self.reads.push((request, who, reply), deadline)
            }
            Request::Txn(ref t) if txn_is_read_only(t) => {
                self.reads.push((request, who, reply), deadline)
            }
            Request::Alarm(ref a) if a.action == AlarmAction::Get => {
                self.reads.push((request, who, reply), deadline)
            }
            Request::LeaseTimeToLive(_) | Request::LeaseLeases => {
                self.reads.push((request, who, reply), deadline)
            }
            Request::Auth(ref a) if a.is_read() => self.reads.push((request, who, reply), deadline),
            Request::LeaseKeepAlive(k) if crate::testing::broken::Bug::LocalKeepalive.is_on() => {
                self.keep_alive_locally(k, reply)
            }
            Request::MoveLeader(m) => self.move_leader(m.target_id, reply, deadline),
            Request::Defragment => self.defragment(reply),
            Request::MemberAdd(add) => self.propose_member_add(add, reply, deadline),
            Request::MemberRemove(remove) => self.propose_member_remove(remove.id, reply, deadline),
            Request::MemberPromote(promote) => self.propose_promote(promote.id, reply, deadline),
            Request::Put(_)
            | Request::DeleteRange(_)
            | Request::Txn(_)
            | Request::Compact(_)
            | Request::MemberUpdate(_)
            | Request::Alarm(_)
            | Request::LeaseGrant(_)
            | Request::LeaseRevoke(_)
            | Request::LeaseKeepAlive(_)
            | Request::Auth(_) => self.propose(ProposalBody::Client(request), who, reply, deadline),
        }
    }

    /// Stateless checks (etcd does them before proposing) and the space quota.
    fn check_request(&mut self, request: &Request) -> Result<(), ApiError> {
        match request {
            Request::Range(r) => check_range(r),
            Request::Put(p) => {
                check_put(p)?;
                self.check_quota(p.key.len() + p.value.len())
            }
            Request::DeleteRange(d) => check_delete(d),
            Request::LeaseGrant(g) if g.ttl_seconds > MAX_LEASE_TTL_SECONDS => {
                Err(ApiError::LeaseTtlTooLarge)
            }
            Request::LeaseGrant(_) => self.check_quota(0),
            Request::Auth(
                AuthRequest::UserAdd {
                    credential: Credential::Password(_),
                    ..
                }
                | AuthRequest::UserChangePassword {
                    credential: Credential::Password(_),
                    ..
                },
            ) => Err(ApiError::BadRequest(
                "a password must be hashed before it reaches the node".into(),
            )),
            Request::Txn(t) => {
                check_txn(t, self.config.max_txn_ops)?;
                if txn_puts(t) {
                    self.check_quota(0)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Refuses writes once the backend is past its quota, raising the
    /// cluster-wide NOSPACE alarm the first time (as etcd does).
    fn check_quota(&mut self, request_bytes: usize) -> Result<(), ApiError> {
        if self.state.alarm_active(AlarmType::NoSpace) {
            return Err(ApiError::NoSpace);
        }
        let projected = self.state.db_size_in_use() + request_bytes as u64;
        if projected <= self.config.quota_backend_bytes {
            return Ok(());
        }
        let alarm = AlarmRequest {
            action: AlarmAction::Activate,
            member_id: self.config.member_id,
            alarm: AlarmType::NoSpace,
        };
        let proposal = Proposal {
            origin: self.config.member_id,
            request_id: 0,
            who: None,
            body: ProposalBody::Client(Request::Alarm(alarm)),
        };
        if let Err(err) = self.raw.propose(vec![], proposal.encode().to_vec()) {
            tracing::debug!(member = self.config.member_id, "alarm proposal: {err}");
        }
        Err(ApiError::NoSpace)
    }

    /// Serves the member's own read (see [`Credentials::Member`]).
    fn serve_unchecked(&mut self, request: &Request, reply: Reply) {
        let result = match request {
            Request::Status => Ok(Response::Status(self.status_response())),
            _ => self.read_state(request),
        };
        let _ = reply.send(result.map(|r| self.finish_header(r)));
    }

    fn serve_local(&mut self, request: &Request, who: Option<&AuthInfo>, reply: Reply) {
        let result = match request {
            Request::Status => Ok(Response::Status(self.status_response())),
            _ => self
                .permitted(request, who)
                .and_then(|()| self.read_state(request)),
        };
        let _ = reply.send(result.map(|r| self.finish_header(r)));
    }

    /// Whether `credentials` allow `need` (see [`super::handle::Need`]).
    pub(crate) fn authorize(
        &mut self,
        credentials: &Credentials,
        need: &super::handle::Need,
    ) -> Result<(), ApiError> {
        if self.stopped.is_some() {
            return Err(ApiError::Stopped);
        }
        let who = self
            .tokens
            .resolve(credentials, self.state.auth(), Instant::now())?;
        let auth = self.state.auth();
        if !auth.enabled() {
            return Ok(());
        }
        match need {
            super::handle::Need::Read { key, range_end } => {
                auth.check(who.as_ref(), key, range_end, crate::auth::Access::Read)
            }
            super::handle::Need::Admin => auth.check_admin(who.as_ref()),
        }
    }

    /// Whether `who` may make `request` under the auth store as applied
    /// here (etcd 3.4's checks, [`check_request`]).
    pub(crate) fn permitted(
        &self,
        request: &Request,
        who: Option<&AuthInfo>,
    ) -> Result<(), ApiError> {
        let kv = self.state.kv();
        check_request(self.state.auth(), who, request, &|id| kv.lease_keys(id))
    }

    /// Proposes a normal entry; the answer comes when it applies here.
    fn propose(
        &mut self,
        body: ProposalBody,
        who: Option<AuthInfo>,
        reply: Reply,
        deadline: Instant,
    ) {
        if self.pending.len() >= self.config.max_pending_proposals {
            let _ = reply.send(Err(ApiError::TooManyRequests));
            return;
        }
        let request_id = self.pending.register(reply, deadline);
        let proposal = Proposal {
            origin: self.config.member_id,
            request_id,
            who,
            body,
        };
        let data = proposal.encode();
        if data.len() > self.config.max_request_bytes + 1024 {
            self.answer(request_id, Err(ApiError::RequestTooLarge));
            return;
        }
        if let Err(err) = self.raw.propose(vec![], data.to_vec()) {
            self.answer(request_id, Err(self.no_leader_error(err)));
        }
    }

    fn propose_conf_change(
        &mut self,
        change: ConfChangeSingle,
        body: ProposalBody,
        reply: Reply,
        deadline: Instant,
    ) {
        if self.raw.raft.has_pending_conf() {
            let _ = reply.send(Err(ApiError::Unavailable(
                "a membership change is in progress; retry".into(),
            )));
            return;
        }
        let request_id = self.pending.register(reply, deadline);
        let proposal = Proposal {
            origin: self.config.member_id,
            request_id,
            who: None,
            body,
        };
        let mut cc = ConfChangeV2::default();
        cc.set_transition(ConfChangeTransition::Auto);
        cc.set_changes(vec![change].into());
        cc.set_context(proposal.encode());
        if let Err(err) = self.raw.propose_conf_change(vec![], cc) {
            self.answer(request_id, Err(self.no_leader_error(err)));
        }
    }

    fn answer(&mut self, request_id: u64, result: Result<Response, ApiError>) {
        if let Some(reply) = self.pending.take(request_id) {
            let _ = reply.send(result);
        }
    }

    fn no_leader_error(&self, err: raft::Error) -> ApiError {
        match err {
            raft::Error::ProposalDropped if self.raw.raft.leader_id == 0 => ApiError::NoLeader,
            raft::Error::ProposalDropped => ApiError::NotLeader {
                leader_hint: Some(self.raw.raft.leader_id),
            },
            other => ApiError::Unavailable(other.to_string()),
        }
    }

    fn propose_member_add(&mut self, add: MemberAddRequest, reply: Reply, deadline: Instant) {
        let members = self.state.members();
        if add.peer_urls.is_empty() || add.peer_urls.iter().any(|u| !valid_peer_url(u)) {
            let _ = reply.send(Err(ApiError::MemberBadUrls));
            return;
        }
        if members
            .iter()
            .any(|m| m.peer_urls.iter().any(|u| add.peer_urls.contains(u)))
        {
            let _ = reply.send(Err(ApiError::PeerUrlExists));
            return;
        }
        if add.is_learner && members.iter().filter(|m| m.is_learner).count() >= 1 {
            let _ = reply.send(Err(ApiError::TooManyLearners));
            return;
        }
        let strict = self.config.strict_reconfig_check;
        if strict && !add.is_learner && !add.force && !ready_to_add_voter(&members) {
            let _ = reply.send(Err(ApiError::NotEnoughStartedMembers));
            return;
        }
        let salt = self.raw.raft.raft_log.last_index() + 1;
        let id = super::ids::member_id(&add.peer_urls, &self.state.cluster_id().to_string(), salt);
        if members.iter().any(|m| m.id == id) {
            let _ = reply.send(Err(ApiError::MemberExists));
            return;
        }
        let member = Member {
            id,
            name: String::new(),
            peer_urls: add.peer_urls,
            client_urls: Vec::new(),
            is_learner: add.is_learner,
        };
        let kind = if add.is_learner {
            ConfChangeType::AddLearnerNode
        } else {
            ConfChangeType::AddNode
        };
        let change = single_change(id, kind);
        self.propose_conf_change(change, ProposalBody::AddMember(member), reply, deadline);
    }

    fn propose_member_remove(&mut self, id: u64, reply: Reply, deadline: Instant) {
        let members = self.state.members();
        let Some(target) = members.iter().find(|m| m.id == id) else {
            let _ = reply.send(Err(ApiError::MemberNotFound));
            return;
        };
        let strict = self.config.strict_reconfig_check;
        if strict && !target.is_learner && !quorum_survives_removal(&members, id) {
            let _ = reply.send(Err(ApiError::NotEnoughStartedMembers));
            return;
        }
        if id == self.config.member_id && self.raw.raft.state == StateRole::Leader {
            // raft-rs wants leadership moved before the leader is removed.
            if let Some(next) = self.best_transferee(id) {
                self.raw.transfer_leader(next);
            }
            let _ = reply.send(Err(ApiError::LeaderChanged));
            return;
        }
        let change = single_change(id, ConfChangeType::RemoveNode);
        self.propose_conf_change(change, ProposalBody::RemoveMember(id), reply, deadline);
    }

    fn propose_promote(&mut self, id: u64, reply: Reply, deadline: Instant) {
        let members = self.state.members();
        let Some(target) = members.iter().find(|m| m.id == id) else {
            let _ = reply.send(Err(ApiError::MemberNotFound));
            return;
        };
        if !target.is_learner {
            let _ = reply.send(Err(ApiError::MemberNotLearner));
            return;
        }
        if self.raw.raft.state != StateRole::Leader {
            let leader = self.raw.raft.leader_id;
            let _ = reply.send(Err(if leader == 0 {
                ApiError::NoLeader
            } else {
                ApiError::NotLeader {
                    leader_hint: Some(leader),
                }
            }));
            return;
        }
        // etcd's rule: the learner's log must match at least 90% of the leader's.
        let leader_match = self.raw.raft.raft_log.last_index();
        let learner_match = self
            .raw
            .raft
            .prs()
            .get(id)
            .map_or(0, |progress| progress.matched);
        if (learner_match as f64) < (leader_match as f64) * 0.9 {
            let _ = reply.send(Err(ApiError::LearnerNotReady));
            return;
        }
        let change = single_change(id, ConfChangeType::AddNode);
        self.propose_conf_change(change, ProposalBody::PromoteMember(id), reply, deadline);
    }

    fn move_leader(&mut self, target: u64, reply: Reply, deadline: Instant) {
        if self.raw.raft.state != StateRole::Leader {
            let _ = reply.send(Err(ApiError::NotLeader {
                leader_hint: Some(self.raw.raft.leader_id).filter(|&l| l != 0),
            }));
            return;
        }
        let is_voter = self
            .state
            .members()
            .iter()
            .any(|m| m.id == target && !m.is_learner);
        if !is_voter {
            let _ = reply.send(Err(ApiError::BadLeaderTransferee));
            return;
        }
        if target == self.config.member_id {
            let response = Response::MoveLeader(MoveLeaderResponse::default());
            let _ = reply.send(Ok(self.finish_header(response)));
            return;
        }
        self.raw.transfer_leader(target);
        self.transfers.push((target, reply, deadline));
    }

    /// Answers leader transfers that completed or timed out.
    pub(crate) fn check_transfers(&mut self, now: Instant) {
        let leader = self.raw.raft.leader_id;
        let mut waiting = Vec::new();
        for (target, reply, deadline) in std::mem::take(&mut self.transfers) {
            if leader == target {
                let response = Response::MoveLeader(MoveLeaderResponse::default());
                let _ = reply.send(Ok(self.finish_header(response)));
            } else if deadline <= now {
                let _ = reply.send(Err(ApiError::Timeout));
            } else {
                waiting.push((target, reply, deadline));
            }
        }
        self.transfers = waiting;
    }

    /// The voter (other than `except`) whose log is furthest along.
    fn best_transferee(&self, except: u64) -> Option<u64> {
        let voters: Vec<u64> = self
            .state
            .members()
            .iter()
            .filter(|m| !m.is_learner && m.id != except)
            .map(|m| m.id)
            .collect();
        voters
            .into_iter()
            .max_by_key(|id| self.raw.raft.prs().get(*id).map_or(0, |p| p.matched))
    }

    /// `endpoint status` for this member.
    pub(crate) fn status_response(&self) -> StatusResponse {
        StatusResponse {
            header: ResponseHeader::default(),
            version: crate::version::ETCD_VERSION.to_string(),
            db_size: self.state.db_size() as i64,
            db_size_in_use: self.state.db_size_in_use() as i64,
            leader: self.raw.raft.leader_id,
            raft_index: self.raw.raft.raft_log.last_index(),
            raft_term: self.raw.raft.term,
            raft_applied_index: self.state.applied_index(),
            errors: self
                .state
                .alarms()
                .iter()
                .map(|a| format!("memberID:{} alarm:{} ", a.member_id, a.alarm.name()))
                .collect(),
            is_learner: self
                .state
                .members()
                .iter()
                .any(|m| m.id == self.config.member_id && m.is_learner),
        }
    }
}

/// One membership change of `kind` for member `id`.
fn single_change(id: u64, kind: ConfChangeType) -> ConfChangeSingle {
    let mut change = ConfChangeSingle {
        node_id: id,
        ..ConfChangeSingle::default()
    };
    change.set_change_type(kind);
    change
}

/// etcd's `IsReadyToAddVotingMember`: after the add, the started voters must
/// still be a quorum (a one-member cluster may always add its second member).
fn ready_to_add_voter(members: &[Member]) -> bool {
    let voters = members.iter().filter(|m| !m.is_learner);
    let started = voters.clone().filter(|m| m.is_started()).count();
    let after = voters.count() + 1;
    if started == 1 && after == 2 {
        return true;
    }
    // A quorum of the voters after the add: more than half.
    started > after / 2
}

/// etcd's `mayRemoveMember`: the started voters left must be a quorum.
fn quorum_survives_removal(members: &[Member], id: u64) -> bool {
    let left: Vec<&Member> = members
        .iter()
        .filter(|m| !m.is_learner && m.id != id)
        .collect();
    let started = left.iter().filter(|m| m.is_started()).count();
    started > left.len() / 2
}

/// A peer URL is `http://host:port` or `https://host:port`.
pub(crate) fn valid_peer_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    match rest.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, started: bool, learner: bool) -> Member {
        Member {
            id,
            name: if started {
                format!("m{id}")
            } else {
                String::new()
            },
            peer_urls: vec![format!("http://127.0.0.1:{}", 2380 + id)],
            client_urls: vec![],
            is_learner: learner,
        }
    }

    #[test]
    fn adding_a_voter_needs_a_started_quorum_afterwards() {
        assert!(
            ready_to_add_voter(&[member(1, true, false)]),
            "1 -> 2 is allowed"
        );
        // 2 voters, one not started: adding a third leaves 1 of 3 started.
        assert!(!ready_to_add_voter(&[
            member(1, true, false),
            member(2, false, false)
        ]));
        let three = [
            member(1, true, false),
            member(2, true, false),
            member(3, true, false),
        ];
        assert!(ready_to_add_voter(&three));
        let mut with_unstarted = three.to_vec();
        with_unstarted.push(member(4, false, false));
        // 4 voters (3 started) + 1 = 5, quorum 3: still fine.
        assert!(ready_to_add_voter(&with_unstarted));
        with_unstarted.push(member(5, false, false));
        // 5 voters (3 started) + 1 = 6, quorum 4: refused.
        assert!(!ready_to_add_voter(&with_unstarted));
        // Learners do not count.
        assert!(ready_to_add_voter(&[
            member(1, true, false),
            member(2, false, true)
        ]));
    }

    #[test]
    fn removing_a_member_keeps_a_started_quorum() {
        let members = [
            member(1, true, false),
            member(2, true, false),
            member(3, false, false),
        ];
        assert!(!quorum_survives_removal(&members, 1), "1 started of 2 left");
        assert!(quorum_survives_removal(&members, 3));
    }

    #[test]
    fn peer_urls_need_scheme_host_and_port() {
        assert!(valid_peer_url("http://10.0.0.1:2380"));
        assert!(valid_peer_url("https://host:2380"));
        assert!(!valid_peer_url("10.0.0.1:2380"));
        assert!(!valid_peer_url("http://host"));
        assert!(!valid_peer_url("http://:2380"));
        assert!(!valid_peer_url("http://host:0"));
        assert!(!valid_peer_url("http://host:99999"));
    }

    #[test]
    fn read_only_txns_are_recognised() {
        let read = RequestOp::Range(RangeRequest::default());
        let write = RequestOp::Put(PutRequest::default());
        let txn = |ops: Vec<RequestOp>| TxnRequest {
            compare: vec![],
            success: ops,
            failure: vec![],
        };
        assert!(txn_is_read_only(&txn(vec![read.clone()])));
        assert!(!txn_is_read_only(&txn(vec![read.clone(), write.clone()])));
        assert!(!txn_is_read_only(&txn(vec![RequestOp::Txn(txn(vec![
            write
        ]))])));
        assert!(txn_is_read_only(&txn(vec![RequestOp::Txn(txn(vec![
            read
        ]))])));
    }
}
