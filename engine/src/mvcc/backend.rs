//! The ordered key-value trees the state machine persists into.
//!
//! Writes land in a memtable (bounded in bytes by the caller, which
//! checkpoints when it grows); reads see the memtable over the last
//! checkpoint. Every tree is an ordered map from bytes to bytes.

use super::error::KvError;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};

/// The trees of the state machine's backend file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tree {
    /// Revision (16 bytes) → encoded [`super::record::Record`].
    Kv,
    /// Named scalars: applied index, compact revision, cluster id, ...
    Meta,
    /// Member id → encoded member.
    Members,
    /// (member id, alarm) → empty.
    Alarms,
    /// Lease id → encoded lease.
    Leases,
}

impl Tree {
    /// Every tree, in a fixed order.
    pub const ALL: [Tree; 5] = [
        Tree::Kv,
        Tree::Meta,
        Tree::Members,
        Tree::Alarms,
        Tree::Leases,
    ];

    /// The tree's name in the backend file.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Kv => "kv",
            Tree::Meta => "meta",
            Tree::Members => "members",
            Tree::Alarms => "alarms",
            Tree::Leases => "leases",
        }
    }
}

/// Per-entry bookkeeping bytes counted against the memtable bound.
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// The state machine's storage: ordered trees, written through a memtable.
#[derive(Debug, Default)]
pub struct Backend {
    /// Changes since the last checkpoint; `None` marks a deletion.
    memtable: BTreeMap<Tree, BTreeMap<Bytes, Option<Bytes>>>,
    memtable_bytes: usize,
}

impl Backend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, KvError> {
        Ok(self
            .memtable
            .get(&tree)
            .and_then(|t| t.get(key))
            .cloned()
            .flatten())
    }

    /// Calls `visit` for each entry of `tree` within the bounds, in key
    /// order (or reverse), until it breaks or fails.
    pub fn scan(
        &self,
        tree: Tree,
        bounds: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        mut visit: impl FnMut(&Bytes, &Bytes) -> Result<ControlFlow<()>, KvError>,
    ) -> Result<(), KvError> {
        let Some(entries) = self.memtable.get(&tree) else {
            return Ok(());
        };
        let range = entries.range::<[u8], _>(bounds);
        let mut step = |(k, v): (&Bytes, &Option<Bytes>)| match v {
            Some(v) => visit(k, v),
            None => Ok(ControlFlow::Continue(())),
        };
        if reverse {
            for entry in range.rev() {
                if step(entry)?.is_break() {
                    break;
                }
            }
        } else {
            for entry in range {
                if step(entry)?.is_break() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Stores `value` under `key`.
    pub fn put(&mut self, tree: Tree, key: Bytes, value: Bytes) {
        self.memtable_bytes += key.len() + value.len() + ENTRY_OVERHEAD_BYTES;
        self.memtable
            .entry(tree)
            .or_default()
            .insert(key, Some(value));
    }

    /// Removes `key`.
    pub fn delete(&mut self, tree: Tree, key: &[u8]) {
        if let Some(entries) = self.memtable.get_mut(&tree) {
            if let Some(Some(old)) = entries.remove(key) {
                self.memtable_bytes = self
                    .memtable_bytes
                    .saturating_sub(key.len() + old.len() + ENTRY_OVERHEAD_BYTES);
            }
        }
    }

    /// Bytes held by changes not yet checkpointed (an estimate).
    pub fn memtable_bytes(&self) -> usize {
        self.memtable_bytes
    }
}
