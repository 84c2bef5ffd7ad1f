//! The ordered key-value trees the state machine persists into: a memtable
//! of recent changes over the last checkpoint of the B-tree file.
//!
//! Writes land in the memtable (bounded in bytes by the caller, which
//! checkpoints when it grows); reads see the memtable over the pinned view
//! of the last checkpoint; [`Backend::checkpoint`] moves the memtable into
//! the file as one copy-on-write batch, atomically with the caller's meta.

use super::error::KvError;
use crate::storage::btree::{
    BTreeOptions, BTreeStore, CheckpointStats, ReadView, StoreStats, WriteBatch,
};
use crate::storage::disk::Disk;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};
use std::path::Path;
use std::sync::Arc;

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
    /// Users, roles, the auth flag and revision (see `auth/records.rs`).
    Auth,
}

impl Tree {
    /// Every tree, in a fixed order.
    pub const ALL: [Tree; 6] = [
        Tree::Kv,
        Tree::Meta,
        Tree::Members,
        Tree::Alarms,
        Tree::Leases,
        Tree::Auth,
    ];

    /// The tree's name in the backend file.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Kv => "kv",
            Tree::Meta => "meta",
            Tree::Members => "members",
            Tree::Alarms => "alarms",
            Tree::Leases => "leases",
            Tree::Auth => "auth",
        }
    }
}

/// Per-entry bookkeeping bytes counted against the memtable bound.
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// The state machine's storage: ordered trees, written through a memtable.
#[derive(Debug)]
pub struct Backend {
    store: BTreeStore,
    view: ReadView,
    /// Changes since the last checkpoint; `None` marks a deletion.
    memtable: BTreeMap<Tree, BTreeMap<Bytes, Option<Bytes>>>,
    memtable_bytes: usize,
    /// What the last checkpoint through this backend cost, if any.
    last_checkpoint: Option<CheckpointStats>,
}

impl Backend {
    /// Opens (or creates) the backend file at `path`, with every tree.
    pub fn open(disk: Arc<dyn Disk>, path: &Path) -> Result<Backend, KvError> {
        let store = BTreeStore::open(disk, path, BTreeOptions::default())?;
        Self::from_store(store)
    }

    /// Wraps an open B-tree store (e.g. one just installed from a snapshot).
    pub fn from_store(mut store: BTreeStore) -> Result<Backend, KvError> {
        let view = store.view();
        let missing: Vec<Tree> = Tree::ALL
            .into_iter()
            .filter(|t| !view.has_tree(t.name()))
            .collect();
        if !missing.is_empty() {
            let mut batch = WriteBatch::new();
            for tree in missing {
                batch.create_tree(tree.name());
            }
            store.checkpoint(&batch)?;
        }
        let view = store.view();
        Ok(Backend {
            store,
            view,
            memtable: BTreeMap::new(),
            memtable_bytes: 0,
            last_checkpoint: None,
        })
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, KvError> {
        if let Some(change) = self.memtable.get(&tree).and_then(|t| t.get(key)) {
            return Ok(change.clone());
        }
        Ok(self.view.get(tree.name(), key)?)
    }

    /// Calls `visit` for each entry of `tree` within the bounds, in key
    /// order (or reverse), until it breaks or fails. Memtable entries hide
    /// the checkpointed entries with the same key.
    pub fn scan(
        &self,
        tree: Tree,
        bounds: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        mut visit: impl FnMut(&Bytes, &Bytes) -> Result<ControlFlow<()>, KvError>,
    ) -> Result<(), KvError> {
        let empty = BTreeMap::new();
        let recent = self
            .memtable
            .get(&tree)
            .unwrap_or(&empty)
            .range::<[u8], _>(bounds);
        let mut recent: Box<dyn Iterator<Item = (&Bytes, &Option<Bytes>)>> = if reverse {
            Box::new(recent.rev())
        } else {
            Box::new(recent)
        };
        let mut stored = self
            .view
            .range(tree.name(), bounds.0, bounds.1, reverse, None)?;
        let mut next_recent = recent.next();
        let mut next_stored = stored.next().transpose()?;
        loop {
            let order = match (&next_recent, &next_stored) {
                (None, None) => return Ok(()),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((rk, _)), Some((sk, _))) => {
                    let order = rk.as_ref().cmp(sk.as_ref());
                    if reverse { order.reverse() } else { order }
                }
            };
            let flow = if order == Ordering::Greater {
                let Some((key, value)) = next_stored.take() else {
                    return Ok(());
                };
                next_stored = stored.next().transpose()?;
                visit(&key, &value)?
            } else {
                if order == Ordering::Equal {
                    next_stored = stored.next().transpose()?;
                }
                let Some((key, change)) = next_recent.take() else {
                    return Ok(());
                };
                next_recent = recent.next();
                match change {
                    Some(value) => visit(key, value)?,
                    None => ControlFlow::Continue(()),
                }
            };
            if flow.is_break() {
                return Ok(());
            }
        }
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
        self.memtable_bytes += key.len() + ENTRY_OVERHEAD_BYTES;
        self.memtable
            .entry(tree)
            .or_default()
            .insert(Bytes::copy_from_slice(key), None);
    }

    /// Bytes held by changes not yet checkpointed (an estimate).
    pub fn memtable_bytes(&self) -> usize {
        self.memtable_bytes
    }

    /// Writes every change since the last checkpoint to the file, with
    /// `user_meta`, durably and atomically; reads then come from the new
    /// checkpoint. On error the memtable is kept and the file is unchanged
    /// (or the store is poisoned, if a sync failed).
    pub fn checkpoint(&mut self, user_meta: Bytes) -> Result<CheckpointStats, KvError> {
        let mut batch = WriteBatch::new();
        for (tree, changes) in &self.memtable {
            for (key, change) in changes {
                match change {
                    Some(value) => batch.put(tree.name(), key.clone(), value.clone()),
                    None => batch.delete(tree.name(), key.clone()),
                }
            }
        }
        batch.set_user_meta(user_meta);
        let stats = self.store.checkpoint(&batch)?;
        self.view = self.store.view();
        self.memtable.clear();
        self.memtable_bytes = 0;
        self.last_checkpoint = Some(stats);
        Ok(stats)
    }

    /// What the last checkpoint through this backend cost (`None` before
    /// the first).
    pub fn last_checkpoint(&self) -> Option<CheckpointStats> {
        self.last_checkpoint
    }

    /// A pinned view of the last checkpoint (for snapshot images).
    pub fn checkpoint_view(&self) -> ReadView {
        self.view.clone()
    }

    /// Puts `store` under the memtable in place of the current file. `store`
    /// must show the same checkpoint as [`Backend::checkpoint_view`] (a
    /// compact copy of it, renamed over the file): reads and the memtable
    /// then go on unchanged.
    pub fn replace_store(&mut self, store: BTreeStore) {
        self.view = store.view();
        self.store = store;
    }

    /// Sizes of the file, as of the last checkpoint.
    pub fn stats(&self) -> StoreStats {
        self.store.stats()
    }

    /// `(file bytes, bytes in use)` as of the last checkpoint, cheaply.
    pub fn space(&self) -> (u64, u64) {
        self.store.space()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::disk::SimDisk;
    use proptest::prelude::*;

    fn open(disk: &SimDisk) -> Backend {
        Backend::open(Arc::new(disk.clone()), Path::new("/data/db")).unwrap()
    }

    fn scan_all(b: &Backend, tree: Tree, lo: u8, hi: u8, reverse: bool) -> Vec<(u8, u8)> {
        let mut out = Vec::new();
        let (lo, hi) = ([lo], [hi]);
        b.scan(
            tree,
            (Bound::Included(&lo[..]), Bound::Excluded(&hi[..])),
            reverse,
            |k, v| {
                out.push((k[0], v[0]));
                Ok(ControlFlow::Continue(()))
            },
        )
        .unwrap();
        out
    }

    #[derive(Debug, Clone)]
    enum Op {
        Put(u8, u8),
        Delete(u8),
        Checkpoint,
        Reopen,
    }

    proptest! {
        /// Reads through memtable and checkpoints agree with a map; a reopen
        /// keeps exactly what was checkpointed.
        #[test]
        fn memtable_over_checkpoints_matches_a_map(
            ops in prop::collection::vec(prop_oneof![
                5 => (0u8..12, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
                3 => (0u8..12).prop_map(Op::Delete),
                1 => Just(Op::Checkpoint),
                1 => Just(Op::Reopen),
            ], 1..60),
            lo in 0u8..12, hi in 0u8..13, reverse in any::<bool>(),
        ) {
            let disk = SimDisk::new(1);
            let mut backend = open(&disk);
            let mut model: BTreeMap<u8, u8> = BTreeMap::new();
            let mut durable = model.clone();
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        backend.put(Tree::Kv, Bytes::from(vec![k]), Bytes::from(vec![v]));
                        model.insert(k, v);
                    }
                    Op::Delete(k) => {
                        backend.delete(Tree::Kv, &[k]);
                        model.remove(&k);
                    }
                    Op::Checkpoint => {
                        backend.checkpoint(Bytes::new()).unwrap();
                        durable = model.clone();
                    }
                    Op::Reopen => {
                        drop(backend);
                        backend = open(&disk);
                        model = durable.clone();
                    }
                }
                for k in 0..12u8 {
                    let got = backend.get(Tree::Kv, &[k]).unwrap().map(|v| v[0]);
                    prop_assert_eq!(got, model.get(&k).copied());
                }
                let mut want: Vec<(u8, u8)> = model.range(lo..hi.max(lo)).map(|(k, v)| (*k, *v)).collect();
                if reverse { want.reverse(); }
                prop_assert_eq!(scan_all(&backend, Tree::Kv, lo, hi.max(lo), reverse), want);
            }
        }
    }

    #[test]
    fn trees_are_separate_and_user_meta_is_kept() {
        let disk = SimDisk::new(2);
        let mut backend = open(&disk);
        backend.put(
            Tree::Kv,
            Bytes::from_static(b"k"),
            Bytes::from_static(b"kv"),
        );
        backend.put(
            Tree::Meta,
            Bytes::from_static(b"k"),
            Bytes::from_static(b"meta"),
        );
        backend
            .checkpoint(Bytes::from_static(b"applied=7"))
            .unwrap();
        let backend = open(&disk);
        assert_eq!(
            backend.get(Tree::Kv, b"k").unwrap().unwrap(),
            Bytes::from_static(b"kv")
        );
        assert_eq!(
            backend.get(Tree::Meta, b"k").unwrap().unwrap(),
            Bytes::from_static(b"meta")
        );
        assert_eq!(
            backend.checkpoint_view().user_meta(),
            Bytes::from_static(b"applied=7")
        );
        assert_eq!(backend.get(Tree::Members, b"k").unwrap(), None);
    }
}
