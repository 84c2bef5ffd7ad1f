//! The changes one checkpoint applies.

use bytes::Bytes;
use std::collections::BTreeMap;

/// Per-entry bookkeeping bytes counted by [`WriteBatch::approximate_bytes`].
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// What happens to a tree before its puts and deletes apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reset {
    /// Nothing: the tree must already exist if it has operations.
    Keep,
    /// Create the tree if it is missing.
    Create,
    /// Remove the tree and everything in it (if it exists).
    Drop,
    /// Remove the tree if it exists, then create it empty.
    Recreate,
}

/// The changes to one tree.
#[derive(Debug, Clone)]
pub(crate) struct TreeChanges {
    pub(crate) reset: Reset,
    /// Key → new value, or `None` to delete. Sorted, last write wins.
    pub(crate) ops: BTreeMap<Bytes, Option<Bytes>>,
}

/// Puts, deletes, tree creations and drops for one checkpoint, plus the
/// caller's metadata. Operations on one key collapse (last one wins);
/// `drop_tree` discards the tree's earlier operations in the batch.
/// Nothing is checked until [`super::BTreeStore::checkpoint`], which applies
/// all of it or none.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub(crate) trees: BTreeMap<String, TreeChanges>,
    pub(crate) user_meta: Option<Bytes>,
    approximate_bytes: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn changes(&mut self, tree: &str) -> &mut TreeChanges {
        self.trees
            .entry(tree.to_string())
            .or_insert_with(|| TreeChanges {
                reset: Reset::Keep,
                ops: BTreeMap::new(),
            })
    }

    /// Creates `tree` if it does not exist (no-op if it does).
    pub fn create_tree(&mut self, tree: &str) {
        let changes = self.changes(tree);
        changes.reset = match changes.reset {
            Reset::Keep | Reset::Create => Reset::Create,
            Reset::Drop | Reset::Recreate => Reset::Recreate,
        };
    }

    /// Removes `tree` and all its keys (no-op if it does not exist), and
    /// forgets the tree's earlier operations in this batch.
    pub fn drop_tree(&mut self, tree: &str) {
        let changes = self.changes(tree);
        changes.reset = Reset::Drop;
        changes.ops.clear();
    }

    /// Stores `value` under `key` in `tree`.
    pub fn put(&mut self, tree: &str, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        let (key, value) = (key.into(), value.into());
        self.approximate_bytes += key.len() + value.len() + ENTRY_OVERHEAD_BYTES;
        self.changes(tree).ops.insert(key, Some(value));
    }

    /// Removes `key` from `tree` (no-op if absent).
    pub fn delete(&mut self, tree: &str, key: impl Into<Bytes>) {
        let key = key.into();
        self.approximate_bytes += key.len() + ENTRY_OVERHEAD_BYTES;
        self.changes(tree).ops.insert(key, None);
    }

    /// Replaces the caller's metadata stored with the checkpoint (at most
    /// [`super::MAX_USER_META_BYTES`]); kept from the previous checkpoint if
    /// never set.
    pub fn set_user_meta(&mut self, meta: impl Into<Bytes>) {
        self.user_meta = Some(meta.into());
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty() && self.user_meta.is_none()
    }

    /// Bytes the batch holds, counting overhead per operation: what a caller
    /// bounds its memtable by. Only grows (collapsed operations still count).
    pub fn approximate_bytes(&self) -> usize {
        self.approximate_bytes
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = WriteBatch::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_creates_combine_in_order() {
        let mut batch = WriteBatch::new();
        assert!(batch.is_empty());
        batch.put("t", "a", "1");
        batch.drop_tree("t");
        assert!(batch.trees["t"].ops.is_empty());
        assert_eq!(batch.trees["t"].reset, Reset::Drop);
        batch.create_tree("t");
        assert_eq!(batch.trees["t"].reset, Reset::Recreate);
        batch.put("t", "b", "2");
        batch.delete("t", "b");
        assert_eq!(batch.trees["t"].ops.get(&b"b"[..]), Some(&None));
        batch.create_tree("u");
        assert_eq!(batch.trees["u"].reset, Reset::Create);
        assert!(batch.approximate_bytes() > 3 * ENTRY_OVERHEAD_BYTES);
        batch.clear();
        assert!(batch.is_empty());
    }
}
