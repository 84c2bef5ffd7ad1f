//! Overflow runs: keys and values too large for a node.
//!
//! A run of `len` bytes occupies `ceil(len / 4072)` consecutive pages, each
//! with its own header (kind 4, its own page number, checksum) followed by
//! its share of the bytes; the last page is zero-padded. A run is immutable
//! once written and belongs to exactly one leaf entry (or one branch
//! separator); copy-on-write of the node that points at it copies only the
//! 8-byte reference, so a large value is written once, not on every change
//! near it.

use super::error::BTreeResult;
use super::node::Run;
use super::page::{HEADER_BYTES, Header, PAYLOAD_BYTES, PageKind, new_page, seal};
use super::view::Snapshot;
use bytes::Bytes;
use std::cmp::Ordering;

/// Pages a run of `len` bytes occupies.
pub(crate) fn run_pages(len: usize) -> u64 {
    len.div_ceil(PAYLOAD_BYTES) as u64
}

fn check_bounds(snap: &Snapshot, run: Run) -> BTreeResult<u64> {
    let pages = run_pages(run.len as usize);
    let end = run.page.checked_add(pages);
    if run.len == 0 || end.is_none_or(|end| end > snap.page_count()) {
        return Err(snap.corrupt(
            run.page,
            format!("overflow run of {} bytes does not fit in the file", run.len),
        ));
    }
    Ok(pages)
}

/// The bytes of page `index` of the run.
fn chunk(snap: &Snapshot, run: Run, index: u64) -> BTreeResult<&[u8]> {
    let page = snap.typed_page(run.page + index, PageKind::Overflow)?;
    let start = index as usize * PAYLOAD_BYTES;
    let len = (run.len as usize - start).min(PAYLOAD_BYTES);
    Ok(&page[HEADER_BYTES..HEADER_BYTES + len])
}

/// Reads a whole run, checking every page.
pub(crate) fn read_run(snap: &Snapshot, run: Run) -> BTreeResult<Bytes> {
    let pages = check_bounds(snap, run)?;
    // The length is bounded by the format limit (node validation) and by
    // the file (check_bounds), so this allocation is not attacker-sized.
    let mut out = Vec::with_capacity(run.len as usize);
    for index in 0..pages {
        out.extend_from_slice(chunk(snap, run, index)?);
    }
    assert_eq!(out.len(), run.len as usize);
    Ok(Bytes::from(out))
}

/// The first `len` bytes of a run (at most one page's worth), reading only
/// its first page.
pub(crate) fn read_head(snap: &Snapshot, run: Run, len: usize) -> BTreeResult<Bytes> {
    check_bounds(snap, run)?;
    let bytes = chunk(snap, run, 0)?;
    Ok(Bytes::copy_from_slice(&bytes[..len.min(bytes.len())]))
}

/// Checks every page of a run without copying it.
pub(crate) fn check_run(snap: &Snapshot, run: Run) -> BTreeResult<()> {
    let pages = check_bounds(snap, run)?;
    for index in 0..pages {
        chunk(snap, run, index)?;
    }
    Ok(())
}

/// Compares the run's bytes with `probe` without copying the run.
pub(crate) fn compare_run(snap: &Snapshot, run: Run, probe: &[u8]) -> BTreeResult<Ordering> {
    let pages = check_bounds(snap, run)?;
    let mut offset = 0;
    for index in 0..pages {
        let bytes = chunk(snap, run, index)?;
        let rest = probe.get(offset..).unwrap_or(&[]);
        let common = bytes.len().min(rest.len());
        match bytes[..common].cmp(&rest[..common]) {
            Ordering::Equal if rest.len() < bytes.len() => return Ok(Ordering::Greater),
            Ordering::Equal => offset += bytes.len(),
            unequal => return Ok(unequal),
        }
    }
    Ok(if probe.len() > run.len as usize {
        Ordering::Less
    } else {
        Ordering::Equal
    })
}

/// The sealed pages of a run of `data` starting at page `first`.
pub(crate) fn encode_run(
    first: u64,
    txn: u64,
    data: &[u8],
) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
    assert!(!data.is_empty(), "an overflow run holds at least one byte");
    data.chunks(PAYLOAD_BYTES)
        .enumerate()
        .map(move |(index, bytes)| {
            let page_no = first + index as u64;
            let mut page = new_page(Header {
                kind: PageKind::Overflow,
                level: 0,
                count: 0,
                page_no,
                txn,
            });
            page[HEADER_BYTES..HEADER_BYTES + bytes.len()].copy_from_slice(bytes);
            seal(&mut page);
            (page_no, page)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_take_whole_pages() {
        assert_eq!(run_pages(1), 1);
        assert_eq!(run_pages(PAYLOAD_BYTES), 1);
        assert_eq!(run_pages(PAYLOAD_BYTES + 1), 2);
        assert_eq!(run_pages(1_572_864), 387);
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let pages: Vec<_> = encode_run(5, 1, &data).collect();
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[2].0, 7);
        let header = super::super::page::check_page(&pages[1].1, 6, 1).unwrap();
        assert_eq!(header.kind, PageKind::Overflow);
    }
}
