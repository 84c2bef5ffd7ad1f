//! Free pages: which pages may be written, when, and how the list persists.
//!
//! # Reuse rule (the invariant that keeps old checkpoints readable)
//!
//! A page freed by checkpoint `N` (reachable from checkpoint `N-1`, not from
//! `N`) may be overwritten by checkpoint `M` only if
//! 1. `M > N`: while `N` is being written, meta `N-1` is the fallback a crash
//!    returns to, so nothing it reaches may change; and
//! 2. no live `ReadView` was taken at a checkpoint older than `N`.
//!
//! Checkpoint `M` therefore starts by releasing every page freed by a
//! checkpoint `N <= oldest live view` (the store's own current view counts,
//! so `N <= M - 1` always holds) and allocates only released pages, lowest
//! first, before growing the file.
//!
//! # Persistence
//!
//! Meta `N` lists every page in `[2, page_count)` that checkpoint `N` does
//! not reach, pending or not: after a reopen no view is alive and the
//! fallback for checkpoint `N+1` is `N` itself, so all of them are free. The
//! list is a chain of pages, each
//!
//! ```text
//! header (kind 5, count = entries in this page) | next page u64 | count × u64
//! ```
//!
//! rewritten copy-on-write by every checkpoint (its old pages are freed like
//! any other).

use super::error::BTreeResult;
use super::page::{
    FIRST_DATA_PAGE, HEADER_BYTES, Header, PAGE_SIZE, PageKind, new_page, seal, u16_at, u64_at,
};
use super::view::Snapshot;
use std::collections::{BTreeMap, BTreeSet};

/// Free page numbers one free-list page holds.
pub(crate) const ENTRIES_PER_PAGE: usize = (PAGE_SIZE - HEADER_BYTES - 8) / 8;
const NEXT_AT: usize = HEADER_BYTES;
const ENTRIES_AT: usize = HEADER_BYTES + 8;

/// Layout check of a free-list page (called once per page and mapping).
pub(crate) fn validate_page(page: &[u8]) -> Result<(), String> {
    let count = usize::from(u16_at(page, 6).unwrap_or(u16::MAX));
    if count > ENTRIES_PER_PAGE || page.get(5) != Some(&0) {
        return Err(format!("free-list page with {count} entries"));
    }
    Ok(())
}

/// A sealed free-list page.
pub(crate) fn encode_page(page_no: u64, txn: u64, next: u64, entries: &[u64]) -> Vec<u8> {
    assert!(entries.len() <= ENTRIES_PER_PAGE, "free-list page overfull");
    let mut page = new_page(Header {
        kind: PageKind::Freelist,
        level: 0,
        count: entries.len() as u16,
        page_no,
        txn,
    });
    page[NEXT_AT..NEXT_AT + 8].copy_from_slice(&next.to_le_bytes());
    for (index, entry) in entries.iter().enumerate() {
        let at = ENTRIES_AT + 8 * index;
        page[at..at + 8].copy_from_slice(&entry.to_le_bytes());
    }
    seal(&mut page);
    page
}

/// The free list a meta points at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PersistedFreelist {
    /// Free page numbers, ascending.
    pub(crate) entries: Vec<u64>,
    /// The pages of the chain itself, in chain order.
    pub(crate) chain: Vec<u64>,
}

/// Reads and checks the free list of a snapshot's meta: counts as the meta
/// says, every entry a data page of the file, no duplicates, no entry that
/// is also a chain page.
pub(crate) fn load(snap: &Snapshot) -> BTreeResult<PersistedFreelist> {
    let meta = snap.meta();
    let bad = |detail: String| snap.corrupt(meta.slot(), detail);
    let mut list = PersistedFreelist::default();
    let mut next = meta.freelist_head;
    while next != 0 {
        if list.chain.len() as u64 >= meta.freelist_pages {
            return Err(bad(format!(
                "free-list chain longer than {} pages",
                meta.freelist_pages
            )));
        }
        let page = snap.typed_page(next, PageKind::Freelist)?;
        list.chain.push(next);
        let count = usize::from(u16_at(page, 6).unwrap_or(0));
        if list.entries.len() + count > meta.freelist_count as usize {
            return Err(bad(format!(
                "free list longer than {}",
                meta.freelist_count
            )));
        }
        for index in 0..count {
            let entry = u64_at(page, ENTRIES_AT + 8 * index).unwrap_or(0);
            list.entries.push(entry);
        }
        next = u64_at(page, NEXT_AT).unwrap_or(0);
    }
    if list.chain.len() as u64 != meta.freelist_pages
        || list.entries.len() as u64 != meta.freelist_count
    {
        return Err(bad(format!(
            "free list has {} pages and {} entries, meta says {} and {}",
            list.chain.len(),
            list.entries.len(),
            meta.freelist_pages,
            meta.freelist_count
        )));
    }
    list.entries.sort_unstable();
    let mut chain_sorted = list.chain.clone();
    chain_sorted.sort_unstable();
    let in_file = FIRST_DATA_PAGE..meta.page_count;
    for (index, &entry) in list.entries.iter().enumerate() {
        let duplicate = index > 0 && list.entries[index - 1] == entry;
        if !in_file.contains(&entry) || duplicate || chain_sorted.binary_search(&entry).is_ok() {
            return Err(bad(format!("free list names page {entry} wrongly")));
        }
    }
    Ok(list)
}

/// Free pages in memory: released ones (reusable now) and pending ones
/// (freed by a checkpoint some live view may still read).
#[derive(Debug, Clone, Default)]
pub(crate) struct FreePages {
    free: BTreeSet<u64>,
    pending: BTreeMap<u64, Vec<u64>>,
    pending_len: usize,
}

impl FreePages {
    /// Pages free after a reopen (all of them reusable).
    pub(crate) fn from_free(pages: &[u64]) -> FreePages {
        FreePages {
            free: pages.iter().copied().collect(),
            ..FreePages::default()
        }
    }

    /// Releases the pages freed by checkpoints `<= oldest_live_txn` (see the
    /// module doc for why this is the rule).
    pub(crate) fn release(&mut self, oldest_live_txn: u64) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > oldest_live_txn {
                break;
            }
            let pages = entry.remove();
            self.pending_len -= pages.len();
            for page in pages {
                let fresh = self.free.insert(page);
                assert!(fresh, "page {page} freed twice");
            }
        }
    }

    /// Takes `count` consecutive released pages, lowest first.
    pub(crate) fn take_run(&mut self, count: u64) -> Option<u64> {
        assert!(count > 0);
        if count == 1 {
            return self.free.pop_first();
        }
        let mut start = 0;
        let mut length = 0;
        for &page in &self.free {
            if length > 0 && page == start + length {
                length += 1;
            } else {
                start = page;
                length = 1;
            }
            if length == count {
                for taken in start..start + count {
                    self.free.remove(&taken);
                }
                return Some(start);
            }
        }
        None
    }

    /// Records the pages checkpoint `txn` freed; they wait for the rule.
    pub(crate) fn defer(&mut self, txn: u64, pages: Vec<u64>) {
        if pages.is_empty() {
            return;
        }
        for page in &pages {
            assert!(!self.free.contains(page), "page {page} freed while free");
        }
        assert!(
            self.pending
                .last_key_value()
                .is_none_or(|(last, _)| *last < txn),
            "checkpoints free pages in txn order"
        );
        self.pending_len += pages.len();
        self.pending.insert(txn, pages);
    }

    /// Whether `page` is released (reusable now).
    pub(crate) fn contains(&self, page: u64) -> bool {
        self.free.contains(&page)
    }

    /// Released pages.
    pub(crate) fn free_len(&self) -> usize {
        self.free.len()
    }

    /// Pages waiting for old views to go.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending_len
    }

    /// Every free page, released or pending, ascending (what a meta lists).
    pub(crate) fn all(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.free.iter().copied().collect();
        for pages in self.pending.values() {
            all.extend_from_slice(pages);
        }
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_wait_for_the_oldest_view() {
        let mut free = FreePages::from_free(&[10]);
        free.defer(5, vec![20, 21]);
        free.defer(6, vec![30]);
        free.release(4);
        assert_eq!((free.free_len(), free.pending_len()), (1, 3));
        free.release(5);
        assert_eq!((free.free_len(), free.pending_len()), (3, 1));
        assert_eq!(free.all(), vec![10, 20, 21, 30]);
        assert_eq!(free.take_run(2), Some(20));
        assert_eq!(free.take_run(2), None);
        assert_eq!(free.take_run(1), Some(10));
        free.release(6);
        assert_eq!(free.take_run(1), Some(30));
        assert_eq!(free.take_run(1), None);
    }

    #[test]
    #[should_panic(expected = "freed twice")]
    fn a_double_free_is_caught() {
        let mut free = FreePages::from_free(&[]);
        free.defer(1, vec![7]);
        free.defer(2, vec![7]);
        free.release(2);
    }

    #[test]
    fn free_list_pages_round_trip() {
        let entries: Vec<u64> = (100..100 + ENTRIES_PER_PAGE as u64).collect();
        let page = encode_page(9, 3, 11, &entries);
        assert_eq!(ENTRIES_PER_PAGE, 508);
        super::super::page::check_page(&page, 9, 3).unwrap();
        assert_eq!(u64_at(&page, NEXT_AT), Some(11));
        assert_eq!(u64_at(&page, ENTRIES_AT + 8 * 507), Some(607));
    }
}
