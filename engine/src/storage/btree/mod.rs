//! The B-tree snapshot store: Keel's applied state as a copy-on-write,
//! memory-mapped B+tree file with several named trees.
//!
//! - [`BTreeStore::open`] opens (or creates) a file; [`BTreeStore::view`]
//!   pins the last checkpoint as a [`ReadView`] (`get`, `range`, `export`,
//!   `verify`), read from the memory map.
//! - [`BTreeStore::checkpoint`] applies a [`WriteBatch`] copy-on-write:
//!   changed paths go to free pages or the end of the file, then one sync,
//!   then the alternate meta page, then a second sync. A crash at any
//!   instant leaves the previous or the new checkpoint, never a mix.
//! - [`BTreeStore::write_compact_copy`] rewrites a checkpoint into a new,
//!   compact file (defragmentation).
//! - [`BTreeStore::install_image`] turns a [`ImageReader`] stream from
//!   another member into a verified store.
//!
//! Invariants (asserted where they are kept):
//! - Every page carries its checksum and number and is checked before use;
//!   damage is reported as [`BTreeError::Corrupt`] naming page and file.
//! - A page reachable from a live view or from the fallback meta is never
//!   written (reuse rule: `freelist.rs`).
//! - After every checkpoint, reachable pages, the free list and its chain
//!   partition `[2, page_count)` ([`ReadView::verify`] checks it).
//! - The file only grows while open; memory maps of it stay valid. Only a
//!   compact copy, before anyone maps it, is trimmed to its pages.
//!
//! On-disk format: `page.rs` (pages), `meta.rs` (meta pages), `node.rs`
//! (nodes), `overflow.rs`, `freelist.rs`, `image.rs` (snapshot images).

mod batch;
mod checkpoint;
mod compact;
mod cursor;
mod error;
mod freelist;
mod image;
mod meta;
mod node;
mod overflow;
mod page;
mod verify;
mod view;

#[cfg(test)]
mod tests;

pub use batch::WriteBatch;
pub use compact::compact_copy_path;
pub use cursor::RangeIter;
pub use error::{BTreeError, BTreeResult};
pub use image::{IMAGE_PREFIX_BYTES, ImageReader, image_length};
pub use meta::MAX_USER_META_BYTES;
pub use verify::VerifyReport;
pub use view::ReadView;

use crate::storage::disk::{Disk, DiskFile};
use checkpoint::{Limits, write_pages};
use freelist::FreePages;
use meta::Meta;
use page::{PAGE_SIZE, PAGE_SIZE_U64};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use view::{Snapshot, ViewRegistry};

/// Bytes per page of a B-tree file.
pub const PAGE_SIZE_BYTES: usize = PAGE_SIZE;
/// Longest tree name, in bytes.
pub const MAX_TREE_NAME_BYTES: usize = 255;

/// Limits of a store. Defaults: keys and values up to 1.5 MiB (etcd's
/// request limit), 1024 trees, a 64 GiB file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BTreeOptions {
    /// Longest key accepted by a checkpoint (at most 16 MiB).
    pub max_key_bytes: usize,
    /// Longest value accepted by a checkpoint (at most 16 MiB).
    pub max_value_bytes: usize,
    /// Most trees a checkpoint may leave in the file.
    pub max_trees: usize,
    /// Largest the file may grow; a checkpoint that needs more fails with
    /// [`BTreeError::FileLimit`] and changes nothing.
    pub max_file_bytes: u64,
}

impl Default for BTreeOptions {
    fn default() -> Self {
        BTreeOptions {
            max_key_bytes: 1536 * 1024,
            max_value_bytes: 1536 * 1024,
            max_trees: 1024,
            max_file_bytes: 64 << 30,
        }
    }
}

impl BTreeOptions {
    fn check(&self) -> BTreeResult<()> {
        let format_max = node::FORMAT_MAX_PART_BYTES;
        let problem = if self.max_key_bytes > format_max || self.max_value_bytes > format_max {
            "keys and values are limited to 16 MiB by the format"
        } else if self.max_file_bytes < 4 * PAGE_SIZE_U64 {
            "max_file_bytes must allow a few pages"
        } else if self.max_trees == 0 {
            "max_trees must be positive"
        } else {
            return Ok(());
        };
        Err(BTreeError::InvalidOptions {
            detail: problem.to_string(),
        })
    }
}

/// What one checkpoint cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointStats {
    /// The new checkpoint's number.
    pub txn: u64,
    /// Pages written: changed nodes, new overflow runs, the free list and
    /// the meta page.
    pub pages_written: u64,
    /// `pages_written` in bytes.
    pub bytes_written: u64,
    /// Pages the new checkpoint no longer reaches.
    pub pages_freed: u64,
    /// File size afterwards (including preallocated space).
    pub file_bytes: u64,
}

/// One tree's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeStats {
    /// Its name.
    pub name: String,
    /// Keys it holds.
    pub keys: u64,
}

/// Space and content of the store as of its last checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// Last checkpoint.
    pub txn: u64,
    /// File size (etcd's `dbSize`), including preallocated space.
    pub file_bytes: u64,
    /// Bytes of pages in use (etcd's `dbSizeInUse`): reachable pages, the
    /// free-list chain and the meta pages.
    pub in_use_bytes: u64,
    /// Pages in the file's used range.
    pub page_count: u64,
    /// Free pages reusable by the next checkpoint.
    pub free_pages: u64,
    /// Free pages waiting for older views to be dropped (or for the next
    /// checkpoint, which releases them).
    pub pending_pages: u64,
    /// Every tree, by name.
    pub trees: Vec<TreeStats>,
}

/// A B-tree file open for reads and checkpoints. One writer (`&mut self`);
/// any number of [`ReadView`]s on any threads.
///
/// Open a file with one `BTreeStore` at a time: a store knows only its own
/// views, so views of a dropped store stay valid only until another store
/// on the same file checkpoints.
#[derive(Debug)]
pub struct BTreeStore {
    file: Arc<dyn DiskFile>,
    path: PathBuf,
    options: BTreeOptions,
    registry: Arc<ViewRegistry>,
    current: ReadView,
    free: FreePages,
    freelist_chain: Vec<u64>,
    file_len: u64,
    poisoned: Option<String>,
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn ensure_parent(disk: &dyn Disk, path: &Path) -> BTreeResult<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !disk.exists(parent)? => {
            Ok(disk.create_dir_all(parent)?)
        }
        _ => Ok(()),
    }
}

/// Creates an empty B-tree file atomically: built beside `path`, synced,
/// renamed into place.
fn create_file(disk: &dyn Disk, path: &Path) -> BTreeResult<()> {
    ensure_parent(disk, path)?;
    let temporary = sibling(path, ".create");
    if disk.exists(&temporary)? {
        disk.remove_file(&temporary)?;
    }
    let file = disk.create(&temporary)?;
    file.write_all_at(&Meta::empty().encode(), 0)?;
    file.set_len(2 * PAGE_SIZE_U64)?;
    file.sync_data()?;
    disk.rename(&temporary, path)?;
    Ok(())
}

impl BTreeStore {
    /// Opens the B-tree file at `path`, creating an empty one if none
    /// exists. Picks the newer valid meta page; refuses a file with no valid
    /// meta, a truncated file, or a damaged free list or catalog with
    /// [`BTreeError::Corrupt`].
    pub fn open(
        disk: Arc<dyn Disk>,
        path: &Path,
        options: BTreeOptions,
    ) -> BTreeResult<BTreeStore> {
        options.check()?;
        if !disk.exists(path)? {
            create_file(disk.as_ref(), path)?;
        }
        let file = disk.open(path)?;
        BTreeStore::from_file(file, path, options)
    }

    fn from_file(
        file: Arc<dyn DiskFile>,
        path: &Path,
        options: BTreeOptions,
    ) -> BTreeResult<BTreeStore> {
        let corrupt = |page: u64, detail: String| BTreeError::Corrupt {
            page,
            file: path.to_path_buf(),
            detail,
        };
        let file_len = file.len()?;
        if file_len < 2 * PAGE_SIZE_U64 {
            return Err(corrupt(
                0,
                format!("file of {file_len} bytes has no room for two meta pages"),
            ));
        }
        let mut best: Option<Meta> = None;
        let mut problems = Vec::new();
        for slot in 0..2u64 {
            let mut page = vec![0u8; PAGE_SIZE];
            file.read_exact_at(&mut page, slot * PAGE_SIZE_U64)?;
            match Meta::decode(&page, slot) {
                Ok(meta) if best.as_ref().is_none_or(|b| meta.txn > b.txn) => best = Some(meta),
                Ok(_) => {}
                // A new file's second meta page is not written yet.
                Err(_) if page.iter().all(|&byte| byte == 0) => {
                    problems.push(format!("page {slot}: never written"))
                }
                Err(detail) => problems.push(format!("page {slot}: {detail}")),
            }
        }
        let Some(meta) = best else {
            return Err(corrupt(
                0,
                format!("no valid meta page ({})", problems.join("; ")),
            ));
        };
        if problems.iter().any(|p| !p.ends_with("never written")) {
            // A torn write of the newest meta (a crash mid-commit) looks the
            // same as a damaged one: either way the other meta is the last
            // durable checkpoint.
            tracing::warn!(path = %path.display(), txn = meta.txn, problems = %problems.join("; "), "using the only valid meta page");
        }
        let needed = meta.page_count * PAGE_SIZE_U64;
        if file_len < needed {
            return Err(corrupt(
                file_len / PAGE_SIZE_U64,
                format!(
                    "file truncated: {file_len} bytes, checkpoint {} needs {needed}",
                    meta.txn
                ),
            ));
        }
        let registry = Arc::new(ViewRegistry::default());
        let snap = Snapshot::new(meta, file.map()?, path, &registry, None)?;
        let persisted = freelist::load(&snap)?;
        tracing::debug!(
            path = %path.display(),
            txn = snap.meta().txn,
            pages = snap.page_count(),
            free = persisted.entries.len(),
            "opened B-tree store"
        );
        Ok(BTreeStore {
            file,
            path: path.to_path_buf(),
            options,
            registry,
            current: ReadView {
                snap: Arc::new(snap),
            },
            free: FreePages::from_free(&persisted.entries),
            freelist_chain: persisted.chain,
            file_len,
            poisoned: None,
        })
    }

    /// A view of the last checkpoint; it stays valid (and unchanged) while
    /// later checkpoints run.
    pub fn view(&self) -> ReadView {
        self.current.clone()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's limits.
    pub fn options(&self) -> &BTreeOptions {
        &self.options
    }

    /// Checks a batch against the limits before anything is written.
    fn check_batch(&self, batch: &WriteBatch) -> BTreeResult<()> {
        if let Some(meta) = &batch.user_meta {
            if meta.len() > MAX_USER_META_BYTES {
                return Err(BTreeError::UserMetaTooLarge {
                    len: meta.len(),
                    max: MAX_USER_META_BYTES,
                });
            }
        }
        for (name, changes) in &batch.trees {
            if name.is_empty() || name.len() > MAX_TREE_NAME_BYTES {
                return Err(BTreeError::InvalidTreeName {
                    name: name.clone(),
                    detail: "tree names are 1 to 255 bytes",
                });
            }
            for (key, value) in &changes.ops {
                if key.len() > self.options.max_key_bytes {
                    return Err(BTreeError::KeyTooLarge {
                        len: key.len(),
                        max: self.options.max_key_bytes,
                    });
                }
                let len = value.as_ref().map_or(0, |v| v.len());
                if len > self.options.max_value_bytes {
                    return Err(BTreeError::ValueTooLarge {
                        len,
                        max: self.options.max_value_bytes,
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies `batch` as the next checkpoint and makes it durable; then
    /// [`BTreeStore::view`] shows it. Writes only the pages on paths to
    /// changed keys (plus the free list and a meta page), never a page a
    /// live view or the previous checkpoint can reach.
    ///
    /// Errors before the first sync (limits, `NoSpace`, `FileLimit`,
    /// corruption met on the way) change nothing and leave the store usable.
    /// An error from the first sync on poisons the store: the state on disk
    /// is the old or the new checkpoint and only a reopen can tell.
    pub fn checkpoint(&mut self, batch: &WriteBatch) -> BTreeResult<CheckpointStats> {
        if let Some(detail) = &self.poisoned {
            return Err(BTreeError::Poisoned {
                detail: detail.clone(),
            });
        }
        self.check_batch(batch)?;
        let current = &self.current.snap;
        let oldest_live = self.registry.oldest().unwrap_or(current.meta().txn);
        assert!(
            oldest_live <= current.meta().txn,
            "no view is newer than the store"
        );
        let mut free = self.free.clone();
        free.release(oldest_live);
        let limits = Limits {
            max_file_bytes: self.options.max_file_bytes,
            max_trees: self.options.max_trees,
        };
        let outcome = write_pages(
            current,
            self.file.as_ref(),
            self.file_len,
            free,
            &self.freelist_chain,
            batch,
            limits,
        )?;
        self.commit(outcome).inspect_err(|err| {
            tracing::error!(path = %self.path.display(), %err, "checkpoint failed while committing; store stopped");
            self.poisoned = Some(err.to_string());
        })
    }

    /// Sync, meta, sync, remap: the checkpoint becomes durable and visible.
    fn commit(&mut self, outcome: checkpoint::Outcome) -> BTreeResult<CheckpointStats> {
        self.file.sync_data()?;
        let meta_page = outcome.meta.encode();
        self.file
            .write_all_at(&meta_page, outcome.meta.slot() * PAGE_SIZE_U64)?;
        self.file.sync_data()?;
        let mapping = self.file.map()?;
        let txn = outcome.meta.txn;
        let snap = Snapshot::new(
            outcome.meta,
            mapping,
            &self.path,
            &self.registry,
            Some(outcome.trees),
        )?;
        self.current = ReadView {
            snap: Arc::new(snap),
        };
        self.free = outcome.free;
        self.freelist_chain = outcome.freelist_chain;
        self.file_len = outcome.file_len;
        let pages_written = outcome.pages_written + 1;
        Ok(CheckpointStats {
            txn,
            pages_written,
            bytes_written: pages_written * PAGE_SIZE_U64,
            pages_freed: outcome.pages_freed,
            file_bytes: self.file_len,
        })
    }

    /// The file's size and the bytes in use (as in [`StoreStats`]), without
    /// allocating: cheap enough to ask on every write.
    pub fn space(&self) -> (u64, u64) {
        let snap = &self.current.snap;
        let free = (self.free.free_len() + self.free.pending_len()) as u64;
        (self.file_len, (snap.page_count() - free) * PAGE_SIZE_U64)
    }

    /// Space and trees as of the last checkpoint.
    pub fn stats(&self) -> StoreStats {
        let snap = &self.current.snap;
        let free = (self.free.free_len() + self.free.pending_len()) as u64;
        StoreStats {
            txn: snap.meta().txn,
            file_bytes: self.file_len,
            in_use_bytes: (snap.page_count() - free) * PAGE_SIZE_U64,
            page_count: snap.page_count(),
            free_pages: self.free.free_len() as u64,
            pending_pages: self.free.pending_len() as u64,
            trees: snap
                .trees()
                .iter()
                .map(|(name, record)| TreeStats {
                    name: name.clone(),
                    keys: record.key_count,
                })
                .collect(),
        }
    }

    /// Installs a snapshot image (from [`ReadView::export`]) as the store at
    /// `path`, replacing any file there, and opens it. The image is written
    /// to a temporary file beside `path` and checked completely (every
    /// record, the trailer, then every reachable page and the structure)
    /// before the rename; a truncated or altered image fails with
    /// [`BTreeError::BadImage`] and leaves an existing store untouched. A
    /// store still open on the old file keeps reading the old file.
    pub fn install_image(
        disk: Arc<dyn Disk>,
        path: &Path,
        reader: &mut dyn Read,
        options: BTreeOptions,
    ) -> BTreeResult<BTreeStore> {
        options.check()?;
        ensure_parent(disk.as_ref(), path)?;
        let temporary = sibling(path, ".install");
        if disk.exists(&temporary)? {
            disk.remove_file(&temporary)?;
        }
        let file = disk.create(&temporary)?;
        let checked =
            image::receive(file.as_ref(), reader, options.max_file_bytes).and_then(|records| {
                let store = BTreeStore::from_file(file, &temporary, options.clone())?;
                let report = store.view().verify()?;
                if report.reachable_pages != records {
                    return Err(BTreeError::BadImage {
                        detail: format!(
                            "{records} pages sent, {} reachable",
                            report.reachable_pages
                        ),
                    });
                }
                Ok(report)
            });
        let report = match checked {
            Ok(report) => report,
            Err(err) => {
                if let Err(cleanup) = disk.remove_file(&temporary) {
                    tracing::warn!(%cleanup, "could not remove a refused image");
                }
                return Err(match err {
                    BTreeError::Corrupt { page, detail, .. } => BTreeError::BadImage {
                        detail: format!("page {page}: {detail}"),
                    },
                    other => other,
                });
            }
        };
        disk.rename(&temporary, path)?;
        tracing::info!(path = %path.display(), txn = report.txn, keys = report.keys, "installed snapshot image");
        BTreeStore::open(disk, path, options)
    }
}
