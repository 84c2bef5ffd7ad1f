//! The two meta pages: which checkpoint is current.
//!
//! # Meta page format (pages 0 and 1)
//!
//! After the common 24-byte header (kind 1, level 0, count 0, `page_no` 0 or
//! 1, `txn` = the checkpoint number):
//!
//! ```text
//! offset size field
//! 24     8    magic           "KEELBTRE"
//! 32     4    format version  1
//! 36     4    page size       4096
//! 40     8    page_count      pages [0, page_count) are in use or free
//! 48     8    catalog_root    root page of the catalog tree, 0 = no trees
//! 56     8    freelist_head   first free-list page, 0 = none
//! 64     8    freelist_count  free page numbers listed in the chain
//! 72     8    freelist_pages  pages in the chain
//! 80     8    tree_count      entries in the catalog
//! 88     4    user_meta_len   at most 1024
//! 92     n    user_meta       the caller's bytes (e.g. the applied index)
//! ```
//!
//! Checkpoint `txn` is written to page `txn % 2`, so the previous
//! checkpoint's meta survives a torn write of the new one. Open picks the
//! valid meta with the highest txn. A meta is written only after every page
//! it reaches has been synced, and is itself synced before the checkpoint
//! returns: a crash leaves the old or the new checkpoint, never a mix.

use super::page::{FIRST_DATA_PAGE, HEADER_BYTES, Header, PageKind, decode_header, new_page, seal};
use super::page::{u32_at, u64_at};
use bytes::Bytes;

/// Identifies a Keel B-tree file.
pub(crate) const MAGIC: [u8; 8] = *b"KEELBTRE";
/// The only format this code reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Most bytes of caller metadata a checkpoint carries.
pub const MAX_USER_META_BYTES: usize = 1024;
/// Largest page count the format accepts (2^40 pages = 4 PiB).
pub(crate) const MAX_PAGE_COUNT: u64 = 1 << 40;

const USER_META_AT: usize = 92;

/// A decoded meta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) txn: u64,
    pub(crate) page_count: u64,
    pub(crate) catalog_root: u64,
    pub(crate) freelist_head: u64,
    pub(crate) freelist_count: u64,
    pub(crate) freelist_pages: u64,
    pub(crate) tree_count: u64,
    pub(crate) user_meta: Bytes,
}

impl Meta {
    /// The meta of a new, empty file.
    pub(crate) fn empty() -> Meta {
        Meta {
            txn: 0,
            page_count: FIRST_DATA_PAGE,
            catalog_root: 0,
            freelist_head: 0,
            freelist_count: 0,
            freelist_pages: 0,
            tree_count: 0,
            user_meta: Bytes::new(),
        }
    }

    /// The meta page this checkpoint is written to.
    pub(crate) fn slot(&self) -> u64 {
        self.txn % 2
    }

    /// The sealed page.
    pub(crate) fn encode(&self) -> Vec<u8> {
        self.check()
            .unwrap_or_else(|detail| panic!("writing an invalid meta: {detail}"));
        let mut page = new_page(Header {
            kind: PageKind::Meta,
            level: 0,
            count: 0,
            page_no: self.slot(),
            txn: self.txn,
        });
        let mut at = HEADER_BYTES;
        let mut put = |bytes: &[u8]| {
            page[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&MAGIC);
        put(&FORMAT_VERSION.to_le_bytes());
        put(&(super::page::PAGE_SIZE as u32).to_le_bytes());
        for field in [
            self.page_count,
            self.catalog_root,
            self.freelist_head,
            self.freelist_count,
            self.freelist_pages,
            self.tree_count,
        ] {
            put(&field.to_le_bytes());
        }
        put(&(self.user_meta.len() as u32).to_le_bytes());
        put(&self.user_meta);
        seal(&mut page);
        debug_assert_eq!(Meta::decode(&page, self.slot()).as_ref(), Ok(self));
        page
    }

    /// Decodes and checks meta page `slot`.
    pub(crate) fn decode(page: &[u8], slot: u64) -> Result<Meta, String> {
        let header = decode_header(page)?;
        if header.kind != PageKind::Meta {
            return Err(format!(
                "a {} page where a meta page belongs",
                header.kind.name()
            ));
        }
        if header.page_no != slot {
            return Err(format!("meta header names page {}", header.page_no));
        }
        if page.get(24..32) != Some(&MAGIC[..]) {
            return Err("not a Keel B-tree file (bad magic)".into());
        }
        let version = u32_at(page, 32).unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(format!(
                "format version {version}, this build reads {FORMAT_VERSION}"
            ));
        }
        let page_size = u32_at(page, 36).unwrap_or(0);
        if page_size as usize != super::page::PAGE_SIZE {
            return Err(format!("page size {page_size}"));
        }
        let field = |at: usize| u64_at(page, at).unwrap_or(0);
        let user_meta_len = u32_at(page, 88).unwrap_or(u32::MAX) as usize;
        if user_meta_len > MAX_USER_META_BYTES {
            return Err(format!("user meta of {user_meta_len} bytes"));
        }
        let user_meta = page
            .get(USER_META_AT..USER_META_AT + user_meta_len)
            .ok_or("user meta past the page")?;
        let meta = Meta {
            txn: header.txn,
            page_count: field(40),
            catalog_root: field(48),
            freelist_head: field(56),
            freelist_count: field(64),
            freelist_pages: field(72),
            tree_count: field(80),
            user_meta: Bytes::copy_from_slice(user_meta),
        };
        meta.check()?;
        Ok(meta)
    }

    /// The invariants of a meta's fields among themselves.
    pub(crate) fn check(&self) -> Result<(), String> {
        let in_file = |page: u64| page == 0 || (FIRST_DATA_PAGE..self.page_count).contains(&page);
        if !(FIRST_DATA_PAGE..=MAX_PAGE_COUNT).contains(&self.page_count) {
            return Err(format!("page count {}", self.page_count));
        }
        if !in_file(self.catalog_root) || !in_file(self.freelist_head) {
            return Err(format!(
                "root {} or free-list head {} outside {} pages",
                self.catalog_root, self.freelist_head, self.page_count
            ));
        }
        if (self.freelist_head == 0) != (self.freelist_pages == 0) {
            return Err("free-list head and page count disagree".into());
        }
        if (self.catalog_root == 0) != (self.tree_count == 0) {
            return Err("catalog root and tree count disagree".into());
        }
        let listed = self.freelist_count.saturating_add(self.freelist_pages);
        if listed > self.page_count - FIRST_DATA_PAGE {
            return Err(format!(
                "{listed} free-list entries for {} pages",
                self.page_count
            ));
        }
        if self.user_meta.len() > MAX_USER_META_BYTES {
            return Err("user meta too long".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Meta {
        Meta {
            txn: 7,
            page_count: 100,
            catalog_root: 12,
            freelist_head: 30,
            freelist_count: 5,
            freelist_pages: 1,
            tree_count: 3,
            user_meta: Bytes::from_static(b"applied=42"),
        }
    }

    #[test]
    fn meta_round_trips_into_its_slot() {
        let meta = sample();
        assert_eq!(meta.slot(), 1);
        let page = meta.encode();
        assert_eq!(Meta::decode(&page, 1).unwrap(), meta);
        assert!(Meta::decode(&page, 0).unwrap_err().contains("names page 1"));
    }

    #[test]
    fn damaged_or_foreign_metas_are_refused() {
        let page = sample().encode();
        let mut flipped = page.clone();
        flipped[50] ^= 4;
        assert!(Meta::decode(&flipped, 1).unwrap_err().contains("checksum"));
        assert!(Meta::decode(&vec![0u8; 4096], 0).is_err());
        let mut bad = sample();
        bad.catalog_root = 100;
        assert!(bad.check().is_err());
        bad = sample();
        bad.freelist_count = 98;
        assert!(bad.check().is_err());
        bad = sample();
        bad.tree_count = 0;
        assert!(bad.check().is_err());
    }

    #[test]
    #[should_panic(expected = "invalid meta")]
    fn writing_an_inconsistent_meta_is_a_bug() {
        let mut meta = sample();
        meta.page_count = 1;
        meta.encode();
    }
}
