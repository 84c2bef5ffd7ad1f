//! `snapshot status`: what a backup holds, read without a running member.

use super::error::BackupError;
use super::file::open_image;
use crate::mvcc::Tree;
use crate::state_machine::StateMachine;
use crate::storage::btree::{BTreeOptions, BTreeStore};
use crate::storage::disk::{Disk, DiskFile, DiskResult, Mapping};
use std::ops::{Bound, ControlFlow};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `snapshot status` reports (etcdctl's fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupStatus {
    /// crc32 over every tree's name, keys and values, in order: equal for
    /// equal content, whatever the file's layout.
    pub hash: u32,
    /// The key-value store's revision.
    pub revision: i64,
    /// Entries in all trees (revisions of keys, leases, members, ...).
    pub total_key: u64,
    /// Size of the state file the backup restores to, in bytes.
    pub total_size: u64,
}

/// The status of the backup at `path` on `disk`. The hash trailer is
/// checked, and the whole image is installed (into a scratch file under the
/// system's temporary directory, never synced, removed afterwards) and
/// checked page by page.
pub fn status(disk: Arc<dyn Disk>, path: &Path) -> Result<BackupStatus, BackupError> {
    let mut image = open_image(disk.as_ref(), path, false)?;
    let disk: Arc<dyn Disk> = Arc::new(ScratchDisk(disk));
    let scratch = Scratch::new(Arc::clone(&disk))?;
    let db = scratch.dir.join("db");
    let store =
        BTreeStore::install_image(Arc::clone(&disk), &db, &mut image, BTreeOptions::default())
            .map_err(|e| BackupError::BadImage(e.to_string()))?;
    drop(store);
    let total_size = disk
        .open(&db)
        .and_then(|file| file.len())
        .map_err(|e| BackupError::io("installed snapshot", e))?;
    let state = StateMachine::open(disk, &db).map_err(|e| BackupError::BadImage(e.to_string()))?;
    let backend = state.kv().backend();
    let mut hasher = crc32fast::Hasher::new();
    let mut total_key = 0u64;
    for tree in Tree::ALL {
        hasher.update(tree.name().as_bytes());
        backend
            .scan(tree, (Bound::Unbounded, Bound::Unbounded), false, |k, v| {
                hasher.update(k);
                hasher.update(v);
                total_key += 1;
                Ok(ControlFlow::Continue(()))
            })
            .map_err(|e| BackupError::BadImage(e.to_string()))?;
    }
    Ok(BackupStatus {
        hash: hasher.finalize(),
        revision: state.revision(),
        total_key,
        total_size,
    })
}

/// A directory of our own under the system's temporary directory, removed
/// when dropped.
struct Scratch {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
}

impl Scratch {
    fn new(disk: Arc<dyn Disk>) -> Result<Scratch, BackupError> {
        let dir = std::env::temp_dir().join(format!(
            "keel-snapshot-status-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        disk.create_dir_all(&dir)
            .map_err(|e| BackupError::io("scratch directory", e))?;
        Ok(Scratch { disk, dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.disk.remove_dir_all(&self.dir);
    }
}

/// A disk for throw-away files: everything goes to `inner` except syncs,
/// which do nothing (a scratch copy that is removed at once need not reach
/// the platter; syncing a gigabyte costs seconds).
#[derive(Debug)]
struct ScratchDisk(Arc<dyn Disk>);

/// A file of a [`ScratchDisk`].
#[derive(Debug)]
struct ScratchFile(Arc<dyn DiskFile>);

impl Disk for ScratchDisk {
    fn create_dir_all(&self, path: &Path) -> DiskResult<()> {
        self.0.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        Ok(Arc::new(ScratchFile(self.0.open(path)?)))
    }
    fn create(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        Ok(Arc::new(ScratchFile(self.0.create(path)?)))
    }
    fn rename(&self, from: &Path, to: &Path) -> DiskResult<()> {
        self.0.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> DiskResult<()> {
        self.0.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> DiskResult<()> {
        self.0.remove_dir_all(path)
    }
    fn list(&self, dir: &Path) -> DiskResult<Vec<String>> {
        self.0.list(dir)
    }
    fn exists(&self, path: &Path) -> DiskResult<bool> {
        self.0.exists(path)
    }
}

impl DiskFile for ScratchFile {
    fn len(&self) -> DiskResult<u64> {
        self.0.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DiskResult<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> DiskResult<()> {
        self.0.write_all_at(buf, offset)
    }
    fn set_len(&self, len: u64) -> DiskResult<()> {
        self.0.set_len(len)
    }
    fn allocate(&self, len: u64) -> DiskResult<()> {
        self.0.allocate(len)
    }
    fn sync_data(&self) -> DiskResult<()> {
        Ok(())
    }
    fn map(&self) -> DiskResult<Mapping> {
        self.0.map()
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}
