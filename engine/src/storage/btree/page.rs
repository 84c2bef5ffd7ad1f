//! The page: the unit of every read, write, checksum and allocation.
//!
//! # On-disk format (version 1)
//!
//! A B-tree file is an array of 4096-byte pages; page `n` starts at byte
//! `n * 4096`. Pages 0 and 1 are the two meta pages (see `meta.rs`); every
//! other page below the meta's `page_count` is exactly one of: reachable from
//! the newest meta (a catalog or tree node, an overflow page), a free-list
//! page, or listed as free. Integers are little-endian.
//!
//! Every page starts with the same 24-byte header:
//!
//! ```text
//! offset size field
//!  0     4    checksum  crc32 (crc32fast) of bytes 4..4096 of the page
//!  4     1    kind      1 meta, 2 branch, 3 leaf, 4 overflow, 5 free list
//!  5     1    level     0 for leaves (and non-node pages), >= 1 for branches
//!  6     2    count     entries in a node or free-list page, else 0
//!  8     8    page_no   the page's own number: a page written to the wrong
//!                       place is detected
//! 16     8    txn       the checkpoint that wrote the page; never above the
//!                       txn of a meta that reaches it
//! ```
//!
//! Node pages (leaf, branch) follow the header with a common key prefix,
//! arrays of key hints, entry offsets and (branches) child page numbers,
//! then the entries back to back in key order (see `node.rs`). Overflow pages carry 4072 payload bytes of
//! one large key or value; a value of `len` bytes occupies
//! `ceil(len / 4072)` consecutive pages (see `overflow.rs`). Free-list pages
//! carry a `next` page number and up to 508 free page numbers (see
//! `freelist.rs`).
//!
//! A page is checked once per mapping before any of its bytes is used
//! ([`check_page`]): checksum, own number, kind, txn not newer than the
//! snapshot, and for node and free-list pages every slot and length.

/// Bytes per page.
pub(crate) const PAGE_SIZE: usize = 4096;
/// [`PAGE_SIZE`] as a file offset unit.
pub(crate) const PAGE_SIZE_U64: u64 = PAGE_SIZE as u64;
/// Bytes of the common header.
pub(crate) const HEADER_BYTES: usize = 24;
/// Bytes after the header.
pub(crate) const PAYLOAD_BYTES: usize = PAGE_SIZE - HEADER_BYTES;
/// Pages 0 and 1 hold the meta pages; the first data page is 2.
pub(crate) const FIRST_DATA_PAGE: u64 = 2;
/// Deepest tree the format allows (a leaf is level 0). With at least seven
/// children per branch this is far more than any file can hold.
pub(crate) const MAX_LEVEL: u8 = 48;

/// What a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    /// One of the two meta pages.
    Meta,
    /// An interior node: separators and child page numbers.
    Branch,
    /// A leaf node: keys and values.
    Leaf,
    /// A piece of a large key or value.
    Overflow,
    /// Part of the persisted free list.
    Freelist,
}

impl PageKind {
    /// The byte stored in the header.
    pub(crate) fn code(self) -> u8 {
        match self {
            PageKind::Meta => 1,
            PageKind::Branch => 2,
            PageKind::Leaf => 3,
            PageKind::Overflow => 4,
            PageKind::Freelist => 5,
        }
    }

    /// Decodes a header byte.
    pub(crate) fn from_code(code: u8) -> Option<PageKind> {
        Some(match code {
            1 => PageKind::Meta,
            2 => PageKind::Branch,
            3 => PageKind::Leaf,
            4 => PageKind::Overflow,
            5 => PageKind::Freelist,
            _ => return None,
        })
    }

    /// A name for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PageKind::Meta => "meta",
            PageKind::Branch => "branch",
            PageKind::Leaf => "leaf",
            PageKind::Overflow => "overflow",
            PageKind::Freelist => "free-list",
        }
    }
}

/// The decoded common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: PageKind,
    pub(crate) level: u8,
    pub(crate) count: u16,
    pub(crate) page_no: u64,
    pub(crate) txn: u64,
}

/// Reads a little-endian u16 at `at`, or `None` past the end.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(raw.try_into().ok()?))
}

/// Reads a little-endian u32 at `at`, or `None` past the end.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?))
}

/// Reads a little-endian u64 at `at`, or `None` past the end.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(raw.try_into().ok()?))
}

/// A zeroed page buffer with `header` written (checksum not yet set).
pub(crate) fn new_page(header: Header) -> Vec<u8> {
    let mut page = vec![0u8; PAGE_SIZE];
    page[4] = header.kind.code();
    page[5] = header.level;
    page[6..8].copy_from_slice(&header.count.to_le_bytes());
    page[8..16].copy_from_slice(&header.page_no.to_le_bytes());
    page[16..24].copy_from_slice(&header.txn.to_le_bytes());
    page
}

/// The checksum a page should carry.
pub(crate) fn checksum(page: &[u8]) -> u32 {
    crc32fast::hash(page.get(4..).unwrap_or(&[]))
}

/// Stores the checksum; the page is final after this.
pub(crate) fn seal(page: &mut [u8]) {
    assert_eq!(page.len(), PAGE_SIZE, "only whole pages are sealed");
    let sum = checksum(page);
    page[0..4].copy_from_slice(&sum.to_le_bytes());
    debug_assert!(decode_header(page).is_ok(), "a sealed page decodes");
}

/// Checks the checksum and decodes the header of a whole page.
pub(crate) fn decode_header(page: &[u8]) -> Result<Header, String> {
    if page.len() != PAGE_SIZE {
        return Err(format!("page is {} bytes, not {PAGE_SIZE}", page.len()));
    }
    let stored = u32_at(page, 0).unwrap_or(0);
    let computed = checksum(page);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    let kind =
        PageKind::from_code(page[4]).ok_or_else(|| format!("unknown page kind {}", page[4]))?;
    Ok(Header {
        kind,
        level: page[5],
        count: u16_at(page, 6).unwrap_or(0),
        page_no: u64_at(page, 8).unwrap_or(0),
        txn: u64_at(page, 16).unwrap_or(0),
    })
}

/// Everything checked once per page and mapping before the page is used as
/// page `page_no` of a snapshot at `max_txn`: checksum, own number, txn,
/// kind, and the layout of node and free-list pages.
pub(crate) fn check_page(page: &[u8], page_no: u64, max_txn: u64) -> Result<Header, String> {
    let header = decode_header(page)?;
    if header.page_no != page_no {
        return Err(format!(
            "page header names page {} (misdirected write?)",
            header.page_no
        ));
    }
    if header.txn > max_txn {
        return Err(format!(
            "page was written by checkpoint {} after this snapshot ({max_txn})",
            header.txn
        ));
    }
    match header.kind {
        PageKind::Meta => return Err("meta page found where a data page belongs".into()),
        PageKind::Leaf | PageKind::Branch => super::node::Node::parse(page)?.validate()?,
        PageKind::Freelist => super::freelist::validate_page(page)?,
        PageKind::Overflow => {
            if header.level != 0 || header.count != 0 {
                return Err("overflow page with a level or count".into());
            }
        }
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut page = new_page(Header {
            kind: PageKind::Overflow,
            level: 0,
            count: 0,
            page_no: 7,
            txn: 3,
        });
        page[100] = 42;
        seal(&mut page);
        page
    }

    #[test]
    fn a_sealed_page_checks_and_every_single_bit_flip_is_caught() {
        let page = sample();
        assert_eq!(check_page(&page, 7, 3).unwrap().kind, PageKind::Overflow);
        for bit in (0..PAGE_SIZE * 8).step_by(61) {
            let mut bad = page.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(check_page(&bad, 7, 3).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn a_page_at_the_wrong_place_or_from_the_future_is_refused() {
        let page = sample();
        assert!(
            check_page(&page, 8, 3)
                .unwrap_err()
                .contains("names page 7")
        );
        assert!(
            check_page(&page, 7, 2)
                .unwrap_err()
                .contains("checkpoint 3")
        );
        assert!(check_page(&page[..100], 7, 3).is_err());
    }

    #[test]
    fn integer_readers_stop_at_the_end() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u16_at(&bytes, 6), Some(0x0807));
        assert_eq!(u16_at(&bytes, 7), None);
        assert_eq!(u64_at(&bytes, 1), None);
        assert_eq!(u32_at(&bytes, usize::MAX), None);
    }
}
