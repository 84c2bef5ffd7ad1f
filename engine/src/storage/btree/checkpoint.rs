//! The copy-on-write write path: everything one checkpoint writes before
//! its meta page.
//!
//! For each tree the batch touches, the sorted operations are pushed down
//! from the root; a node whose subtree changes is decoded, merged with its
//! operations and returned to its parent as an unwritten item list. The
//! parent merges underfull children with a neighbour (reading and freeing
//! the neighbour), then writes each changed child to fresh pages, splitting
//! it evenly into as many pages as it needs, and passes its own new item
//! list up. Untouched subtrees are never read; unchanged entries keep their
//! encoded bytes, and overflow runs are referenced, not copied. So a
//! checkpoint writes the pages on the paths to changed keys (plus the free
//! list and the meta), not the tree.
//!
//! Pages come from the released free pages (see `freelist.rs`) or the end of
//! the file; pages the old checkpoint reached and the new one does not are
//! recorded as freed by this checkpoint. Nothing here syncs or writes a meta
//! page: the caller does that once every page is written.

use super::batch::{Reset, WriteBatch};
use super::error::{BTreeError, BTreeResult};
use super::freelist::{ENTRIES_PER_PAGE, FreePages, encode_page};
use super::meta::Meta;
use super::node::{
    BRANCH_ENTRY_FIXED, BRANCH_SLOT_BYTES, LEAF_SLOT_BYTES, MAX_INLINE_ENTRY, MAX_INLINE_KEY,
    MAX_PREFIX_BYTES, NODE_CAPACITY, Node, NodeBuilder, Part, PartOut, Run, common_prefix_len,
    encode_branch_entry, encode_leaf_entry, key_stored_len, partition_point, separator_len,
};
use super::overflow::{compare_run, encode_run, read_head, read_run, run_pages};
use super::page::{FIRST_DATA_PAGE, MAX_LEVEL, PAGE_SIZE, PAGE_SIZE_U64};
use super::view::{PageSet, Snapshot, TreeRecord};
use crate::storage::disk::DiskFile;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

/// A changed node smaller than this is merged with a neighbour.
const MIN_FILL_BYTES: usize = NODE_CAPACITY / 4;
/// Adjacent pages are written with one call, up to this many bytes.
const MAX_WRITE_RUN_BYTES: usize = 1 << 20;
/// The file grows by at least this much (then by an eighth of its size).
const MIN_GROWTH_BYTES: u64 = 64 << 10;
/// ... and by at most this much beyond what a checkpoint needs.
const MAX_GROWTH_BYTES: u64 = 64 << 20;

/// A key as the write path holds it: bytes in memory (a slice of the
/// mapping or of the batch), or an overflow run of the old checkpoint.
#[derive(Debug, Clone)]
pub(crate) enum KeySrc {
    Mem(Bytes),
    Run(Run),
}

impl KeySrc {
    fn empty() -> KeySrc {
        KeySrc::Mem(Bytes::new())
    }

    fn from_part(snap: &Snapshot, part: Part<'_>) -> KeySrc {
        match part {
            Part::Inline(bytes) => KeySrc::Mem(snap.bytes_of(bytes)),
            Part::Overflow(run) => KeySrc::Run(run),
        }
    }

    fn len(&self) -> usize {
        match self {
            KeySrc::Mem(bytes) => bytes.len(),
            KeySrc::Run(run) => run.len as usize,
        }
    }

    fn cmp_probe(&self, snap: &Snapshot, probe: &[u8]) -> BTreeResult<Ordering> {
        match self {
            KeySrc::Mem(bytes) => Ok(bytes[..].cmp(probe)),
            KeySrc::Run(run) => compare_run(snap, *run, probe),
        }
    }

    fn bytes(&self, snap: &Snapshot) -> BTreeResult<Bytes> {
        match self {
            KeySrc::Mem(bytes) => Ok(bytes.clone()),
            KeySrc::Run(run) => read_run(snap, *run),
        }
    }

    /// The first `len` bytes (fewer if the key is shorter).
    fn head(&self, snap: &Snapshot, len: usize) -> BTreeResult<Bytes> {
        match self {
            KeySrc::Mem(bytes) => Ok(bytes.slice(..len.min(bytes.len()))),
            KeySrc::Run(run) => read_head(snap, *run, len),
        }
    }
}

/// A leaf entry on its way to a new page: its encoding is final.
#[derive(Debug)]
struct LeafItem {
    key: KeySrc,
    value_run: Option<Run>,
    entry: Bytes,
}

impl LeafItem {
    fn size(&self) -> usize {
        self.entry.len() + LEAF_SLOT_BYTES
    }

    /// The value bytes if stored inline.
    fn inline_value(&self) -> Option<&[u8]> {
        if self.value_run.is_some() {
            return None;
        }
        let len = super::page::u32_at(&self.entry, 5)? as usize;
        self.entry.get(self.entry.len().checked_sub(len)?..)
    }
}

/// A child of a branch being rebuilt: an existing page, or a changed node
/// not yet written. `key` is the child's lower bound (its separator).
#[derive(Debug)]
enum Slot {
    Clean { key: KeySrc, child: u64 },
    Pending { key: KeySrc, items: Items },
}

impl Slot {
    fn key(&self) -> &KeySrc {
        match self {
            Slot::Clean { key, .. } | Slot::Pending { key, .. } => key,
        }
    }

    fn set_key(&mut self, new: KeySrc) {
        match self {
            Slot::Clean { key, .. } | Slot::Pending { key, .. } => *key = new,
        }
    }

    /// Bytes the slot takes in a branch page (its key counted even in
    /// position 0, where it is stored empty: an overestimate).
    fn size(&self) -> usize {
        BRANCH_SLOT_BYTES + BRANCH_ENTRY_FIXED + key_stored_len(self.key().len())
    }
}

/// The content of a changed node: leaf entries or branch slots.
#[derive(Debug)]
enum Items {
    Leaf(Vec<LeafItem>),
    Branch { level: u8, slots: Vec<Slot> },
}

impl Items {
    fn is_empty(&self) -> bool {
        match self {
            Items::Leaf(entries) => entries.is_empty(),
            Items::Branch { slots, .. } => slots.is_empty(),
        }
    }

    fn level(&self) -> u8 {
        match self {
            Items::Leaf(_) => 0,
            Items::Branch { level, .. } => *level,
        }
    }

    fn size(&self) -> usize {
        match self {
            Items::Leaf(entries) => entries.iter().map(LeafItem::size).sum(),
            Items::Branch { slots, .. } => slots.iter().map(Slot::size).sum(),
        }
    }
}

/// Splits items of the given sizes into page-sized chunks of nearly equal
/// size. With `s` the largest item, chunks aim at `total / k` for
/// `k = ceil(total / (capacity - s))`, so each chunk is below `capacity` and
/// above `capacity / 2 - 1.5 s`: never empty, and for branches (items of at
/// most 527 bytes) at least three items.
fn split_chunks(sizes: &[usize], capacity: usize) -> Vec<Range<usize>> {
    let total: usize = sizes.iter().sum();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    assert!(
        largest <= capacity / 3,
        "an item of {largest} bytes is too large for a node"
    );
    if total <= capacity {
        return std::iter::once(0..sizes.len()).collect();
    }
    let chunks = total.div_ceil(capacity - largest);
    let mut ranges = Vec::with_capacity(chunks);
    let (mut start, mut prefix, mut index) = (0, 0, 0);
    for chunk in 1..=chunks {
        let goal = total * chunk / chunks;
        while index < sizes.len() && prefix < goal {
            prefix += sizes[index];
            index += 1;
        }
        assert!(index > start, "every chunk holds an item");
        ranges.push(start..index);
        start = index;
    }
    assert_eq!(start, sizes.len(), "chunks cover every item");
    for range in &ranges {
        assert!(
            sizes[range.clone()].iter().sum::<usize>() <= capacity,
            "chunk fits a page"
        );
    }
    ranges
}

/// Batches page writes into runs of adjacent pages and grows the file ahead
/// of them.
struct PageWriter<'f> {
    file: &'f dyn DiskFile,
    file_len: u64,
    max_file_bytes: u64,
    run_first: u64,
    run: Vec<u8>,
    pages_written: u64,
    #[cfg(debug_assertions)]
    written: std::collections::HashSet<u64>,
}

impl PageWriter<'_> {
    fn write(&mut self, page_no: u64, page: &[u8]) -> BTreeResult<()> {
        assert_eq!(page.len(), PAGE_SIZE, "whole pages only");
        assert!(
            page_no >= FIRST_DATA_PAGE,
            "meta pages are written by the commit"
        );
        #[cfg(debug_assertions)]
        assert!(self.written.insert(page_no), "page {page_no} written twice");
        let next = self.run_first + (self.run.len() / PAGE_SIZE) as u64;
        if self.run.is_empty() || page_no != next || self.run.len() >= MAX_WRITE_RUN_BYTES {
            self.flush()?;
            self.run_first = page_no;
        }
        self.run.extend_from_slice(page);
        self.pages_written += 1;
        Ok(())
    }

    fn flush(&mut self) -> BTreeResult<()> {
        if self.run.is_empty() {
            return Ok(());
        }
        let offset = self.run_first * PAGE_SIZE_U64;
        let end = offset + self.run.len() as u64;
        if end > self.file_len {
            let growth = (self.file_len / 8).clamp(MIN_GROWTH_BYTES, MAX_GROWTH_BYTES);
            let target = (self.file_len + growth)
                .min(self.max_file_bytes)
                .max(end)
                .next_multiple_of(PAGE_SIZE_U64);
            self.file.allocate(target)?;
            self.file_len = target;
        }
        self.file.write_all_at(&self.run, offset)?;
        self.run.clear();
        Ok(())
    }
}

/// What a finished checkpoint hands to the commit.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) meta: Meta,
    pub(crate) free: FreePages,
    pub(crate) freelist_chain: Vec<u64>,
    pub(crate) trees: BTreeMap<String, TreeRecord>,
    pub(crate) pages_written: u64,
    pub(crate) pages_freed: u64,
    pub(crate) file_len: u64,
}

/// Limits a checkpoint enforces while it writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_file_bytes: u64,
    pub(crate) max_trees: usize,
}

type Op<'b> = (&'b Bytes, &'b Option<Bytes>);

/// One checkpoint being written on top of `snap`.
struct Txn<'s> {
    snap: &'s Snapshot,
    txn: u64,
    free: FreePages,
    page_count: u64,
    max_page_count: u64,
    freed: Vec<u64>,
    writer: PageWriter<'s>,
    count_delta: i64,
}

/// Writes every page of checkpoint `snap.txn + 1` for `batch` (not the meta,
/// no sync). `free` must already be released per the reuse rule; on error
/// nothing reachable from `snap` was touched and the caller's allocator
/// state is unchanged (it passed a copy).
pub(crate) fn write_pages(
    snap: &Snapshot,
    file: &dyn DiskFile,
    file_len: u64,
    free: FreePages,
    old_chain: &[u64],
    batch: &WriteBatch,
    limits: Limits,
) -> BTreeResult<Outcome> {
    let mut txn = Txn {
        snap,
        txn: snap.meta().txn + 1,
        free,
        page_count: snap.page_count(),
        max_page_count: limits.max_file_bytes / PAGE_SIZE_U64,
        freed: old_chain.to_vec(),
        writer: PageWriter {
            file,
            file_len,
            max_file_bytes: limits.max_file_bytes,
            run_first: 0,
            run: Vec::new(),
            pages_written: 0,
            #[cfg(debug_assertions)]
            written: Default::default(),
        },
        count_delta: 0,
    };
    let mut trees = snap.trees().clone();
    let mut catalog_ops: BTreeMap<Bytes, Option<Bytes>> = BTreeMap::new();
    for (name, changes) in &batch.trees {
        let before = trees.get(name).copied();
        let mut record = before;
        if matches!(changes.reset, Reset::Drop | Reset::Recreate) {
            if let Some(old) = record.take() {
                txn.free_tree(old.root)?;
            }
        }
        if matches!(changes.reset, Reset::Create | Reset::Recreate) && record.is_none() {
            record = Some(TreeRecord::EMPTY);
        }
        if !changes.ops.is_empty() {
            let Some(current) = record else {
                return Err(BTreeError::TreeNotFound { name: name.clone() });
            };
            record = Some(txn.apply_tree(current, &changes.ops)?);
        }
        if record == before {
            continue;
        }
        let key = Bytes::copy_from_slice(name.as_bytes());
        match record {
            Some(record) => {
                trees.insert(name.clone(), record);
                catalog_ops.insert(key, Some(record.encode()));
            }
            None => {
                trees.remove(name);
                catalog_ops.insert(key, None);
            }
        }
    }
    if trees.len() > limits.max_trees && trees.len() > snap.trees().len() {
        return Err(BTreeError::TooManyTrees {
            max: limits.max_trees,
        });
    }
    let catalog = TreeRecord {
        root: snap.meta().catalog_root,
        key_count: snap.meta().tree_count,
    };
    let catalog = txn.apply_tree(catalog, &catalog_ops)?;
    assert_eq!(
        catalog.key_count,
        trees.len() as u64,
        "catalog counts its trees"
    );
    let user_meta = batch
        .user_meta
        .clone()
        .unwrap_or_else(|| snap.meta().user_meta.clone());
    txn.finish(catalog, trees, user_meta)
}

impl Txn<'_> {
    fn alloc(&mut self, pages: u64) -> BTreeResult<u64> {
        if let Some(first) = self.free.take_run(pages) {
            return Ok(first);
        }
        let first = self.page_count;
        let end = first + pages;
        if end > self.max_page_count {
            return Err(BTreeError::FileLimit {
                needed_bytes: end * PAGE_SIZE_U64,
                limit_bytes: self.max_page_count * PAGE_SIZE_U64,
            });
        }
        self.page_count = end;
        Ok(first)
    }

    fn free_run(&mut self, run: Run) {
        self.freed
            .extend(run.page..run.page + run_pages(run.len as usize));
    }

    fn write_run(&mut self, data: &[u8]) -> BTreeResult<Run> {
        let first = self.alloc(run_pages(data.len()))?;
        for (page_no, page) in encode_run(first, self.txn, data) {
            self.writer.write(page_no, &page)?;
        }
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Ok(Run { page: first, len })
    }

    /// Frees every page of a tree (nodes and overflow runs).
    fn free_tree(&mut self, root: u64) -> BTreeResult<()> {
        let snap = self.snap;
        let mut freed = Vec::new();
        let mut seen = PageSet::new(snap.page_count());
        snap.walk_tree(root, &mut seen, |page, node| {
            freed.push(page);
            for index in 0..node.count {
                let (key, value) = if node.is_leaf {
                    let entry = snap.at(page, node.leaf_entry(index))?;
                    (entry.key, Some(entry.value))
                } else {
                    (snap.at(page, node.branch_entry(index))?.key, None)
                };
                for part in [Some(key), value].into_iter().flatten() {
                    if let Part::Overflow(run) = part {
                        freed.extend(run.page..run.page + run_pages(run.len as usize));
                    }
                }
            }
            Ok(())
        })?;
        self.freed.extend(freed);
        Ok(())
    }

    /// Applies sorted operations to one tree; returns its new record.
    fn apply_tree(
        &mut self,
        record: TreeRecord,
        ops: &BTreeMap<Bytes, Option<Bytes>>,
    ) -> BTreeResult<TreeRecord> {
        let ops: Vec<Op<'_>> = ops.iter().collect();
        if ops.is_empty() {
            return Ok(record);
        }
        self.count_delta = 0;
        let items = if record.root == 0 {
            self.build_leaf(&ops)?
        } else {
            self.apply(record.root, None, &KeySrc::empty(), &ops)?
        };
        let root = match items {
            None => record.root,
            Some(items) => self.finish_root(items)?,
        };
        let key_count = record.key_count as i64 + self.count_delta;
        assert!(key_count >= 0, "a tree cannot hold fewer than no keys");
        assert_eq!(
            root == 0,
            key_count == 0,
            "a tree is empty iff it has no root"
        );
        Ok(TreeRecord {
            root,
            key_count: key_count as u64,
        })
    }

    fn build_leaf(&mut self, ops: &[Op<'_>]) -> BTreeResult<Option<Items>> {
        let mut entries = Vec::new();
        for &(key, op) in ops {
            if let Some(value) = op {
                entries.push(self.new_item(KeySrc::Mem(key.clone()), value)?);
                self.count_delta += 1;
            }
        }
        Ok((!entries.is_empty()).then_some(Items::Leaf(entries)))
    }

    /// Applies `ops` (all within this node's range) to the subtree at
    /// `page`; None if nothing changed, else the node's new content.
    fn apply(
        &mut self,
        page: u64,
        parent_level: Option<u8>,
        fence: &KeySrc,
        ops: &[Op<'_>],
    ) -> BTreeResult<Option<Items>> {
        let node = match parent_level {
            Some(level) => self.snap.child_node(page, level)?,
            None => self.snap.node(page)?,
        };
        if node.is_leaf {
            self.apply_leaf(page, &node, ops)
        } else {
            self.apply_branch(page, &node, fence, ops)
        }
    }

    fn load_leaf(&self, page: u64, node: &Node<'_>) -> BTreeResult<Vec<LeafItem>> {
        let snap = self.snap;
        (0..node.count)
            .map(|index| {
                let entry = snap.at(page, node.leaf_entry(index))?;
                Ok(LeafItem {
                    key: KeySrc::from_part(snap, entry.key),
                    value_run: match entry.value {
                        Part::Overflow(run) => Some(run),
                        Part::Inline(_) => None,
                    },
                    entry: snap.bytes_of(entry.raw),
                })
            })
            .collect()
    }

    fn load_branch(&self, page: u64, node: &Node<'_>, fence: &KeySrc) -> BTreeResult<Vec<Slot>> {
        let snap = self.snap;
        (0..node.count)
            .map(|index| {
                let entry = snap.at(page, node.branch_entry(index))?;
                let key = if index == 0 {
                    fence.clone()
                } else {
                    KeySrc::from_part(snap, entry.key)
                };
                Ok(Slot::Clean {
                    key,
                    child: entry.child,
                })
            })
            .collect()
    }

    /// Frees a branch page and the overflow runs of its separators.
    fn free_branch(&mut self, page: u64, node: &Node<'_>) -> BTreeResult<()> {
        self.freed.push(page);
        for index in 1..node.count {
            if let Part::Overflow(run) = self.snap.at(page, node.branch_entry(index))?.key {
                self.free_run(run);
            }
        }
        Ok(())
    }

    /// A new leaf entry for `key` (whose overflow run is kept if it has
    /// one) and `value`, writing overflow runs as needed.
    fn new_item(&mut self, key: KeySrc, value: &Bytes) -> BTreeResult<LeafItem> {
        let key_part = match &key {
            KeySrc::Run(run) => PartOut::Overflow(*run),
            KeySrc::Mem(bytes) if bytes.len() <= MAX_INLINE_KEY => PartOut::Inline(bytes),
            KeySrc::Mem(bytes) => PartOut::Overflow(self.write_run(bytes)?),
        };
        let value_run = if key_part.stored_len() + value.len() <= MAX_INLINE_ENTRY {
            None
        } else {
            Some(self.write_run(value)?)
        };
        let value_part = value_run.map_or(PartOut::Inline(value), PartOut::Overflow);
        let entry = Bytes::from(encode_leaf_entry(key_part, value_part));
        Ok(LeafItem {
            key,
            value_run,
            entry,
        })
    }

    fn apply_leaf(
        &mut self,
        page: u64,
        node: &Node<'_>,
        ops: &[Op<'_>],
    ) -> BTreeResult<Option<Items>> {
        let snap = self.snap;
        let old = self.load_leaf(page, node)?;
        let mut out = Vec::with_capacity(old.len() + ops.len());
        let mut old = old.into_iter().peekable();
        let mut changed = false;
        for &(key, op) in ops {
            let mut existing = None;
            while let Some(item) = old.peek() {
                match item.key.cmp_probe(snap, key)? {
                    Ordering::Less => out.extend(old.next()),
                    Ordering::Equal => {
                        existing = old.next();
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
            match (existing, op) {
                (None, None) => {}
                (None, Some(value)) => {
                    out.push(self.new_item(KeySrc::Mem(key.clone()), value)?);
                    self.count_delta += 1;
                    changed = true;
                }
                (Some(item), None) => {
                    if let KeySrc::Run(run) = item.key {
                        self.free_run(run);
                    }
                    if let Some(run) = item.value_run {
                        self.free_run(run);
                    }
                    self.count_delta -= 1;
                    changed = true;
                }
                (Some(item), Some(value)) if item.inline_value() == Some(&value[..]) => {
                    out.push(item);
                }
                (Some(item), Some(value)) => {
                    if let Some(run) = item.value_run {
                        self.free_run(run);
                    }
                    out.push(self.new_item(item.key, value)?);
                    changed = true;
                }
            }
        }
        out.extend(old);
        if !changed {
            return Ok(None);
        }
        self.freed.push(page);
        Ok(Some(Items::Leaf(out)))
    }

    /// The slot whose range holds `key`.
    fn child_for(&self, slots: &[Slot], key: &[u8]) -> BTreeResult<usize> {
        partition_point(slots.len() - 1, |index| {
            Ok(slots[index + 1].key().cmp_probe(self.snap, key)? != Ordering::Greater)
        })
    }

    fn apply_branch(
        &mut self,
        page: u64,
        node: &Node<'_>,
        fence: &KeySrc,
        ops: &[Op<'_>],
    ) -> BTreeResult<Option<Items>> {
        let level = node.level;
        let slots = self.load_branch(page, node, fence)?;
        let mut results: Vec<(usize, Option<Items>)> = Vec::new();
        let mut start = 0;
        while start < ops.len() {
            let index = self.child_for(&slots, ops[start].0)?;
            let end = match slots.get(index + 1) {
                None => ops.len(),
                Some(next) => {
                    let rest = &ops[start..];
                    start
                        + partition_point(rest.len(), |i| {
                            BTreeResult::Ok(
                                next.key().cmp_probe(self.snap, rest[i].0)? == Ordering::Greater,
                            )
                        })?
                }
            };
            assert!(end > start, "every group of operations is non-empty");
            let Slot::Clean { key, child } = &slots[index] else {
                unreachable!("loaded slots are clean");
            };
            let result = self.apply(*child, Some(level), key, &ops[start..end])?;
            results.push((index, result));
            start = end;
        }
        if results.iter().all(|(_, result)| result.is_none()) {
            return Ok(None);
        }
        self.free_branch(page, node)?;
        let mut results = results.into_iter().peekable();
        let mut new_slots = Vec::with_capacity(slots.len() + 8);
        for (index, slot) in slots.into_iter().enumerate() {
            let result = match results.peek() {
                Some((at, _)) if *at == index => results.next().and_then(|(_, r)| r),
                _ => None,
            };
            match result {
                None => new_slots.push(slot),
                Some(items) if items.is_empty() => {}
                Some(items) => new_slots.push(Slot::Pending {
                    key: slot.key().clone(),
                    items,
                }),
            }
        }
        if let Some(first) = new_slots.first_mut() {
            first.set_key(fence.clone());
        }
        self.rebalance(&mut new_slots, level)?;
        if new_slots.len() >= 2 {
            self.pack_pending(&mut new_slots)?;
        }
        Ok(Some(Items::Branch {
            level,
            slots: new_slots,
        }))
    }

    fn needs_merge(slot: &Slot) -> bool {
        match slot {
            Slot::Clean { .. } => false,
            Slot::Pending { items, .. } => {
                items.size() < MIN_FILL_BYTES
                    || matches!(items, Items::Branch { slots, .. } if slots.len() < 2)
            }
        }
    }

    /// Merges every underfull changed child of a level-`level` node with a
    /// neighbour until none is left (or only one child remains).
    fn rebalance(&mut self, slots: &mut Vec<Slot>, level: u8) -> BTreeResult<()> {
        let mut index = 0;
        while index < slots.len() && slots.len() >= 2 {
            if !Self::needs_merge(&slots[index]) {
                index += 1;
                continue;
            }
            let (left, right) = if index + 1 < slots.len() {
                (index, index + 1)
            } else {
                (index - 1, index)
            };
            let right_slot = slots.remove(right);
            let placeholder = Slot::Clean {
                key: KeySrc::empty(),
                child: 0,
            };
            let left_slot = std::mem::replace(&mut slots[left], placeholder);
            slots[left] = self.merge(left_slot, right_slot, level)?;
            index = left;
        }
        Ok(())
    }

    /// A child's content, reading (and freeing) it if it is a clean page.
    fn take(&mut self, slot: Slot, parent_level: u8) -> BTreeResult<(KeySrc, Items)> {
        match slot {
            Slot::Pending { key, items } => Ok((key, items)),
            Slot::Clean { key, child } => {
                let node = self.snap.child_node(child, parent_level)?;
                let items = if node.is_leaf {
                    self.freed.push(child);
                    Items::Leaf(self.load_leaf(child, &node)?)
                } else {
                    self.free_branch(child, &node)?;
                    Items::Branch {
                        level: node.level,
                        slots: self.load_branch(child, &node, &key)?,
                    }
                };
                Ok((key, items))
            }
        }
    }

    fn merge(&mut self, left: Slot, right: Slot, parent_level: u8) -> BTreeResult<Slot> {
        let (left_key, left_items) = self.take(left, parent_level)?;
        let (right_key, right_items) = self.take(right, parent_level)?;
        let items = match (left_items, right_items) {
            (Items::Leaf(mut a), Items::Leaf(b)) => {
                a.extend(b);
                Items::Leaf(a)
            }
            (
                Items::Branch {
                    level,
                    slots: mut a,
                },
                Items::Branch {
                    level: other,
                    slots: mut b,
                },
            ) => {
                assert_eq!(level, other, "siblings share a level");
                if let Some(first) = b.first_mut() {
                    first.set_key(right_key);
                }
                a.extend(b);
                self.rebalance(&mut a, level)?;
                Items::Branch { level, slots: a }
            }
            _ => unreachable!("siblings share a level (checked when read)"),
        };
        Ok(Slot::Pending {
            key: left_key,
            items,
        })
    }

    /// Writes every pending slot, replacing it by the pages it became.
    fn pack_pending(&mut self, slots: &mut Vec<Slot>) -> BTreeResult<()> {
        if slots.iter().all(|slot| matches!(slot, Slot::Clean { .. })) {
            return Ok(());
        }
        let mut out = Vec::with_capacity(slots.len() + 8);
        for slot in slots.drain(..) {
            match slot {
                Slot::Clean { .. } => out.push(slot),
                Slot::Pending { key, items } => out.extend(self.pack(items, key)?),
            }
        }
        *slots = out;
        Ok(())
    }

    /// Writes a node's content to as many pages as it needs; returns the
    /// slots its parent gets (the first keeps `first_key`).
    fn pack(&mut self, items: Items, first_key: KeySrc) -> BTreeResult<Vec<Slot>> {
        match items {
            Items::Leaf(entries) => self.pack_leaves(entries, first_key),
            Items::Branch { level, mut slots } => {
                assert!(slots.len() >= 2, "a branch has at least two children");
                self.pack_pending(&mut slots)?;
                self.pack_branches(level, slots, first_key)
            }
        }
    }

    fn pack_leaves(&mut self, entries: Vec<LeafItem>, first_key: KeySrc) -> BTreeResult<Vec<Slot>> {
        assert!(!entries.is_empty(), "leaves hold at least one entry");
        let sizes: Vec<usize> = entries.iter().map(LeafItem::size).collect();
        let chunks = split_chunks(&sizes, NODE_CAPACITY);
        let mut out = Vec::with_capacity(chunks.len());
        for (number, range) in chunks.into_iter().enumerate() {
            let page_no = self.alloc(1)?;
            let used = sizes[range.clone()].iter().sum();
            let first = &entries[range.start].key;
            let prefix = self.node_prefix(first, &entries[range.end - 1].key, used)?;
            let mut builder = NodeBuilder::new(true, 0, range.len(), page_no, self.txn, &prefix);
            for item in &entries[range.clone()] {
                let head = item.key.head(self.snap, prefix.len() + 4)?;
                builder.push(&item.entry, &head);
            }
            self.writer.write(page_no, &builder.finish())?;
            let key = if number == 0 {
                first_key.clone()
            } else {
                let left = entries[range.start - 1].key.bytes(self.snap)?;
                let right = entries[range.start].key.bytes(self.snap)?;
                KeySrc::Mem(right.slice(..separator_len(&left, &right)))
            };
            out.push(Slot::Clean {
                key,
                child: page_no,
            });
        }
        Ok(out)
    }

    fn pack_branches(
        &mut self,
        level: u8,
        slots: Vec<Slot>,
        first_key: KeySrc,
    ) -> BTreeResult<Vec<Slot>> {
        assert!((1..=MAX_LEVEL).contains(&level), "branch level {level}");
        let sizes: Vec<usize> = slots.iter().map(Slot::size).collect();
        let chunks = split_chunks(&sizes, NODE_CAPACITY);
        let mut out = Vec::with_capacity(chunks.len());
        let mut entry = Vec::new();
        for (number, range) in chunks.into_iter().enumerate() {
            assert!(range.len() >= 2, "a branch has at least two children");
            let page_no = self.alloc(1)?;
            let used = sizes[range.clone()].iter().sum();
            let first = slots[range.start + 1].key();
            let prefix = self.node_prefix(first, slots[range.end - 1].key(), used)?;
            let mut builder =
                NodeBuilder::new(false, level, range.len(), page_no, self.txn, &prefix);
            for (position, slot) in slots[range.clone()].iter().enumerate() {
                let Slot::Clean { key, child } = slot else {
                    unreachable!("pending slots are packed first");
                };
                entry.clear();
                let mut head = Bytes::new();
                if position == 0 {
                    encode_branch_entry(PartOut::Inline(&[]), &mut entry);
                } else {
                    head = key.head(self.snap, prefix.len() + 4)?;
                    let bytes = key.bytes(self.snap)?;
                    let part = if bytes.len() <= MAX_INLINE_KEY {
                        PartOut::Inline(&bytes)
                    } else {
                        PartOut::Overflow(self.write_run(&bytes)?)
                    };
                    encode_branch_entry(part, &mut entry);
                }
                builder.push_child(*child, &entry, &head);
            }
            self.writer.write(page_no, &builder.finish())?;
            let key = if number == 0 {
                first_key.clone()
            } else {
                slots[range.start].key().clone()
            };
            out.push(Slot::Clean {
                key,
                child: page_no,
            });
        }
        Ok(out)
    }

    /// The prefix a node stores: the common prefix of its first and last
    /// compared keys (so of all of them), at most 64 bytes and no more than
    /// the `used` bytes of slots and entries leave room for.
    fn node_prefix(&self, first: &KeySrc, last: &KeySrc, used: usize) -> BTreeResult<Bytes> {
        assert!(used <= NODE_CAPACITY, "node content fits its page");
        let first = first.head(self.snap, MAX_PREFIX_BYTES)?;
        let last = last.head(self.snap, MAX_PREFIX_BYTES)?;
        let len = common_prefix_len(&first, &last).min(NODE_CAPACITY - used);
        Ok(first.slice(..len))
    }

    /// Writes a tree's new root: collapses single-child branches, splits
    /// the content over pages and adds levels until one page remains.
    fn finish_root(&mut self, mut items: Items) -> BTreeResult<u64> {
        while matches!(&items, Items::Branch { slots, .. } if slots.len() == 1) {
            let Items::Branch { mut slots, .. } = items else {
                unreachable!("matched above");
            };
            match slots.pop() {
                Some(Slot::Pending { items: inner, .. }) => items = inner,
                Some(Slot::Clean { child, .. }) => return Ok(child),
                None => unreachable!("one slot"),
            }
        }
        if items.is_empty() {
            return Ok(0);
        }
        let mut level = items.level();
        let mut slots = self.pack(items, KeySrc::empty())?;
        while slots.len() > 1 {
            level += 1;
            assert!(level <= MAX_LEVEL, "tree too deep");
            slots = self.pack(Items::Branch { level, slots }, KeySrc::empty())?;
        }
        match slots.pop() {
            Some(Slot::Clean { child, .. }) => Ok(child),
            _ => unreachable!("packing yields written pages"),
        }
    }

    /// Writes the free list and returns what the commit needs.
    fn finish(
        mut self,
        catalog: TreeRecord,
        trees: BTreeMap<String, TreeRecord>,
        user_meta: Bytes,
    ) -> BTreeResult<Outcome> {
        let estimate = self.free.free_len() + self.free.pending_len() + self.freed.len();
        let chain_len = estimate.div_ceil(ENTRIES_PER_PAGE);
        let chain = (0..chain_len)
            .map(|_| self.alloc(1))
            .collect::<BTreeResult<Vec<u64>>>()?;
        let mut freed = std::mem::take(&mut self.freed);
        freed.sort_unstable();
        // Only a damaged file (a page reached twice, or reached and listed
        // free) can make these fail; refuse it rather than hand a page out
        // twice.
        for (index, &page) in freed.iter().enumerate() {
            if index > 0 && freed[index - 1] == page {
                return Err(self.snap.corrupt(page, "page reached twice"));
            }
            if self.free.contains(page) {
                return Err(self.snap.corrupt(page, "page is reachable and listed free"));
            }
        }
        assert!(
            freed
                .iter()
                .all(|&p| (FIRST_DATA_PAGE..self.snap.page_count()).contains(&p)),
            "only pages of the old checkpoint are freed"
        );
        let pages_freed = freed.len() as u64;
        let mut free = std::mem::take(&mut self.free);
        free.defer(self.txn, freed);
        let entries = free.all();
        assert!(
            entries.windows(2).all(|w| w[0] < w[1]),
            "free pages are distinct"
        );
        assert!(
            entries.len() <= chain_len * ENTRIES_PER_PAGE,
            "the chain holds the list"
        );
        for (index, &page_no) in chain.iter().enumerate() {
            let from = (index * ENTRIES_PER_PAGE).min(entries.len());
            let to = ((index + 1) * ENTRIES_PER_PAGE).min(entries.len());
            let next = chain.get(index + 1).copied().unwrap_or(0);
            let page = encode_page(page_no, self.txn, next, &entries[from..to]);
            self.writer.write(page_no, &page)?;
        }
        self.writer.flush()?;
        let meta = Meta {
            txn: self.txn,
            page_count: self.page_count,
            catalog_root: catalog.root,
            freelist_head: chain.first().copied().unwrap_or(0),
            freelist_count: entries.len() as u64,
            freelist_pages: chain_len as u64,
            tree_count: trees.len() as u64,
            user_meta,
        };
        assert_eq!(meta.check(), Ok(()), "a checkpoint writes a valid meta");
        Ok(Outcome {
            meta,
            free,
            freelist_chain: chain,
            trees,
            pages_written: self.writer.pages_written,
            pages_freed,
            file_len: self.writer.file_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sizes: &[usize], capacity: usize) -> Vec<usize> {
        let chunks = split_chunks(sizes, capacity);
        let mut next = 0;
        for range in &chunks {
            assert_eq!(range.start, next);
            next = range.end;
        }
        assert_eq!(next, sizes.len());
        chunks
            .iter()
            .map(|r| sizes[r.clone()].iter().sum())
            .collect()
    }

    #[test]
    fn chunks_are_even_and_fit() {
        assert_eq!(check(&[100; 10], 4072), vec![1000]);
        // Just over a page: two halves.
        let halves = check(&[136; 30], 4072);
        assert_eq!(halves, vec![2040, 2040]);
        // Many small items fill pages nearly full.
        let many = check(&[136; 10_000], 4072);
        assert!(many.iter().all(|&s| s <= 4072 && s > 3700), "{many:?}");
        // Large items still fit, never empty.
        let large = check(&[1035, 17, 1035, 1035, 17, 1035, 1035, 1035, 17], 4072);
        assert!(large.iter().all(|&s| s <= 4072 && s > 0));
        // Branch-sized items: at least three per chunk.
        let sizes: Vec<usize> = (0..100)
            .map(|i| if i % 3 == 0 { 527 } else { 20 })
            .collect();
        for range in split_chunks(&sizes, 4072) {
            assert!(range.len() >= 3);
        }
    }

    #[test]
    #[should_panic(expected = "too large for a node")]
    fn an_item_too_large_for_a_node_is_a_bug() {
        split_chunks(&[2000, 2000], 4072);
    }
}
