//! The node task: one loop owns the RawNode, the raft log and the state
//! machine, and handles each Ready in the order raft-rs documents:
//!
//! 1. send the leader's messages (it may send before persisting);
//! 2. install a snapshot, if any;
//! 3. apply committed entries;
//! 4. append entries and persist the hard state, syncing when raft requires;
//! 5. only then send the messages that must follow persistence;
//! 6. advance, then handle the LightReady (commit index, messages, entries).
//!
//! Nothing else may touch the RawNode between `ready()` and `advance()`.
//! Time comes only from tokio (madsim under simulation); the loop never
//! blocks on anything but its own inbox and its tick timer.

use super::apply::Applied;
use super::defrag::{DefragDone, Defrags};
use super::handle::{Command, NodeStatus};
use super::lease_clock::LeaseClock;
use super::metrics::{NodeMetrics, SLOW_APPLY};
use super::pending::PendingRequests;
use super::read_queue::ReadQueue;
use super::{NodeConfig, NodeError, Transport};
use crate::api::*;
use crate::auth::AuthInfo;
use crate::raft_log::RaftLog;
use crate::state_machine::StateMachine;
use raft::eraftpb::{Message, MessageType};
use raft::{RawNode, StateRole};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};

/// Where a client's answer goes.
pub(crate) type Reply = oneshot::Sender<Result<Response, ApiError>>;

/// Commands handled per loop turn before the Ready is processed, so a burst
/// of proposals becomes one append and one sync (group commit).
const MAX_COMMANDS_PER_TURN: usize = 1024;

/// The node task's state.
pub(crate) struct Driver {
    pub(crate) raw: RawNode<RaftLog>,
    pub(crate) state: StateMachine,
    pub(crate) config: NodeConfig,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) pending: PendingRequests<Reply>,
    /// Linearizable reads waiting for their ReadIndex round, with who made
    /// them (checked when the read is served).
    pub(crate) reads: ReadQueue<(Request, Option<AuthInfo>, Reply)>,
    /// The tokens this member honours.
    pub(crate) tokens: super::tokens::Tokens,
    /// The (index, term) of the verified image staged beside the state,
    /// waiting for raft to hand its snapshot over in a Ready.
    pub(crate) staged_snapshot: Option<(u64, u64)>,
    /// The cluster this member belongs to (images of others are refused).
    pub(crate) expected_cluster_id: u64,
    /// When to (re)propose this member's name and client URLs.
    pub(crate) publish_due: Option<Instant>,
    /// Whether the member list shows this member's name and client URLs.
    pub(crate) published: bool,
    /// Leader transfers waiting for the target to take over.
    pub(crate) transfers: Vec<(u64, Reply, Instant)>,
    pub(crate) status: watch::Sender<NodeStatus>,
    pub(crate) stopped: Option<String>,
    /// When this member applied its own removal: it stops
    /// [`REMOVED_GRACE`] later, once its last messages (the commit of its
    /// removal, for the others to answer their clients) have gone out.
    pub(crate) removed_at: Option<Instant>,
    pub(crate) applied_since_checkpoint: u64,
    pub(crate) snapshots_installed: u64,
    /// The leader as of the last Ready (0: none known).
    pub(crate) known_leader: u64,
    /// This member's lease deadlines.
    pub(crate) leases: LeaseClock,
    /// When the leader next checkpoints remaining lease TTLs.
    pub(crate) lease_checkpoint_due: Instant,
    /// The defragmentation running, if any.
    pub(crate) defrags: Defrags,
    /// Where finished defragmentation copies arrive (taken by `run`).
    pub(crate) defrag_done: Option<mpsc::UnboundedReceiver<DefragDone>>,
    /// What this member counts for monitoring (written only here).
    pub(crate) metrics: Arc<NodeMetrics>,
}

/// How long a member that applied its own removal keeps sending raft
/// messages before it stops (etcd waits one second too).
pub(crate) const REMOVED_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl Driver {
    /// Runs until stopped, removed, or a storage failure forces a stop.
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        let mut ticker = tokio::time::interval(self.config.tick_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (_, idle) = mpsc::unbounded_channel();
        let mut defrag_done = self.defrag_done.take().unwrap_or(idle);
        while self.stopped.is_none() {
            tokio::select! {
                biased;
                command = inbox.recv() => match command {
                    Some(command) => self.handle(command),
                    None => self.stop("every handle was dropped".into()),
                },
                Some(done) = defrag_done.recv() => self.on_defrag_done(done),
                _ = ticker.tick() => self.on_tick(),
            }
            for _ in 0..MAX_COMMANDS_PER_TURN {
                match inbox.try_recv() {
                    Ok(command) => self.handle(command),
                    Err(_) => break,
                }
            }
            if !self.config.slow_ready.is_zero() && self.raw.has_ready() {
                tokio::time::sleep(self.config.slow_ready).await;
            }
            if let Err(err) = self.process_ready() {
                tracing::error!(member = self.config.member_id, "node stopping: {err}");
                self.stop(err.to_string());
            }
            self.publish_status();
            if self
                .removed_at
                .is_some_and(|at| Instant::now() >= at + REMOVED_GRACE)
            {
                self.stop("removed from the cluster".into());
            }
        }
        self.fail_everything_waiting();
        inbox.close();
        while let Ok(command) = inbox.try_recv() {
            if let Command::Client { reply, .. } = command {
                let _ = reply.send(Err(ApiError::Stopped));
            }
        }
        self.publish_status();
    }

    pub(crate) fn stop(&mut self, why: String) {
        if self.stopped.is_none() {
            self.stopped = Some(why);
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Step(message) => self.step(message),
            Command::StepSnapshot(message, image) => self.receive_snapshot(message, image),
            Command::ReportSnapshot { to, ok } => {
                let status = if ok {
                    raft::SnapshotStatus::Finish
                } else {
                    raft::SnapshotStatus::Failure
                };
                self.raw.report_snapshot(to, status);
            }
            Command::ReportUnreachable(to) => self.raw.report_unreachable(to),
            Command::Client {
                request,
                credentials,
                reply,
            } => self.on_client(request, credentials, reply),
            Command::Authorize {
                credentials,
                need,
                reply,
            } => {
                let _ = reply.send(self.authorize(&credentials, &need));
            }
            Command::Changes { query, reply } => {
                let result = if self.stopped.is_some() {
                    Err(ApiError::Stopped)
                } else {
                    let range = crate::mvcc::KeyRange::new(&query.key, &query.range_end);
                    self.state.changes(
                        &range,
                        query.from,
                        query.max_events,
                        query.max_bytes,
                        query.prev_kv,
                    )
                };
                let _ = reply.send(result);
            }
            Command::Backup(reply) => self.backup(reply),
            Command::Stop => self.stop("asked to stop".into()),
        }
    }

    pub(crate) fn step(&mut self, message: Message) {
        // A message from a removed or unknown member is dropped by raft
        // itself; local message types must never arrive from the network.
        if raft::raw_node::is_local_msg(message.get_msg_type()) {
            return;
        }
        if let Err(err) = self.raw.step(message) {
            tracing::debug!(member = self.config.member_id, "step: {err}");
        }
    }

    fn on_tick(&mut self) {
        self.raw.tick();
        let now = Instant::now();
        self.maybe_publish(now);
        for (_, _, reply) in self.reads.expired(now) {
            let _ = reply.send(Err(ApiError::Timeout));
        }
        for reply in self.pending.expired(now) {
            self.metrics.proposals_failed.increment();
            let _ = reply.send(Err(ApiError::Timeout));
        }
        self.check_transfers(now);
        self.tick_leases(now);
    }

    /// Sends due ReadIndex rounds, handles every Ready raft has, then serves
    /// reads whose index is applied and checkpoints when due.
    fn process_ready(&mut self) -> Result<(), NodeError> {
        if let Some(context) = self.reads.round_to_send(Instant::now()) {
            self.raw.read_index(context);
        }
        while self.raw.has_ready() && self.stopped.is_none() {
            self.handle_one_ready()?;
        }
        self.serve_reads();
        self.maybe_checkpoint()?;
        Ok(())
    }

    fn handle_one_ready(&mut self) -> Result<(), NodeError> {
        let mut ready = self.raw.ready();
        if let Some(soft) = ready.ss() {
            if soft.raft_state != StateRole::Leader {
                // A new leader will not confirm rounds sent to the old one.
                self.retry_reads_now();
            }
            if soft.leader_id != self.known_leader {
                if self.known_leader != 0 {
                    // Proposals forwarded to the old leader may be lost (or
                    // may still commit): say so now rather than at their
                    // deadline. The outcome is unknown, hence LeaderChanged.
                    for reply in self.pending.drain() {
                        self.metrics.proposals_failed.increment();
                        let _ = reply.send(Err(ApiError::LeaderChanged));
                    }
                }
                if soft.leader_id != 0 {
                    self.metrics.leader_changes_seen.increment();
                }
                self.known_leader = soft.leader_id;
            }
        }
        self.send(ready.take_messages());
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            self.install_snapshot(&snapshot)?;
        }
        let committed = ready.take_committed_entries();
        self.apply_entries(committed)?;
        let store = self.raw.mut_store();
        store.append(ready.entries())?;
        if let Some(hard_state) = ready.hs() {
            store.set_hard_state(hard_state)?;
        }
        // raft needs entries, term and vote durable before it goes on
        // (must_sync); a commit-index-only change rides along with the next
        // sync (a lost commit index is learned again from the leader).
        if ready.must_sync() || !ready.entries().is_empty() {
            let writes = store.has_unsynced();
            let started = Instant::now();
            store.sync()?;
            if writes {
                self.metrics.wal_fsync.observe(started.elapsed());
            }
        }
        self.send(ready.take_persisted_messages());
        for read_state in ready.take_read_states() {
            self.reads
                .confirm(&read_state.request_ctx, read_state.index);
        }
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit)?;
        }
        self.send(light.take_messages());
        let committed = light.take_committed_entries();
        self.apply_entries(committed)?;
        self.raw.advance_apply();
        Ok(())
    }

    /// Sends messages, routing snapshot messages with their store image.
    fn send(&mut self, messages: Vec<Message>) {
        if messages.is_empty() {
            return;
        }
        let mut plain = Vec::with_capacity(messages.len());
        for message in messages {
            if message.get_msg_type() != MessageType::MsgSnapshot {
                plain.push(message);
                continue;
            }
            let meta = message.get_snapshot().get_metadata();
            match self.state.export_image(meta.index) {
                Ok(image) => self.transport.send_snapshot(message, image),
                Err(err) => {
                    tracing::warn!(
                        member = self.config.member_id,
                        "snapshot for {}: {err}",
                        message.to
                    );
                    self.raw
                        .report_snapshot(message.to, raft::SnapshotStatus::Failure);
                }
            }
        }
        if !plain.is_empty() {
            self.transport.send(plain);
        }
    }

    fn apply_entries(&mut self, entries: Vec<raft::eraftpb::Entry>) -> Result<(), NodeError> {
        for entry in entries {
            let started = Instant::now();
            let applied = self.apply_entry(&entry)?;
            if started.elapsed() > SLOW_APPLY {
                self.metrics.slow_applies.increment();
            }
            self.applied_since_checkpoint += 1;
            if let Applied::Answer { request_id, result } = applied {
                if let Some(reply) = self.pending.take(request_id) {
                    let _ = reply.send(result.map(|r| self.finish_header(r)));
                }
            }
            if self.stopped.is_some() {
                break;
            }
        }
        Ok(())
    }

    fn serve_reads(&mut self) {
        let applied = self.state.applied_index();
        for (request, who, reply) in self.reads.servable(applied) {
            let result = self
                .permitted(&request, who.as_ref())
                .and_then(|()| self.read_state(&request))
                .map(|r| self.finish_header(r));
            let _ = reply.send(result);
        }
    }

    /// Leadership changed: the round in flight may never be confirmed, so
    /// its reads go into the next round at once.
    fn retry_reads_now(&mut self) {
        self.reads.abandon_round();
    }

    fn maybe_checkpoint(&mut self) -> Result<(), NodeError> {
        if self.checkpoint_held_for_defrag() {
            return Ok(());
        }
        let due = self.applied_since_checkpoint >= self.config.snapshot_count
            || self.state.memtable_bytes() >= self.config.memtable_max_bytes
            || self.raw.store().take_checkpoint_request();
        if !due {
            return Ok(());
        }
        self.checkpoint_now()
    }

    /// Checkpoints everything applied (if anything was), then lets the raft
    /// log drop what the checkpoint covers.
    pub(crate) fn checkpoint_now(&mut self) -> Result<(), NodeError> {
        if self.state.applied_index() == 0 {
            return Ok(());
        }
        // A checkpoint at applied index A must never be newer than the
        // durable commit index, or raft-rs refuses to restart from it.
        let applied = self.state.applied_index();
        self.raw.mut_store().set_commit(applied)?;
        let writes = self.raw.store().has_unsynced();
        let started = Instant::now();
        self.raw.mut_store().sync()?;
        if writes {
            self.metrics.wal_fsync.observe(started.elapsed());
        }
        let started = Instant::now();
        let checkpoint = self.state.checkpoint()?;
        self.metrics.backend_commit.observe(started.elapsed());
        self.metrics.checkpoints.increment();
        if let Some(stats) = self.state.kv().backend().last_checkpoint() {
            self.metrics
                .checkpoint_pages_written
                .add(stats.pages_written);
        }
        self.applied_since_checkpoint = 0;
        let store = self.raw.mut_store();
        store.set_checkpoint(&checkpoint);
        let keep_from = checkpoint
            .index
            .saturating_sub(self.config.catch_up_entries);
        if keep_from > store.first_index_now() {
            store.compact(keep_from)?;
        }
        Ok(())
    }

    /// Fills in the header fields only the node knows.
    pub(crate) fn finish_header(&self, mut response: Response) -> Response {
        let header = response.header_mut();
        header.cluster_id = self.state.cluster_id();
        header.member_id = self.config.member_id;
        header.raft_term = self.raw.raft.term;
        if header.revision == 0 {
            header.revision = self.state.revision();
        }
        response
    }

    /// Answers everything in flight as the node stops. Proposals and
    /// leader transfers may have been committed (or may still be, by the
    /// others): their outcome is unknown. Reads changed nothing.
    fn fail_everything_waiting(&mut self) {
        for reply in self.pending.drain() {
            let _ = reply.send(Err(ApiError::Interrupted));
        }
        for (_, _, reply) in self.reads.drain() {
            let _ = reply.send(Err(ApiError::Stopped));
        }
        for (_, reply, _) in self.transfers.drain(..) {
            let _ = reply.send(Err(ApiError::Interrupted));
        }
        for reply in self.defrags.drain_waiters() {
            let _ = reply.send(Err(ApiError::Stopped));
        }
    }

    pub(crate) fn publish_status(&self) {
        let status = NodeStatus {
            member_id: self.config.member_id,
            leader_id: self.raw.raft.leader_id,
            term: self.raw.raft.term,
            applied_index: self.state.applied_index(),
            revision: self.state.revision(),
            removed: self.state.is_removed(self.config.member_id),
            stopped: self.stopped.is_some(),
            fatal_error: self.stopped.clone(),
            snapshots_installed: self.snapshots_installed,
            published: self.published,
            checkpoint_index: self.state.latest_checkpoint().map_or(0, |c| c.index),
        };
        self.publish_metrics();
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    /// The gauges monitoring reads: raft's indexes, proposals waiting, the
    /// store's keys and size, the WAL's recycled segments.
    fn publish_metrics(&self) {
        let metrics = &self.metrics;
        metrics
            .proposals_committed
            .set(self.raw.raft.raft_log.committed);
        metrics.proposals_applied.set(self.state.applied_index());
        metrics.proposals_pending.set(self.pending.len() as u64);
        metrics.keys.set(self.state.kv().live_keys() as u64);
        metrics.db_size_bytes.set(self.state.db_size());
        metrics
            .db_size_in_use_bytes
            .set(self.state.db_size_in_use());
        metrics
            .wal_segments_recycled
            .set(self.raw.store().wal_segments_recycled());
    }
}
