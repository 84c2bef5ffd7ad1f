//! A full check of one checkpoint: every reachable page, the key order
//! across pages, counts, and that reachable and free pages partition the
//! file exactly (nothing leaked, nothing used twice).

use super::error::BTreeResult;
use super::freelist;
use super::node::Part;
use super::overflow::{check_run, run_pages};
use super::page::FIRST_DATA_PAGE;
use super::view::{PageSet, ReadView, Snapshot, TreeRecord};
use bytes::Bytes;

/// What [`ReadView::verify`] found in a sound checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The checkpoint checked.
    pub txn: u64,
    /// Trees in the catalog.
    pub trees: u64,
    /// Keys over all trees.
    pub keys: u64,
    /// Pages reachable from the meta (catalog, trees, overflow runs).
    pub reachable_pages: u64,
    /// Pages the free list names.
    pub free_pages: u64,
    /// Pages of the free-list chain.
    pub freelist_pages: u64,
    /// Pages in the file's used range, meta pages included.
    pub page_count: u64,
}

impl ReadView {
    /// Reads and checks every page this checkpoint reaches, the order of
    /// every key against its neighbours and its ancestors' separators, the
    /// per-tree key counts, and that the reachable pages, the free list and
    /// its chain partition the file. Returns the first problem as
    /// `Corrupt`. Cost: one pass over the whole file.
    pub fn verify(&self) -> BTreeResult<VerifyReport> {
        let snap = &*self.snap;
        let mut seen = PageSet::new(snap.page_count());
        let (reachable, keys) = walk_all(snap, &mut seen)?;
        let list = freelist::load(snap)?;
        for &page in list.chain.iter().chain(&list.entries) {
            if !seen.insert(page) {
                return Err(snap.corrupt(page, "free page is also reachable"));
            }
        }
        for page in FIRST_DATA_PAGE..snap.page_count() {
            if !seen.contains(page) {
                return Err(snap.corrupt(page, "page is neither reachable nor free (leaked)"));
            }
        }
        Ok(VerifyReport {
            txn: snap.meta().txn,
            trees: snap.trees().len() as u64,
            keys,
            reachable_pages: reachable,
            free_pages: list.entries.len() as u64,
            freelist_pages: list.chain.len() as u64,
            page_count: snap.page_count(),
        })
    }
}

/// Every page reachable from the checkpoint's meta, ascending, after
/// checking the trees as [`ReadView::verify`] does.
pub(crate) fn reachable_pages(snap: &Snapshot) -> BTreeResult<Vec<u64>> {
    let mut seen = PageSet::new(snap.page_count());
    walk_all(snap, &mut seen)?;
    Ok((FIRST_DATA_PAGE..snap.page_count())
        .filter(|&page| seen.contains(page))
        .collect())
}

/// Checks the catalog and every tree; returns (pages reached, keys).
fn walk_all(snap: &Snapshot, seen: &mut PageSet) -> BTreeResult<(u64, u64)> {
    let mut catalog = Vec::new();
    let mut tally = Tally::default();
    let root = snap.meta().catalog_root;
    let names = check_tree(snap, root, seen, &mut tally, Some(&mut catalog))?;
    let matches = names == snap.trees().len() as u64
        && catalog
            .iter()
            .zip(snap.trees())
            .all(|((name, value), (known, record))| {
                name[..] == *known.as_bytes() && TreeRecord::decode(value) == Some(*record)
            });
    if !matches {
        return Err(snap.corrupt(root, "catalog disagrees with the trees in use"));
    }
    let mut keys = 0;
    for record in snap.trees().values() {
        let count = check_tree(snap, record.root, seen, &mut tally, None)?;
        if count != record.key_count {
            return Err(snap.corrupt(
                record.root,
                format!("tree holds {count} keys, catalog says {}", record.key_count),
            ));
        }
        keys += count;
    }
    Ok((tally.pages, keys))
}

#[derive(Default)]
struct Tally {
    pages: u64,
}

struct Visit {
    page: u64,
    parent_level: Option<u8>,
    lower: Option<Bytes>,
    upper: Option<Bytes>,
}

fn mark(snap: &Snapshot, seen: &mut PageSet, tally: &mut Tally, page: u64) -> BTreeResult<()> {
    if !seen.insert(page) {
        return Err(snap.corrupt(page, "page reached twice"));
    }
    tally.pages += 1;
    Ok(())
}

fn mark_part(
    snap: &Snapshot,
    seen: &mut PageSet,
    tally: &mut Tally,
    part: Part<'_>,
) -> BTreeResult<()> {
    if let Part::Overflow(run) = part {
        check_run(snap, run)?;
        for page in run.page..run.page + run_pages(run.len as usize) {
            mark(snap, seen, tally, page)?;
        }
    }
    Ok(())
}

/// Checks one tree; returns its number of keys. With `sink`, collects its
/// entries (for the catalog).
fn check_tree(
    snap: &Snapshot,
    root: u64,
    seen: &mut PageSet,
    tally: &mut Tally,
    mut sink: Option<&mut Vec<(Bytes, Bytes)>>,
) -> BTreeResult<u64> {
    if root == 0 {
        return Ok(0);
    }
    let mut keys = 0;
    let mut stack = vec![Visit {
        page: root,
        parent_level: None,
        lower: None,
        upper: None,
    }];
    while let Some(visit) = stack.pop() {
        let page = visit.page;
        let node = match visit.parent_level {
            Some(level) => snap.child_node(page, level)?,
            None => snap.node(page)?,
        };
        mark(snap, seen, tally, page)?;
        let in_range = |key: &Bytes| {
            visit.lower.as_ref().is_none_or(|low| key >= low)
                && visit.upper.as_ref().is_none_or(|high| key < high)
        };
        let mut previous: Option<Bytes> = None;
        let mut bounds = Vec::with_capacity(node.count);
        for index in 0..node.count {
            let (key_part, value_part) = if node.is_leaf {
                let entry = snap.at(page, node.leaf_entry(index))?;
                (entry.key, Some(entry.value))
            } else {
                (snap.at(page, node.branch_entry(index))?.key, None)
            };
            mark_part(snap, seen, tally, key_part)?;
            if !node.is_leaf && index == 0 {
                bounds.push(visit.lower.clone());
                continue;
            }
            let key = snap.part_bytes(key_part)?;
            if !in_range(&key) || previous.as_ref().is_some_and(|prev| prev >= &key) {
                return Err(snap.corrupt(page, format!("key {index} out of order")));
            }
            previous = Some(key.clone());
            if let Some(value) = value_part {
                mark_part(snap, seen, tally, value)?;
                if let Some(sink) = sink.as_deref_mut() {
                    sink.push((key.clone(), snap.part_bytes(value)?));
                }
            }
            bounds.push(Some(key));
        }
        if node.is_leaf {
            keys += node.count as u64;
            continue;
        }
        for index in (0..node.count).rev() {
            stack.push(Visit {
                page: snap.at(page, node.child(index))?,
                parent_level: Some(node.level),
                lower: bounds[index].clone(),
                upper: bounds
                    .get(index + 1)
                    .cloned()
                    .unwrap_or_else(|| visit.upper.clone()),
            });
        }
    }
    Ok(keys)
}
