//! Snapshot images: a checkpoint as a byte stream, and its installation.
//!
//! An image is what a lagging or new member receives instead of the log:
//!
//! ```text
//! header:  magic "KEELIMG1" | version u32 = 1 | page size u32 | txn u64
//!          | page_count u64 | catalog_root u64 | tree_count u64
//!          | record_count u64 | user_meta_len u32 | user_meta
//!          | header crc32 u32 (of everything before it)
//! records: record_count × (page_no u64 | the page's 4096 bytes, as stored)
//!          in strictly ascending page order
//! trailer: magic "KEELEND1" | record_count u64
//!          | crc32 u32 of every byte of the image before it
//! ```
//!
//! Records are the pages the checkpoint reaches (catalog, trees, overflow
//! runs), byte for byte: nothing is re-encoded, each page still carries its
//! own checksum and number. The receiver rebuilds the free list (every page
//! number not sent) and a meta with the same txn, so the installed file is
//! the same checkpoint.
//!
//! [`super::BTreeStore::install_image`] writes into a temporary file beside
//! the target, checks every record as it arrives, the trailer, and then the
//! whole installed checkpoint ([`ReadView::verify`]) before renaming it into
//! place; any failure removes the temporary file and leaves the existing
//! store untouched.

use super::error::{BTreeError, BTreeResult};
use super::freelist::{ENTRIES_PER_PAGE, encode_page};
use super::meta::{MAX_PAGE_COUNT, MAX_USER_META_BYTES, Meta};
use super::page::{
    FIRST_DATA_PAGE, PAGE_SIZE, PAGE_SIZE_U64, PageKind, check_page, u32_at, u64_at,
};
use super::verify::reachable_pages;
use super::view::{ReadView, Snapshot};
use crate::storage::disk::DiskFile;
use bytes::Bytes;
use std::io::{self, Read};
use std::sync::Arc;

const IMAGE_MAGIC: [u8; 8] = *b"KEELIMG1";
const TRAILER_MAGIC: [u8; 8] = *b"KEELEND1";
const IMAGE_VERSION: u32 = 1;
const FIXED_HEADER_BYTES: usize = 60;
const RECORD_BYTES: usize = 8 + PAGE_SIZE;
const TRAILER_BYTES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Records,
    Trailer,
    Done,
}

/// A checkpoint's image as a byte stream (`std::io::Read`). It pins its
/// view, so the image is consistent however long the transfer takes.
#[derive(Debug)]
pub struct ImageReader {
    snap: Arc<Snapshot>,
    pages: Vec<u64>,
    next_page: usize,
    chunk: Vec<u8>,
    at: usize,
    hasher: crc32fast::Hasher,
    stage: Stage,
    total_bytes: u64,
}

impl ReadView {
    /// The image of this checkpoint. Walks (and checks) the trees first to
    /// list the pages, so a corrupt source fails here, not mid-stream.
    pub fn export(&self) -> BTreeResult<ImageReader> {
        let pages = reachable_pages(&self.snap)?;
        let user_meta_len = self.snap.meta().user_meta.len() as u64;
        let total_bytes = FIXED_HEADER_BYTES as u64
            + user_meta_len
            + 4
            + pages.len() as u64 * RECORD_BYTES as u64
            + TRAILER_BYTES as u64;
        Ok(ImageReader {
            snap: Arc::clone(&self.snap),
            pages,
            next_page: 0,
            chunk: Vec::with_capacity(RECORD_BYTES),
            at: 0,
            hasher: crc32fast::Hasher::new(),
            stage: Stage::Header,
            total_bytes,
        })
    }
}

impl ImageReader {
    /// The image's exact length in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Pages the image carries.
    pub fn page_records(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Prepares the next piece of the stream in `chunk`.
    fn refill(&mut self) -> BTreeResult<()> {
        self.chunk.clear();
        self.at = 0;
        let meta = self.snap.meta();
        match self.stage {
            Stage::Header => {
                let chunk = &mut self.chunk;
                chunk.extend_from_slice(&IMAGE_MAGIC);
                chunk.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
                chunk.extend_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
                for field in [
                    meta.txn,
                    meta.page_count,
                    meta.catalog_root,
                    meta.tree_count,
                    self.pages.len() as u64,
                ] {
                    chunk.extend_from_slice(&field.to_le_bytes());
                }
                chunk.extend_from_slice(&(meta.user_meta.len() as u32).to_le_bytes());
                chunk.extend_from_slice(&meta.user_meta);
                let crc = crc32fast::hash(chunk);
                chunk.extend_from_slice(&crc.to_le_bytes());
                self.stage = Stage::Records;
            }
            Stage::Records => match self.pages.get(self.next_page) {
                Some(&page_no) => {
                    let page = self.snap.page(page_no)?;
                    self.chunk.extend_from_slice(&page_no.to_le_bytes());
                    self.chunk.extend_from_slice(page);
                    self.next_page += 1;
                }
                None => {
                    self.stage = Stage::Trailer;
                    return self.refill();
                }
            },
            Stage::Trailer => {
                self.chunk.extend_from_slice(&TRAILER_MAGIC);
                self.chunk
                    .extend_from_slice(&(self.pages.len() as u64).to_le_bytes());
                self.hasher.update(&self.chunk);
                let crc = std::mem::take(&mut self.hasher).finalize();
                self.chunk.extend_from_slice(&crc.to_le_bytes());
                self.stage = Stage::Done;
                return Ok(());
            }
            Stage::Done => return Ok(()),
        }
        self.hasher.update(&self.chunk);
        Ok(())
    }
}

impl Read for ImageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            if self.stage == Stage::Done {
                return Ok(0);
            }
            self.refill().map_err(io::Error::other)?;
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn bad(detail: impl Into<String>) -> BTreeError {
    BTreeError::BadImage {
        detail: detail.into(),
    }
}

/// Reads exactly `buf.len()` bytes, feeding them to the running checksum.
fn take(
    reader: &mut dyn Read,
    buf: &mut [u8],
    hasher: &mut crc32fast::Hasher,
    what: &str,
) -> BTreeResult<()> {
    reader.read_exact(buf).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => bad(format!("image truncated in the {what}")),
        _ => bad(format!("reading the {what}: {err}")),
    })?;
    hasher.update(buf);
    Ok(())
}

/// Bytes an image's header needs before [`image_length`] can tell its length.
pub const IMAGE_PREFIX_BYTES: usize = FIXED_HEADER_BYTES;

/// The whole length of the image that starts with `prefix` (its first
/// [`IMAGE_PREFIX_BYTES`]), read from the header's counts; `None` if the
/// prefix is not an image header. Checks nothing else: installing the image
/// checks every byte.
pub fn image_length(prefix: &[u8]) -> Option<u64> {
    if prefix.len() < FIXED_HEADER_BYTES || prefix[..8] != IMAGE_MAGIC {
        return None;
    }
    let records = u64_at(prefix, 48)?;
    let user_meta_len = u64::from(u32_at(prefix, 56)?);
    records
        .checked_mul(RECORD_BYTES as u64)?
        .checked_add(FIXED_HEADER_BYTES as u64 + user_meta_len + 4 + TRAILER_BYTES as u64)
}

/// The fixed fields of an image header.
struct ImageHeader {
    txn: u64,
    page_count: u64,
    catalog_root: u64,
    tree_count: u64,
    records: u64,
    user_meta: Bytes,
}

fn read_header(
    reader: &mut dyn Read,
    hasher: &mut crc32fast::Hasher,
    max_pages: u64,
) -> BTreeResult<ImageHeader> {
    let mut fixed = [0u8; FIXED_HEADER_BYTES];
    take(reader, &mut fixed, hasher, "header")?;
    if fixed[..8] != IMAGE_MAGIC {
        return Err(bad("not a Keel snapshot image (bad magic)"));
    }
    let field = |at: usize| u64_at(&fixed, at).unwrap_or(0);
    let (version, page_size) = (
        u32_at(&fixed, 8).unwrap_or(0),
        u32_at(&fixed, 12).unwrap_or(0),
    );
    if version != IMAGE_VERSION || page_size as usize != PAGE_SIZE {
        return Err(bad(format!(
            "image version {version}, page size {page_size}"
        )));
    }
    let header = ImageHeader {
        txn: field(16),
        page_count: field(24),
        catalog_root: field(32),
        tree_count: field(40),
        records: field(48),
        user_meta: Bytes::new(),
    };
    let user_meta_len = u32_at(&fixed, 56).unwrap_or(u32::MAX) as usize;
    let limit = max_pages.min(MAX_PAGE_COUNT);
    if !(FIRST_DATA_PAGE..=limit).contains(&header.page_count)
        || header.records > header.page_count - FIRST_DATA_PAGE
        || user_meta_len > MAX_USER_META_BYTES
    {
        return Err(bad(format!(
            "image of {} pages with {} records and {user_meta_len} bytes of user meta (limit {limit} pages)",
            header.page_count, header.records
        )));
    }
    let mut user_meta = vec![0u8; user_meta_len];
    take(reader, &mut user_meta, hasher, "header")?;
    let expected = hasher.clone().finalize();
    let mut crc = [0u8; 4];
    take(reader, &mut crc, hasher, "header")?;
    if u32::from_le_bytes(crc) != expected {
        return Err(bad("header checksum mismatch"));
    }
    Ok(ImageHeader {
        user_meta: Bytes::from(user_meta),
        ..header
    })
}

/// Writes an image into the empty file `file`, checking each record, the
/// trailer and the end of stream, then adds a free list and a meta and
/// syncs. Returns the number of page records.
pub(crate) fn receive(
    file: &dyn DiskFile,
    reader: &mut dyn Read,
    max_file_bytes: u64,
) -> BTreeResult<u64> {
    let mut hasher = crc32fast::Hasher::new();
    let header = read_header(reader, &mut hasher, max_file_bytes / PAGE_SIZE_U64)?;
    let mut received = Vec::new();
    let mut record = vec![0u8; RECORD_BYTES];
    let mut previous = FIRST_DATA_PAGE - 1;
    for index in 0..header.records {
        take(reader, &mut record, &mut hasher, "page records")?;
        let page_no = u64_at(&record, 0).unwrap_or(0);
        if page_no <= previous || page_no >= header.page_count {
            return Err(bad(format!(
                "record {index} names page {page_no} out of order"
            )));
        }
        let page = &record[8..];
        let kind = check_page(page, page_no, header.txn)
            .map_err(|detail| bad(format!("page {page_no}: {detail}")))?
            .kind;
        if !matches!(kind, PageKind::Branch | PageKind::Leaf | PageKind::Overflow) {
            return Err(bad(format!("page {page_no} is a {} page", kind.name())));
        }
        file.write_all_at(page, page_no * PAGE_SIZE_U64)?;
        received.push(page_no);
        previous = page_no;
    }
    let mut trailer = [0u8; TRAILER_BYTES];
    take(reader, &mut trailer[..16], &mut hasher, "trailer")?;
    let expected = hasher.finalize();
    reader
        .read_exact(&mut trailer[16..])
        .map_err(|_| bad("image truncated in the trailer"))?;
    if trailer[..8] != TRAILER_MAGIC || u64_at(&trailer, 8) != Some(header.records) {
        return Err(bad("bad trailer"));
    }
    if u32_at(&trailer, 16) != Some(expected) {
        return Err(bad("image checksum mismatch"));
    }
    let mut extra = [0u8; 1];
    if reader
        .read(&mut extra)
        .map_err(|err| bad(format!("reading past the trailer: {err}")))?
        != 0
    {
        return Err(bad("bytes after the trailer"));
    }
    write_freelist_and_meta(file, &header, &received)?;
    Ok(header.records)
}

fn write_freelist_and_meta(
    file: &dyn DiskFile,
    header: &ImageHeader,
    received: &[u64],
) -> BTreeResult<()> {
    let mut free = Vec::new();
    let mut sent = received.iter().peekable();
    for page in FIRST_DATA_PAGE..header.page_count {
        if sent.next_if_eq(&&page).is_none() {
            free.push(page);
        }
    }
    let chain_len = free.len().div_ceil(ENTRIES_PER_PAGE);
    let chain: Vec<u64> = free.drain(..chain_len).collect();
    for (index, &page_no) in chain.iter().enumerate() {
        let from = (index * ENTRIES_PER_PAGE).min(free.len());
        let to = ((index + 1) * ENTRIES_PER_PAGE).min(free.len());
        let next = chain.get(index + 1).copied().unwrap_or(0);
        let page = encode_page(page_no, header.txn, next, &free[from..to]);
        file.write_all_at(&page, page_no * PAGE_SIZE_U64)?;
    }
    let meta = Meta {
        txn: header.txn,
        page_count: header.page_count,
        catalog_root: header.catalog_root,
        freelist_head: chain.first().copied().unwrap_or(0),
        freelist_count: free.len() as u64,
        freelist_pages: chain.len() as u64,
        tree_count: header.tree_count,
        user_meta: header.user_meta.clone(),
    };
    meta.check()
        .map_err(|detail| bad(format!("image meta: {detail}")))?;
    file.write_all_at(&meta.encode(), meta.slot() * PAGE_SIZE_U64)?;
    file.set_len(header.page_count * PAGE_SIZE_U64)?;
    file.sync_data()?;
    Ok(())
}
