//! The replicated state machine: the key-value store plus the cluster's own
//! state (members, alarms, users and roles), the applied raft index, and its
//! checkpoints.
//!
//! Invariants:
//! - Applying is deterministic: it depends only on the entries and the state
//!   before them, never on configuration, clocks or local knowledge.
//! - The applied index and term, the raft configuration (ConfState) and the
//!   cluster id live in the checkpoint's meta, written atomically with the
//!   data they describe: after a restart, the state is exactly "everything up
//!   to the applied index", and the raft log replays what follows.
//! - A checkpoint is also the raft snapshot: its image is what a lagging
//!   member receives, and it carries the same meta.

mod defrag;
mod rebirth;
mod records;
mod snapshot;

pub use defrag::{DefragCopy, DefragJob, DefragOutcome};
pub use records::AppliedMeta;

use crate::api::*;
use crate::auth::{AuthInfo, AuthStore, check_request};
use crate::mvcc::{Backend, KvError, KvStore, Tree};
use crate::node::NodeError;
use crate::node::proposal::ProposalBody;
use crate::storage::btree::ReadView;
use crate::storage::disk::Disk;
use bytes::Bytes;
use raft::eraftpb::ConfState;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, ControlFlow};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A checkpoint as raft sees it: a snapshot at `index`.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Applied index the checkpoint holds.
    pub index: u64,
    /// Term of that index.
    pub term: u64,
    /// Raft configuration as of that index.
    pub conf_state: ConfState,
    /// The checkpoint's pinned content, exported for lagging members.
    pub view: ReadView,
}

/// Key-value store, members and alarms, applied up to an index.
#[derive(Debug)]
pub struct StateMachine {
    disk: Arc<dyn Disk>,
    db_path: PathBuf,
    kv: KvStore,
    meta: AppliedMeta,
    members: BTreeMap<u64, Member>,
    removed: BTreeSet<u64>,
    alarms: BTreeSet<AlarmMember>,
    auth: AuthStore,
    /// The newest checkpoints (at most two), for snapshot images.
    checkpoints: Vec<Checkpoint>,
}

impl StateMachine {
    /// Opens the state at `db_path` as of its last checkpoint.
    pub fn open(disk: Arc<dyn Disk>, db_path: &Path) -> Result<StateMachine, NodeError> {
        Self::remove_defrag_leftover(disk.as_ref(), db_path)?;
        let backend = Backend::open(Arc::clone(&disk), db_path).map_err(fatal)?;
        Self::from_backend(disk, db_path, backend)
    }

    /// Whether a state exists at `db_path` (the member has data).
    pub fn exists(disk: &dyn Disk, db_path: &Path) -> Result<bool, NodeError> {
        disk.exists(db_path)
            .map_err(|e| NodeError::Storage(e.to_string()))
    }

    fn from_backend(
        disk: Arc<dyn Disk>,
        db_path: &Path,
        backend: Backend,
    ) -> Result<StateMachine, NodeError> {
        let view = backend.checkpoint_view();
        let meta = AppliedMeta::decode(&view.user_meta())
            .map_err(|e| NodeError::Corrupt(format!("checkpoint meta: {e}")))?;
        let kv = KvStore::open(backend).map_err(fatal)?;
        let mut state = StateMachine {
            disk,
            db_path: db_path.to_path_buf(),
            kv,
            meta,
            members: BTreeMap::new(),
            removed: BTreeSet::new(),
            alarms: BTreeSet::new(),
            auth: AuthStore::default(),
            checkpoints: Vec::new(),
        };
        state.load_cluster_state()?;
        if state.meta.index > 0 {
            state.checkpoints.push(Checkpoint {
                index: state.meta.index,
                term: state.meta.term,
                conf_state: state.meta.conf_state.clone(),
                view,
            });
        }
        Ok(state)
    }

    fn load_cluster_state(&mut self) -> Result<(), NodeError> {
        let backend = self.kv.backend();
        let all = (Bound::Unbounded, Bound::Unbounded);
        let (mut members, mut removed, mut alarms) =
            (BTreeMap::new(), BTreeSet::new(), BTreeSet::new());
        backend
            .scan(Tree::Members, all, false, |_, v| {
                match records::decode_member_entry(v)? {
                    records::MemberEntry::Active(m) => {
                        members.insert(m.id, m);
                    }
                    records::MemberEntry::Removed(id) => {
                        removed.insert(id);
                    }
                }
                Ok(ControlFlow::Continue(()))
            })
            .map_err(fatal)?;
        backend
            .scan(Tree::Alarms, all, false, |k, _| {
                alarms.insert(records::decode_alarm_key(k)?);
                Ok(ControlFlow::Continue(()))
            })
            .map_err(fatal)?;
        let mut auth_entries = Vec::new();
        backend
            .scan(Tree::Auth, all, false, |k, v| {
                auth_entries.push((k.clone(), v.clone()));
                Ok(ControlFlow::Continue(()))
            })
            .map_err(fatal)?;
        let auth = AuthStore::load(auth_entries.iter().map(|(k, v)| (k.as_ref(), v)))
            .map_err(|e| NodeError::Corrupt(format!("auth store: {e}")))?;
        self.members = members;
        self.removed = removed;
        self.alarms = alarms;
        self.auth = auth;
        Ok(())
    }

    /// Creates the state of a new cluster: its members as the voters, the
    /// cluster id, and the bootstrap checkpoint at index 1, term 1 (which
    /// every initial member builds identically, and which a member joining
    /// later receives as a snapshot).
    pub fn bootstrap(
        disk: Arc<dyn Disk>,
        db_path: &Path,
        cluster_id: u64,
        members: &[Member],
    ) -> Result<StateMachine, NodeError> {
        let mut backend = Backend::open(Arc::clone(&disk), db_path).map_err(fatal)?;
        if !backend.checkpoint_view().user_meta().is_empty() {
            return Err(NodeError::Storage(format!(
                "{} already holds a member's data; refusing to bootstrap over it",
                db_path.display()
            )));
        }
        let conf_state = write_members(&mut backend, members);
        let meta = AppliedMeta {
            index: 1,
            term: 1,
            conf_state,
            cluster_id,
        };
        backend
            .checkpoint(meta.encode().map_err(NodeError::Corrupt)?)
            .map_err(fatal)?;
        drop(backend);
        Self::open(disk, db_path)
    }

    /// Raft index of the last applied entry.
    pub fn applied_index(&self) -> u64 {
        self.meta.index
    }

    /// Term of the last applied entry.
    pub fn applied_term(&self) -> u64 {
        self.meta.term
    }

    /// Raft configuration as of the applied index.
    pub fn conf_state(&self) -> &ConfState {
        &self.meta.conf_state
    }

    /// The cluster this state belongs to (0 until a joining member installs
    /// its first snapshot).
    pub fn cluster_id(&self) -> u64 {
        self.meta.cluster_id
    }

    /// Store revision.
    pub fn revision(&self) -> i64 {
        self.kv.revision()
    }

    /// Members, by id.
    pub fn members(&self) -> Vec<Member> {
        self.members.values().cloned().collect()
    }

    /// Whether `id` was removed from the cluster.
    pub fn is_removed(&self, id: u64) -> bool {
        self.removed.contains(&id)
    }

    /// Users, roles and permissions, as applied.
    pub fn auth(&self) -> &AuthStore {
        &self.auth
    }

    /// Active alarms.
    pub fn alarms(&self) -> Vec<AlarmMember> {
        self.alarms.iter().copied().collect()
    }

    /// Whether any member has raised `alarm`.
    pub fn alarm_active(&self, alarm: AlarmType) -> bool {
        self.alarms.iter().any(|a| a.alarm == alarm)
    }

    /// Backend file size (etcd's dbSize).
    pub fn db_size(&self) -> u64 {
        self.kv.backend().space().0
    }

    /// Bytes in use: checkpointed pages plus changes held in memory.
    pub fn db_size_in_use(&self) -> u64 {
        self.kv.backend().space().1 + self.kv.backend().memtable_bytes() as u64
    }

    /// Changes not yet checkpointed, in bytes.
    pub fn memtable_bytes(&self) -> usize {
        self.kv.backend().memtable_bytes()
    }

    /// Serves a read from the applied state (no raft round): ranges,
    /// read-only txns, the member list, alarms, hashes.
    pub fn read(&self, request: &Request) -> Result<Response, ApiError> {
        let result = match request {
            Request::Range(r) => self.kv.range(r).map(Response::Range),
            Request::Txn(t) => self.kv.read_txn(t).map(Response::Txn),
            Request::HashKv(h) => self.kv.hash_kv(h.revision).map(Response::HashKv),
            Request::MemberList(_) => return Ok(self.member_response(None)),
            Request::LeaseLeases => return Ok(Response::LeaseLeases(self.lease_list())),
            Request::LeaseTimeToLive(t) => {
                return Ok(Response::LeaseTimeToLive(self.lease_time_to_live(t)));
            }
            Request::Alarm(a) => return Ok(Response::Alarm(self.alarm_response(a))),
            Request::Auth(a) if a.is_read() => {
                return self.auth.read(a).map(|answer| {
                    Response::Auth(AuthResponse {
                        header: ResponseHeader::default(),
                        answer,
                    })
                });
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "not a read: {}",
                    request_name(other)
                )));
            }
        };
        result.map_err(api_or_unavailable)
    }

    /// Every lease, by id.
    pub fn leases(&self) -> Vec<crate::mvcc::Lease> {
        self.kv.leases()
    }

    /// Lease `id`, if it exists.
    pub fn lease(&self, id: i64) -> Option<crate::mvcc::Lease> {
        self.kv.lease(id)
    }

    fn lease_list(&self) -> LeaseLeasesResponse {
        LeaseLeasesResponse {
            header: ResponseHeader::default(),
            leases: self.kv.leases().iter().map(|l| l.id).collect(),
        }
    }

    /// A lease's TTLs and keys as the replicated state knows them: the
    /// remaining TTL is the last checkpointed one (or the full TTL); the
    /// node, which counts time, replaces it with its own countdown.
    fn lease_time_to_live(&self, req: &LeaseTimeToLiveRequest) -> LeaseTimeToLiveResponse {
        let mut resp = LeaseTimeToLiveResponse {
            id: req.id,
            ttl_seconds: -1,
            ..LeaseTimeToLiveResponse::default()
        };
        if let Some(lease) = self.kv.lease(req.id) {
            resp.granted_ttl_seconds = lease.ttl_seconds;
            resp.ttl_seconds = match lease.remaining_ttl_seconds {
                0 => lease.ttl_seconds,
                left => left,
            };
            if req.keys {
                resp.keys = self.kv.lease_keys(req.id);
            }
        }
        resp
    }

    /// The history of `range` from revision `from` (see
    /// [`KvStore::changes`]), as a watch reads it.
    pub fn changes(
        &self,
        range: &crate::mvcc::KeyRange,
        from: i64,
        max_events: usize,
        max_bytes: usize,
        prev_kv: bool,
    ) -> Result<Changes, ApiError> {
        self.kv
            .changes(range, from, max_events, max_bytes, prev_kv)
            .map_err(api_or_unavailable)
    }

    /// Applies a normal entry's proposal, made by `who`. `Ok(Err(_))` is a
    /// refused request (the same on every member); `Err(_)` means the state
    /// can no longer be trusted and the member must stop. With auth on, a
    /// client request is first checked against the permissions in force at
    /// this entry (etcd's apply-time check).
    pub fn apply(
        &mut self,
        index: u64,
        body: &ProposalBody,
        who: Option<&AuthInfo>,
    ) -> Result<Result<Response, ApiError>, NodeError> {
        let outcome = match body {
            ProposalBody::Client(request) => {
                let kv = &self.kv;
                match check_request(&self.auth, who, request, &|id| kv.lease_keys(id)) {
                    Ok(()) => self.apply_client(index, request),
                    Err(refused) => Err(refused.into()),
                }
            }
            ProposalBody::Publish(member) => Ok(self.publish(member)),
            ProposalBody::LeaseExpire { id, decided_index } => {
                match self.kv.lease_expire(*id, *decided_index) {
                    Ok(Some(revoked)) => Ok(Response::LeaseRevoke(revoked)),
                    Ok(None) => Err(KvError::Api(ApiError::Unavailable(format!(
                        "lease {id:016x} was kept alive after the expiry was decided"
                    )))),
                    Err(err) => Err(err),
                }
            }
            ProposalBody::LeaseCheckpoint {
                decided_index,
                remaining,
            } => {
                self.kv.lease_checkpoint(*decided_index, remaining);
                Ok(Response::LeaseLeases(self.lease_list()))
            }
            ProposalBody::AddMember(_)
            | ProposalBody::RemoveMember(_)
            | ProposalBody::PromoteMember(_) => Err(KvError::Api(ApiError::BadRequest(format!(
                "membership change at {index} outside a conf change entry"
            )))),
        };
        match outcome {
            Ok(response) => Ok(Ok(response)),
            Err(KvError::Api(refused)) => Ok(Err(refused)),
            Err(fatal_error) => Err(fatal(fatal_error)),
        }
    }

    fn apply_client(&mut self, index: u64, request: &Request) -> Result<Response, KvError> {
        let nospace = self.alarm_active(AlarmType::NoSpace);
        // etcd's corrupt applier: while CORRUPT is raised, nothing but
        // alarms (and membership) applies.
        let corrupt = self.alarm_active(AlarmType::Corrupt);
        match request {
            Request::Put(_)
            | Request::DeleteRange(_)
            | Request::Txn(_)
            | Request::Compact(_)
            | Request::LeaseGrant(_)
            | Request::LeaseRevoke(_)
                if corrupt =>
            {
                Err(ApiError::Corrupt.into())
            }
            Request::Put(_) | Request::LeaseGrant(_) if nospace => Err(ApiError::NoSpace.into()),
            Request::Txn(t) if nospace && txn_puts(t) => Err(ApiError::NoSpace.into()),
            Request::LeaseGrant(g) => {
                let auto_id = lease_id_for(self.meta.cluster_id, index);
                self.kv
                    .lease_grant(g, index, auto_id)
                    .map(Response::LeaseGrant)
            }
            Request::LeaseRevoke(r) => self.kv.lease_revoke(r.id).map(Response::LeaseRevoke),
            Request::LeaseKeepAlive(k) => self
                .kv
                .lease_keep_alive(k.id, index)
                .map(Response::LeaseKeepAlive),
            Request::Put(p) => self.kv.put(p).map(Response::Put),
            Request::DeleteRange(d) => self.kv.delete_range(d).map(Response::DeleteRange),
            Request::Txn(t) => self.kv.txn(t).map(Response::Txn),
            Request::Compact(c) => self.kv.compact(c.revision).map(Response::Compact),
            Request::MemberUpdate(u) => self.update_member(u),
            Request::Alarm(a) => Ok(Response::Alarm(self.change_alarm(a))),
            Request::Auth(a) if !a.is_read() => self.change_auth(a),
            other => Err(ApiError::BadRequest(format!(
                "{} is not applied through raft",
                request_name(other)
            ))
            .into()),
        }
    }

    fn change_auth(&mut self, request: &AuthRequest) -> Result<Response, KvError> {
        let (answer, writes) = self.auth.apply(request)?;
        for (key, value) in writes {
            match value {
                Some(value) => self.kv.backend_mut().put(Tree::Auth, key, value),
                None => self.kv.backend_mut().delete(Tree::Auth, &key),
            }
        }
        Ok(Response::Auth(AuthResponse {
            header: ResponseHeader::default(),
            answer,
        }))
    }

    fn update_member(&mut self, update: &MemberUpdateRequest) -> Result<Response, KvError> {
        if !self.members.contains_key(&update.id) {
            return Err(ApiError::MemberNotFound.into());
        }
        let taken = self
            .members
            .values()
            .any(|m| m.id != update.id && m.peer_urls.iter().any(|u| update.peer_urls.contains(u)));
        if taken {
            return Err(ApiError::PeerUrlExists.into());
        }
        if let Some(member) = self.members.get_mut(&update.id) {
            member.peer_urls = update.peer_urls.clone();
        }
        self.persist_member(update.id);
        Ok(self.member_response(None))
    }

    /// A started member records its name and client URLs.
    fn publish(&mut self, published: &Member) -> Response {
        if let Some(member) = self.members.get_mut(&published.id) {
            member.name = published.name.clone();
            member.client_urls = published.client_urls.clone();
            self.persist_member(published.id);
        }
        self.member_response(None)
    }

    fn change_alarm(&mut self, request: &AlarmRequest) -> AlarmResponse {
        let matches = |a: &AlarmMember| {
            (request.member_id == 0 || a.member_id == request.member_id)
                && (request.alarm == AlarmType::None || a.alarm == request.alarm)
        };
        let changed: Vec<AlarmMember> = match request.action {
            AlarmAction::Get => self.alarms.iter().filter(|a| matches(a)).copied().collect(),
            AlarmAction::Activate => {
                let alarm = AlarmMember {
                    member_id: request.member_id,
                    alarm: request.alarm,
                };
                if alarm.alarm != AlarmType::None && self.alarms.insert(alarm) {
                    self.kv.backend_mut().put(
                        Tree::Alarms,
                        records::encode_alarm_key(&alarm),
                        Bytes::new(),
                    );
                }
                vec![alarm]
            }
            AlarmAction::Deactivate => {
                let gone: Vec<AlarmMember> =
                    self.alarms.iter().filter(|a| matches(a)).copied().collect();
                for alarm in &gone {
                    self.alarms.remove(alarm);
                    self.kv
                        .backend_mut()
                        .delete(Tree::Alarms, &records::encode_alarm_key(alarm));
                }
                gone
            }
        };
        AlarmResponse {
            header: ResponseHeader::default(),
            alarms: changed,
        }
    }

    fn alarm_response(&self, request: &AlarmRequest) -> AlarmResponse {
        let matches = |a: &&AlarmMember| {
            (request.member_id == 0 || a.member_id == request.member_id)
                && (request.alarm == AlarmType::None || a.alarm == request.alarm)
        };
        AlarmResponse {
            header: ResponseHeader::default(),
            alarms: self.alarms.iter().filter(matches).copied().collect(),
        }
    }

    /// Checks a membership change against the state; every member reaches
    /// the same verdict. `None` is raft's own entry (no proposal).
    pub fn check_membership_change(&self, body: Option<&ProposalBody>) -> Result<(), ApiError> {
        match body {
            None => Ok(()),
            Some(ProposalBody::AddMember(member)) => {
                if self.members.contains_key(&member.id) || self.removed.contains(&member.id) {
                    return Err(ApiError::MemberExists);
                }
                let taken = self
                    .members
                    .values()
                    .any(|m| m.peer_urls.iter().any(|u| member.peer_urls.contains(u)));
                if taken {
                    return Err(ApiError::PeerUrlExists);
                }
                Ok(())
            }
            Some(ProposalBody::RemoveMember(id)) => match self.members.get(id) {
                Some(_) => Ok(()),
                None => Err(ApiError::MemberNotFound),
            },
            Some(ProposalBody::PromoteMember(id)) => match self.members.get(id) {
                Some(m) if m.is_learner => Ok(()),
                Some(_) => Err(ApiError::MemberNotLearner),
                None => Err(ApiError::MemberNotFound),
            },
            Some(_) => Err(ApiError::BadRequest(
                "a conf change entry must carry a membership change".into(),
            )),
        }
    }

    /// Records a membership change raft has applied (`conf_state` is raft's
    /// configuration after it) and answers with the new member list.
    pub fn apply_membership_change(
        &mut self,
        _index: u64,
        body: Option<&ProposalBody>,
        conf_state: ConfState,
    ) -> Result<Response, ApiError> {
        self.meta.conf_state = conf_state;
        let mut added = None;
        match body {
            Some(ProposalBody::AddMember(member)) => {
                self.members.insert(member.id, member.clone());
                self.persist_member(member.id);
                added = Some(member.clone());
            }
            Some(ProposalBody::RemoveMember(id)) => {
                self.members.remove(id);
                self.removed.insert(*id);
                self.kv.backend_mut().put(
                    Tree::Members,
                    Bytes::copy_from_slice(&id.to_be_bytes()),
                    records::encode_member_entry(&records::MemberEntry::Removed(*id)),
                );
            }
            Some(ProposalBody::PromoteMember(id)) => {
                if let Some(member) = self.members.get_mut(id) {
                    member.is_learner = false;
                }
                self.persist_member(*id);
            }
            _ => {}
        }
        Ok(self.member_response(added))
    }

    fn persist_member(&mut self, id: u64) {
        if let Some(member) = self.members.get(&id) {
            let entry = records::encode_member_entry(&records::MemberEntry::Active(member.clone()));
            self.kv.backend_mut().put(
                Tree::Members,
                Bytes::copy_from_slice(&id.to_be_bytes()),
                entry,
            );
        }
    }

    fn member_response(&self, added: Option<Member>) -> Response {
        Response::Member(MemberResponse {
            header: ResponseHeader::default(),
            member: added,
            members: self.members(),
        })
    }

    /// Records that the entry at `index` (of `term`) has been applied.
    pub fn set_applied(&mut self, index: u64, term: u64) {
        debug_assert!(index > self.meta.index, "applied index went backwards");
        self.meta.index = index;
        self.meta.term = term;
    }

    /// Writes everything applied so far to the file, durably, as a
    /// checkpoint that is also the raft snapshot at the applied index.
    pub fn checkpoint(&mut self) -> Result<Checkpoint, NodeError> {
        let meta = self.meta.encode().map_err(NodeError::Corrupt)?;
        self.kv.backend_mut().checkpoint(meta).map_err(fatal)?;
        let checkpoint = Checkpoint {
            index: self.meta.index,
            term: self.meta.term,
            conf_state: self.meta.conf_state.clone(),
            view: self.kv.backend().checkpoint_view(),
        };
        self.checkpoints.push(checkpoint.clone());
        if self.checkpoints.len() > 2 {
            self.checkpoints.remove(0);
        }
        Ok(checkpoint)
    }

    /// The newest checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoints.last()
    }

    /// The key-value store, read-only (for monitoring: key counts and
    /// checkpoint costs).
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }
}

/// Whether a txn puts any key (a txn of deletes may run under NOSPACE).
pub(crate) fn txn_puts(txn: &TxnRequest) -> bool {
    txn.success.iter().chain(&txn.failure).any(|op| match op {
        RequestOp::Put(_) => true,
        RequestOp::Txn(t) => txn_puts(t),
        _ => false,
    })
}

fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Range(_) => "range",
        Request::Put(_) => "put",
        Request::DeleteRange(_) => "delete range",
        Request::Txn(_) => "txn",
        Request::Compact(_) => "compaction",
        Request::MemberList(_) => "member list",
        Request::MemberAdd(_) => "member add",
        Request::MemberRemove(_) => "member remove",
        Request::MemberUpdate(_) => "member update",
        Request::MemberPromote(_) => "member promote",
        Request::Status => "status",
        Request::Alarm(_) => "alarm",
        Request::HashKv(_) => "hash kv",
        Request::MoveLeader(_) => "move leader",
        Request::Defragment => "defragment",
        Request::LeaseGrant(_) => "lease grant",
        Request::LeaseRevoke(_) => "lease revoke",
        Request::LeaseKeepAlive(_) => "lease keep-alive",
        Request::LeaseTimeToLive(_) => "lease time-to-live",
        Request::LeaseLeases => "lease list",
        Request::Auth(_) => "auth",
    }
}

/// The id a lease granted without one gets at raft index `index`: the
/// cluster id's top bits over the index, so ids are unique within a cluster
/// (an index is never reused), positive, and look alike across members.
pub(crate) fn lease_id_for(cluster_id: u64, index: u64) -> i64 {
    let prefix = ((cluster_id >> 48) & 0x7fff) << 48;
    (prefix | (index & 0xffff_ffff_ffff)) as i64
}

/// A store failure that ends the member.
fn fatal(err: KvError) -> NodeError {
    match err {
        KvError::Api(e) => NodeError::Corrupt(format!("unexpected refusal while loading: {e}")),
        KvError::Corrupt(detail) => NodeError::Corrupt(detail),
        KvError::Storage(e) => NodeError::Storage(e.to_string()),
    }
}

/// A read that fails on storage is reported to the client as unavailable
/// (the node notices the failure on its next write and stops).
fn api_or_unavailable(err: KvError) -> ApiError {
    match err {
        KvError::Api(e) => e,
        other => ApiError::Unavailable(other.to_string()),
    }
}

/// Writes `members` as active members and returns raft's configuration of
/// them: learners as learners, everyone else a voter.
fn write_members(backend: &mut Backend, members: &[Member]) -> ConfState {
    let mut conf_state = ConfState::default();
    for member in members {
        if member.is_learner {
            conf_state.learners.push(member.id);
        } else {
            conf_state.voters.push(member.id);
        }
        backend.put(
            Tree::Members,
            Bytes::copy_from_slice(&member.id.to_be_bytes()),
            records::encode_member_entry(&records::MemberEntry::Active(member.clone())),
        );
    }
    conf_state
}

#[cfg(test)]
mod tests;
