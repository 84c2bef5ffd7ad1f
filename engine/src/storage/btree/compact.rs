//! Defragmentation: a checkpoint rewritten into a new, compact file.
//!
//! A copy-on-write file keeps every page it ever grew to; pages freed by
//! deletions are reused but never returned. [`BTreeStore::write_compact_copy`]
//! writes the trees of one checkpoint, in key order, into a fresh file
//! beside the store, so the copy holds only the pages its content needs and
//! no preallocated tail. The copy has the same trees, keys, values and user
//! meta as the source checkpoint (its checkpoint number differs); the caller
//! renames it over the store when no checkpoint happened meanwhile.

use super::error::{BTreeError, BTreeResult};
use super::page::PAGE_SIZE_U64;
use super::{BTreeOptions, BTreeStore, ReadView, WriteBatch, sibling};
use crate::storage::disk::Disk;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of entries one copying checkpoint carries: large enough that the
/// right edge of each tree is rewritten rarely, small enough to bound the
/// memory a copy holds.
const COPY_BATCH_BYTES: usize = 16 << 20;

/// Where the compact copy of the store at `path` is built.
pub fn compact_copy_path(path: &Path) -> PathBuf {
    sibling(path, ".defrag")
}

impl BTreeStore {
    /// Writes the checkpoint `source` shows into a new file at
    /// `compact_copy_path(path)` (replacing a leftover one), durably, and
    /// returns it open. The copy holds exactly the trees, entries and user
    /// meta of `source`, and its file is no longer than its pages. Reads
    /// `source` only, so it may run beside checkpoints of the live store; an
    /// error removes the partial copy.
    pub fn write_compact_copy(
        disk: Arc<dyn Disk>,
        source: &ReadView,
        path: &Path,
        options: BTreeOptions,
    ) -> BTreeResult<BTreeStore> {
        let copy_path = compact_copy_path(path);
        if disk.exists(&copy_path)? {
            disk.remove_file(&copy_path)?;
        }
        let written = copy_into(Arc::clone(&disk), source, &copy_path, options.clone());
        let reopened =
            written.and_then(|()| BTreeStore::open(Arc::clone(&disk), &copy_path, options));
        match reopened {
            Ok(store) => Ok(store),
            Err(err) => {
                if let Err(cleanup) = disk.remove_file(&copy_path) {
                    tracing::warn!(%cleanup, "could not remove a partial compact copy");
                }
                Err(err)
            }
        }
    }
}

fn copy_into(
    disk: Arc<dyn Disk>,
    source: &ReadView,
    copy_path: &Path,
    options: BTreeOptions,
) -> BTreeResult<()> {
    let mut copy = BTreeStore::open(Arc::clone(&disk), copy_path, options)?;
    let mut batch = WriteBatch::new();
    for tree in source.tree_names() {
        batch.create_tree(&tree);
        for entry in source.range(&tree, Bound::Unbounded, Bound::Unbounded, false, None)? {
            let (key, value) = entry?;
            batch.put(&tree, key, value);
            if batch.approximate_bytes() >= COPY_BATCH_BYTES {
                copy.checkpoint(&batch)?;
                batch.clear();
            }
        }
    }
    batch.set_user_meta(source.user_meta());
    copy.checkpoint(&batch)?;
    let view = copy.view();
    for tree in source.tree_names() {
        let (want, got) = (source.tree_len(&tree)?, view.tree_len(&tree)?);
        if want != got {
            return Err(BTreeError::BadImage {
                detail: format!("compact copy of tree {tree:?} holds {got} keys, not {want}"),
            });
        }
    }
    assert_eq!(
        view.user_meta(),
        source.user_meta(),
        "the copy keeps the meta"
    );
    // Nothing else has this file open once the copy's own store is gone:
    // the preallocated tail can go.
    let used = copy.stats().page_count * PAGE_SIZE_U64;
    drop(view);
    drop(copy);
    let file = disk.open(copy_path)?;
    file.set_len(used)?;
    file.sync_data()?;
    Ok(())
}
