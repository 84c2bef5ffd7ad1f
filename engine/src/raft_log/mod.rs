//! `raft::Storage` over the WAL: raft's entries, hard state and snapshot
//! metadata for one member, with a cache of recent entries.
//!
//! Invariants:
//! - Entries and the hard state are durable before [`RaftLog::sync`]
//!   returns; raft is told they are persisted only after that.
//! - `term(first_index - 1)` always answers: the WAL keeps the term of its
//!   snapshot marker (raft-rs's MemStorage loses it on compaction).
//! - The durable commit index is never below the state machine's applied
//!   index (raft-rs refuses to start otherwise).
//! - [`raft::Storage::snapshot`] describes the newest checkpoint; the image
//!   itself travels beside the message (see `node::transport`).

mod cache;

use crate::node::NodeError;
use crate::state_machine::Checkpoint;
use crate::storage::disk::Disk;
use crate::storage::wal::{self, Wal, WalEntry, WalOptions};
use bytes::{BufMut, Bytes, BytesMut};
use cache::EntryCache;
use raft::eraftpb::{ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

/// Recent entries kept in memory for followers that are almost caught up.
const CACHE_MAX_BYTES: usize = 1 << 20;

/// A member's raft log.
#[derive(Debug)]
pub struct RaftLog {
    wal: Wal,
    cache: EntryCache,
    /// The configuration as of the state machine's applied index.
    applied_conf_state: ConfState,
    /// The newest checkpoint: what a snapshot request is answered with.
    checkpoint: Option<SnapshotMetadata>,
    /// Set when raft asked for a snapshot the newest checkpoint cannot
    /// serve (it predates the member it is for): the node checkpoints anew.
    fresh_checkpoint_wanted: Cell<bool>,
}

fn wal_error(err: wal::WalError) -> NodeError {
    match err {
        wal::WalError::Corrupt { .. } => NodeError::Corrupt(err.to_string()),
        other => NodeError::Storage(other.to_string()),
    }
}

impl RaftLog {
    /// Opens the log in `dir` for a state machine applied up to
    /// `applied_index` with configuration `applied_conf_state`, whose newest
    /// checkpoint is `checkpoint`.
    pub fn open(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: WalOptions,
        applied_index: u64,
        applied_conf_state: ConfState,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<RaftLog, NodeError> {
        let (wal, recovered) = Wal::open(disk, dir, options).map_err(wal_error)?;
        if recovered.first_index > applied_index + 1 {
            return Err(NodeError::Corrupt(format!(
                "the raft log starts at {} but the state is applied only to {applied_index}: \
                 entries in between are lost; {}",
                recovered.first_index,
                wal::REMEDY
            )));
        }
        let mut log = RaftLog {
            wal,
            cache: EntryCache::new(CACHE_MAX_BYTES),
            applied_conf_state,
            checkpoint: checkpoint.map(checkpoint_metadata),
            fresh_checkpoint_wanted: Cell::new(false),
        };
        if recovered.hard_state.commit < applied_index {
            // The checkpoint proves these entries were committed.
            log.set_commit(applied_index)?;
            log.sync()?;
        }
        Ok(log)
    }

    /// Starts the log of a new cluster's member: a snapshot at index 1,
    /// term 1 (the bootstrap checkpoint), committed.
    pub fn bootstrap(&mut self) -> Result<(), NodeError> {
        self.bootstrap_at(1, 1)
    }

    /// Starts the log of a member whose state was made outside raft (a
    /// restored backup): a snapshot at `index`, `term`, committed, and no
    /// vote.
    pub fn bootstrap_at(&mut self, index: u64, term: u64) -> Result<(), NodeError> {
        self.wal.set_snapshot(index, term).map_err(wal_error)?;
        self.wal
            .set_hard_state(wal::HardState {
                term,
                vote: 0,
                commit: index,
            })
            .map_err(wal_error)?;
        self.sync()
    }

    /// Index of the first entry still in the log.
    pub fn first_index_now(&self) -> u64 {
        self.wal.first_index()
    }

    /// Index of the last entry in the log.
    pub fn last_index_now(&self) -> u64 {
        self.wal.last_index()
    }

    /// Appends entries (replacing any from the first one's index on).
    /// Durable only after [`RaftLog::sync`].
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), NodeError> {
        if entries.is_empty() {
            return Ok(());
        }
        let encoded: Vec<WalEntry> = entries.iter().map(encode_entry).collect();
        self.wal.append_entries(&encoded).map_err(wal_error)?;
        self.cache.append(entries);
        Ok(())
    }

    /// Records raft's hard state. Durable only after [`RaftLog::sync`].
    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<(), NodeError> {
        let hard_state = wal::HardState {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        };
        self.wal.set_hard_state(hard_state).map_err(wal_error)
    }

    /// Records a new commit index (never lowers it).
    pub fn set_commit(&mut self, commit: u64) -> Result<(), NodeError> {
        let mut hs = self.wal.hard_state();
        if commit > hs.commit {
            hs.commit = commit;
            self.wal.set_hard_state(hs).map_err(wal_error)?;
        }
        Ok(())
    }

    /// Makes everything recorded durable (group commit).
    pub fn sync(&mut self) -> Result<(), NodeError> {
        self.wal.sync().map_err(wal_error)
    }

    /// Whether records wait for the next sync (a sync then writes and
    /// fsyncs; otherwise it does nothing).
    pub fn has_unsynced(&self) -> bool {
        self.wal.has_unsynced()
    }

    /// WAL segments made from recycled files since the log was opened.
    pub fn wal_segments_recycled(&self) -> u64 {
        self.wal.segments_recycled()
    }

    /// The newest checkpoint, which snapshot requests are answered with.
    pub fn set_checkpoint(&mut self, checkpoint: &Checkpoint) {
        self.checkpoint = Some(checkpoint_metadata(checkpoint));
        self.applied_conf_state = checkpoint.conf_state.clone();
    }

    /// Drops entries before `keep_from` and the WAL segments only they used.
    pub fn compact(&mut self, keep_from: u64) -> Result<(), NodeError> {
        let through = keep_from.saturating_sub(1);
        if through < self.wal.first_index() || through > self.wal.last_index() {
            return Ok(());
        }
        self.wal.compact(through).map_err(wal_error)?;
        self.cache.compact(keep_from);
        Ok(())
    }

    /// Records a snapshot received from the leader: the log now starts after
    /// it (entries that disagree with it are dropped), its index is
    /// committed, and all of that is durable when this returns.
    pub fn apply_snapshot(&mut self, metadata: &SnapshotMetadata) -> Result<(), NodeError> {
        self.wal
            .set_snapshot(metadata.index, metadata.term)
            .map_err(wal_error)?;
        let mut hs = self.wal.hard_state();
        hs.term = hs.term.max(metadata.term);
        hs.commit = hs.commit.max(metadata.index);
        self.wal.set_hard_state(hs).map_err(wal_error)?;
        self.sync()?;
        self.cache.clear();
        self.applied_conf_state = metadata.get_conf_state().clone();
        self.checkpoint = Some(metadata.clone());
        Ok(())
    }

    /// Whether raft asked for a snapshot that needs a newer checkpoint
    /// (clears the request).
    pub fn take_checkpoint_request(&self) -> bool {
        self.fresh_checkpoint_wanted.replace(false)
    }

    /// The WAL's snapshot marker `(index, term)`.
    pub fn snapshot_marker(&self) -> (u64, u64) {
        self.wal.snapshot()
    }
}

/// Whether `id` is anywhere in a configuration (voter, learner, joint).
fn conf_state_has(conf_state: &ConfState, id: u64) -> bool {
    conf_state
        .voters
        .iter()
        .chain(&conf_state.learners)
        .chain(&conf_state.voters_outgoing)
        .chain(&conf_state.learners_next)
        .any(|&member| member == id)
}

fn checkpoint_metadata(checkpoint: &Checkpoint) -> SnapshotMetadata {
    let mut metadata = SnapshotMetadata {
        index: checkpoint.index,
        term: checkpoint.term,
        ..SnapshotMetadata::default()
    };
    metadata.set_conf_state(checkpoint.conf_state.clone());
    metadata
}

/// An entry's WAL payload: `type u8 | context_len u32 | context | data`.
fn encode_entry(entry: &Entry) -> WalEntry {
    let mut payload = BytesMut::with_capacity(5 + entry.context.len() + entry.data.len());
    payload.put_u8(entry.get_entry_type() as u8);
    payload.put_u32(u32::try_from(entry.context.len()).unwrap_or(u32::MAX));
    payload.put_slice(&entry.context);
    payload.put_slice(&entry.data);
    WalEntry {
        index: entry.index,
        term: entry.term,
        payload: payload.freeze(),
    }
}

fn decode_entry(wal_entry: &WalEntry) -> Result<Entry, String> {
    let p = &wal_entry.payload;
    let kind = *p.first().ok_or("empty entry payload")?;
    let entry_type = match kind {
        0 => EntryType::EntryNormal,
        1 => EntryType::EntryConfChange,
        2 => EntryType::EntryConfChangeV2,
        _ => return Err(format!("unknown entry type {kind}")),
    };
    let len_bytes: [u8; 4] = p
        .get(1..5)
        .and_then(|s| s.try_into().ok())
        .ok_or("entry payload too short")?;
    let context_len = u32::from_be_bytes(len_bytes) as usize;
    let context = p
        .get(5..5 + context_len)
        .ok_or("entry context runs past the payload")?;
    let mut entry = Entry {
        index: wal_entry.index,
        term: wal_entry.term,
        context: Bytes::copy_from_slice(context),
        data: wal_entry.payload.slice(5 + context_len..),
        ..Entry::default()
    };
    entry.set_entry_type(entry_type);
    Ok(entry)
}

fn storage_error(err: impl std::fmt::Display) -> raft::Error {
    raft::Error::Store(StorageError::Other(err.to_string().into()))
}

impl raft::Storage for RaftLog {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let wal_hs = self.wal.hard_state();
        let hard_state = HardState {
            term: wal_hs.term,
            vote: wal_hs.vote,
            commit: wal_hs.commit,
            ..HardState::default()
        };
        Ok(RaftState::new(hard_state, self.applied_conf_state.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let max_size = max_size.into();
        if low < self.wal.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.wal.last_index() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        if let Some(cached) = self.cache.get(low, high, max_size) {
            return Ok(cached);
        }
        let entries = self
            .wal
            .entries(low, high, max_size)
            .map_err(storage_error)?;
        entries
            .iter()
            .map(|e| decode_entry(e).map_err(storage_error))
            .collect()
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if let Some(term) = self.cache.term(idx) {
            return Ok(term);
        }
        if idx + 1 < self.wal.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        self.wal
            .term(idx)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.wal.first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.wal.last_index())
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        match &self.checkpoint {
            // A member refuses a snapshot whose configuration omits it: a
            // member added after the checkpoint needs a newer one.
            Some(metadata) if !conf_state_has(metadata.get_conf_state(), to) => {
                self.fresh_checkpoint_wanted.set(true);
                Err(raft::Error::Store(
                    StorageError::SnapshotTemporarilyUnavailable,
                ))
            }
            Some(metadata) if metadata.index >= request_index && metadata.index > 0 => {
                let mut snapshot = Snapshot::default();
                snapshot.set_metadata(metadata.clone());
                // The image travels beside the message; the data names it.
                let mut data = BytesMut::with_capacity(16);
                data.put_u64(metadata.index);
                data.put_u64(metadata.term);
                snapshot.data = data.freeze();
                Ok(snapshot)
            }
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}

#[cfg(test)]
mod tests;
