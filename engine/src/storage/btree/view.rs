//! Read views: one pinned checkpoint, read straight from the memory map.
//!
//! A [`ReadView`] holds its checkpoint's mapping and meta; later checkpoints
//! never overwrite a page it can reach (see the reuse rule in
//! `freelist.rs`), so it keeps returning exactly that checkpoint's data for
//! as long as it lives. Every page is checked (checksum, own number, layout)
//! the first time the view's mapping touches it; a bitmap of atomics
//! remembers which pages passed, so later reads cost a load and a branch.

use super::cursor::RangeIter;
use super::error::{BTreeError, BTreeResult};
use super::meta::Meta;
use super::node::{Node, Part, partition_point};
use super::overflow::{compare_run, read_run};
use super::page::{FIRST_DATA_PAGE, PAGE_SIZE, PageKind, check_page};
use crate::storage::disk::Mapping;
use bytes::Bytes;
use parking_lot::Mutex;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

/// A tree's entry in the catalog: `root u64 | key_count u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreeRecord {
    /// Root page, 0 for an empty tree.
    pub(crate) root: u64,
    /// Keys in the tree.
    pub(crate) key_count: u64,
}

impl TreeRecord {
    /// An empty tree.
    pub(crate) const EMPTY: TreeRecord = TreeRecord {
        root: 0,
        key_count: 0,
    };

    /// The catalog value.
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.root.to_le_bytes());
        out.extend_from_slice(&self.key_count.to_le_bytes());
        Bytes::from(out)
    }

    /// Decodes a catalog value.
    pub(crate) fn decode(bytes: &[u8]) -> Option<TreeRecord> {
        if bytes.len() != 16 {
            return None;
        }
        Some(TreeRecord {
            root: super::page::u64_at(bytes, 0)?,
            key_count: super::page::u64_at(bytes, 8)?,
        })
    }
}

/// Which checkpoints live views are pinned at (txn → number of snapshots).
#[derive(Debug, Default)]
pub(crate) struct ViewRegistry {
    live: Mutex<BTreeMap<u64, usize>>,
}

impl ViewRegistry {
    /// Pins checkpoint `txn` until the returned guard drops.
    pub(crate) fn pin(self: &Arc<Self>, txn: u64) -> Pin {
        *self.live.lock().entry(txn).or_insert(0) += 1;
        Pin {
            registry: Arc::clone(self),
            txn,
        }
    }

    /// The oldest pinned checkpoint.
    pub(crate) fn oldest(&self) -> Option<u64> {
        self.live.lock().keys().next().copied()
    }
}

/// Keeps a checkpoint's pages from reuse while it lives.
#[derive(Debug)]
pub(crate) struct Pin {
    registry: Arc<ViewRegistry>,
    txn: u64,
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut live = self.registry.live.lock();
        if let Some(count) = live.get_mut(&self.txn) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.txn);
            }
        }
    }
}

/// A set of page numbers below a bound (one bit each).
#[derive(Debug)]
pub(crate) struct PageSet {
    words: Vec<u64>,
}

impl PageSet {
    /// An empty set for pages `0..page_count`.
    pub(crate) fn new(page_count: u64) -> PageSet {
        PageSet {
            words: vec![0; page_count.div_ceil(64) as usize],
        }
    }

    /// Adds `page`; false if it was already there or out of range.
    pub(crate) fn insert(&mut self, page: u64) -> bool {
        let Some(word) = self.words.get_mut((page / 64) as usize) else {
            return false;
        };
        let bit = 1u64 << (page % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }

    /// Whether `page` is in the set.
    pub(crate) fn contains(&self, page: u64) -> bool {
        self.words
            .get((page / 64) as usize)
            .is_some_and(|word| word & (1u64 << (page % 64)) != 0)
    }
}

struct MapOwner(Mapping);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One checkpoint as mapped: the state behind a [`ReadView`].
pub(crate) struct Snapshot {
    meta: Meta,
    data: Bytes,
    verified: Box<[AtomicU64]>,
    file: PathBuf,
    trees: BTreeMap<String, TreeRecord>,
    _pin: Pin,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("txn", &self.meta.txn)
            .field("file", &self.file)
            .field("trees", &self.trees.len())
            .finish()
    }
}

impl Snapshot {
    /// A snapshot of checkpoint `meta` over `mapping`. With `trees` None
    /// the catalog is read (and checked) from the file.
    pub(crate) fn new(
        meta: Meta,
        mapping: Mapping,
        file: &Path,
        registry: &Arc<ViewRegistry>,
        trees: Option<BTreeMap<String, TreeRecord>>,
    ) -> BTreeResult<Snapshot> {
        // The bitmap below is sized by the meta: check it against the file
        // first.
        let needed = meta.page_count.saturating_mul(PAGE_SIZE as u64);
        if (mapping.len() as u64) < needed {
            return Err(BTreeError::Corrupt {
                page: meta.page_count - 1,
                file: file.to_path_buf(),
                detail: format!("file is {} bytes, checkpoint needs {needed}", mapping.len()),
            });
        }
        let mut snap = Snapshot {
            verified: (0..meta.page_count.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            _pin: registry.pin(meta.txn),
            meta,
            data: Bytes::from_owner(MapOwner(mapping)),
            file: file.to_path_buf(),
            trees: BTreeMap::new(),
        };
        snap.trees = match trees {
            Some(trees) => trees,
            None => snap.load_trees()?,
        };
        assert_eq!(
            snap.trees.len() as u64,
            snap.meta.tree_count,
            "catalog and meta agree"
        );
        Ok(snap)
    }

    fn load_trees(&self) -> BTreeResult<BTreeMap<String, TreeRecord>> {
        let mut trees = BTreeMap::new();
        let mut seen = PageSet::new(self.meta.page_count);
        self.walk_tree(self.meta.catalog_root, &mut seen, |page, node| {
            for index in 0..(if node.is_leaf { node.count } else { 0 }) {
                let entry = self.at(page, node.leaf_entry(index))?;
                let name = self.part_bytes(entry.key)?;
                let value = self.part_bytes(entry.value)?;
                let record = TreeRecord::decode(&value).filter(|r| self.record_in_file(r));
                let (Ok(name), Some(record)) = (String::from_utf8(name.to_vec()), record) else {
                    return Err(self.corrupt(page, format!("bad catalog entry {index}")));
                };
                trees.insert(name, record);
            }
            Ok(())
        })?;
        if trees.len() as u64 != self.meta.tree_count {
            return Err(self.corrupt(
                self.meta.catalog_root,
                format!(
                    "catalog lists {} trees, meta says {}",
                    trees.len(),
                    self.meta.tree_count
                ),
            ));
        }
        Ok(trees)
    }

    /// Whether a tree record points into this file (and is empty iff rootless).
    pub(crate) fn record_in_file(&self, record: &TreeRecord) -> bool {
        match record.root {
            0 => record.key_count == 0,
            root => (FIRST_DATA_PAGE..self.meta.page_count).contains(&root) && record.key_count > 0,
        }
    }

    /// The checkpoint's meta.
    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Pages in the checkpoint's file.
    pub(crate) fn page_count(&self) -> u64 {
        self.meta.page_count
    }

    /// The trees of the checkpoint.
    pub(crate) fn trees(&self) -> &BTreeMap<String, TreeRecord> {
        &self.trees
    }

    /// A tree's record, or `TreeNotFound`.
    pub(crate) fn tree(&self, name: &str) -> BTreeResult<TreeRecord> {
        self.trees
            .get(name)
            .copied()
            .ok_or_else(|| BTreeError::TreeNotFound {
                name: name.to_string(),
            })
    }

    /// A corruption error naming `page` of this file.
    pub(crate) fn corrupt(&self, page: u64, detail: impl Into<String>) -> BTreeError {
        BTreeError::Corrupt {
            page,
            file: self.file.clone(),
            detail: detail.into(),
        }
    }

    /// Turns a node-layout result about `page` into a typed error.
    pub(crate) fn at<T>(&self, page: u64, result: Result<T, String>) -> BTreeResult<T> {
        result.map_err(|detail| self.corrupt(page, detail))
    }

    /// Data page `page_no`, checked the first time this mapping touches it.
    pub(crate) fn page(&self, page_no: u64) -> BTreeResult<&[u8]> {
        if page_no < FIRST_DATA_PAGE || page_no >= self.meta.page_count {
            return Err(self.corrupt(
                page_no,
                format!("reference to a page outside 2..{}", self.meta.page_count),
            ));
        }
        let index = page_no as usize;
        let start = index * PAGE_SIZE;
        let (Some(bytes), Some(cell)) = (
            self.data.get(start..start + PAGE_SIZE),
            self.verified.get(index / 64),
        ) else {
            return Err(self.corrupt(page_no, "page past the end of the file"));
        };
        let bit = 1u64 << (index % 64);
        if cell.load(AtomicOrdering::Acquire) & bit == 0 {
            check_page(bytes, page_no, self.meta.txn).map_err(|d| self.corrupt(page_no, d))?;
            cell.fetch_or(bit, AtomicOrdering::Release);
        }
        Ok(bytes)
    }

    /// Page `page_no`, which must be of `kind`.
    pub(crate) fn typed_page(&self, page_no: u64, kind: PageKind) -> BTreeResult<&[u8]> {
        let page = self.page(page_no)?;
        if page[4] != kind.code() {
            let found = PageKind::from_code(page[4]).map_or("unknown", PageKind::name);
            return Err(self.corrupt(
                page_no,
                format!("a {found} page where a {} page belongs", kind.name()),
            ));
        }
        Ok(page)
    }

    /// Node page `page_no`.
    pub(crate) fn node(&self, page_no: u64) -> BTreeResult<Node<'_>> {
        let page = self.page(page_no)?;
        self.at(page_no, Node::parse(page))
    }

    /// A child of `node` (level `parent_level`), checked to be one level down.
    pub(crate) fn child_node(&self, page_no: u64, parent_level: u8) -> BTreeResult<Node<'_>> {
        let node = self.node(page_no)?;
        if node.level + 1 != parent_level {
            return Err(self.corrupt(
                page_no,
                format!("level {} under a level {parent_level} branch", node.level),
            ));
        }
        Ok(node)
    }

    /// `sub` (a slice of this mapping) as shared bytes, without copying.
    pub(crate) fn bytes_of(&self, sub: &[u8]) -> Bytes {
        let base = self.data.as_ptr() as usize;
        let at = (sub.as_ptr() as usize).wrapping_sub(base);
        if at <= self.data.len() && sub.len() <= self.data.len() - at {
            self.data.slice(at..at + sub.len())
        } else {
            Bytes::copy_from_slice(sub)
        }
    }

    /// The bytes a part stands for (reading overflow pages if needed).
    pub(crate) fn part_bytes(&self, part: Part<'_>) -> BTreeResult<Bytes> {
        match part {
            Part::Inline(bytes) => Ok(self.bytes_of(bytes)),
            Part::Overflow(run) => read_run(self, run),
        }
    }

    /// Compares a stored part with `probe`.
    pub(crate) fn compare_part(&self, part: Part<'_>, probe: &[u8]) -> BTreeResult<Ordering> {
        match part {
            Part::Inline(bytes) => Ok(bytes.cmp(probe)),
            Part::Overflow(run) => compare_run(self, run, probe),
        }
    }

    /// First index in `first..count` whose key is `>= probe` (`> probe` if
    /// `strict`). The prefix and slot hints narrow the range; only entries
    /// whose hint equals the probe's are read.
    fn lower_bound(
        &self,
        page: u64,
        node: &Node<'_>,
        first: usize,
        probe: &[u8],
        strict: bool,
    ) -> BTreeResult<usize> {
        let (low, high) = self.at(page, node.hint_range(first, probe))?;
        let offset = partition_point(high - low, |i| {
            let key = self.at(page, node.key(low + i))?;
            let order = self.compare_part(key, probe)?;
            BTreeResult::Ok(order == Ordering::Less || (strict && order == Ordering::Equal))
        })?;
        Ok(low + offset)
    }

    /// Position of `key` among a leaf's keys, as `binary_search` reports it.
    pub(crate) fn leaf_search(
        &self,
        page: u64,
        node: &Node<'_>,
        key: &[u8],
    ) -> BTreeResult<Result<usize, usize>> {
        let index = self.lower_bound(page, node, 0, key, false)?;
        if index < node.count {
            let stored = self.at(page, node.leaf_key(index))?;
            if self.compare_part(stored, key)? == Ordering::Equal {
                return Ok(Ok(index));
            }
        }
        Ok(Err(index))
    }

    /// First leaf index whose key is `>= key` (or `> key` if `strict`).
    pub(crate) fn leaf_lower_bound(
        &self,
        page: u64,
        node: &Node<'_>,
        key: &[u8],
        strict: bool,
    ) -> BTreeResult<usize> {
        self.lower_bound(page, node, 0, key, strict)
    }

    /// The child of a branch whose range holds `key`: the last entry whose
    /// key is `<= key` (entry 0 stands for the branch's lower bound).
    pub(crate) fn branch_index(
        &self,
        page: u64,
        node: &Node<'_>,
        key: &[u8],
    ) -> BTreeResult<usize> {
        Ok(self.lower_bound(page, node, 1, key, true)? - 1)
    }

    /// Looks `key` up in the tree rooted at `root`.
    pub(crate) fn get_in(&self, root: u64, key: &[u8]) -> BTreeResult<Option<Bytes>> {
        if root == 0 {
            return Ok(None);
        }
        let mut page = root;
        let mut node = self.node(page)?;
        while !node.is_leaf {
            let index = self.branch_index(page, &node, key)?;
            let child = self.at(page, node.child(index))?;
            node = self.child_node(child, node.level)?;
            page = child;
        }
        match self.leaf_search(page, &node, key)? {
            Ok(index) => {
                let entry = self.at(page, node.leaf_entry(index))?;
                Ok(Some(self.part_bytes(entry.value)?))
            }
            Err(_) => Ok(None),
        }
    }

    /// Visits every node page of the tree at `root`, parents first, checking
    /// levels and that no page is reached twice (`seen` spans trees).
    pub(crate) fn walk_tree(
        &self,
        root: u64,
        seen: &mut PageSet,
        mut visit: impl FnMut(u64, Node<'_>) -> BTreeResult<()>,
    ) -> BTreeResult<()> {
        if root == 0 {
            return Ok(());
        }
        let mut stack: Vec<(u64, Option<u8>)> = vec![(root, None)];
        while let Some((page, parent_level)) = stack.pop() {
            let node = match parent_level {
                Some(level) => self.child_node(page, level)?,
                None => self.node(page)?,
            };
            if !seen.insert(page) {
                return Err(self.corrupt(page, "page reached twice"));
            }
            visit(page, node)?;
            if !node.is_leaf {
                for index in (0..node.count).rev() {
                    stack.push((self.at(page, node.child(index))?, Some(node.level)));
                }
            }
        }
        Ok(())
    }
}

/// A consistent, read-only view of one checkpoint. Cheap to clone and
/// shareable across threads; while any clone lives, no page it can reach is
/// reused, so it keeps returning exactly that checkpoint's data.
#[derive(Clone)]
pub struct ReadView {
    pub(crate) snap: Arc<Snapshot>,
}

impl fmt::Debug for ReadView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadView")
            .field("txn", &self.txn())
            .finish()
    }
}

impl ReadView {
    /// The checkpoint number this view shows (0 for a new, empty file).
    pub fn txn(&self) -> u64 {
        self.snap.meta.txn
    }

    /// Whether both views pin the very same checkpoint of the same open
    /// store (not merely an equal checkpoint number).
    pub fn same_checkpoint(&self, other: &ReadView) -> bool {
        Arc::ptr_eq(&self.snap, &other.snap)
    }

    /// The caller's bytes stored with this checkpoint (empty if never set).
    pub fn user_meta(&self) -> Bytes {
        self.snap.meta.user_meta.clone()
    }

    /// Names of the trees in this checkpoint, sorted.
    pub fn tree_names(&self) -> Vec<String> {
        self.snap.trees.keys().cloned().collect()
    }

    /// Whether the tree exists in this checkpoint.
    pub fn has_tree(&self, tree: &str) -> bool {
        self.snap.trees.contains_key(tree)
    }

    /// Number of keys in `tree`.
    pub fn tree_len(&self, tree: &str) -> BTreeResult<u64> {
        Ok(self.snap.tree(tree)?.key_count)
    }

    /// The value of `key` in `tree`. Inline values are returned without
    /// copying (they share the mapping); overflow values are assembled.
    pub fn get(&self, tree: &str, key: &[u8]) -> BTreeResult<Option<Bytes>> {
        let record = self.snap.tree(tree)?;
        self.snap.get_in(record.root, key)
    }

    /// The entries of `tree` between the bounds, ascending (or descending if
    /// `reverse`), at most `limit` of them. The iterator owns a clone of the
    /// view; it stops after the first error it yields.
    pub fn range(
        &self,
        tree: &str,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
    ) -> BTreeResult<RangeIter> {
        let record = self.snap.tree(tree)?;
        Ok(RangeIter::new(
            Arc::clone(&self.snap),
            record.root,
            lower,
            upper,
            reverse,
            limit,
        ))
    }
}
