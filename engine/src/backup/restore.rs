//! `snapshot restore`: a new member's data directory made from a backup.

use super::error::BackupError;
use super::file::open_image;
use crate::api::Member;
use crate::node::{db_path, wal_dir};
use crate::raft_log::RaftLog;
use crate::state_machine::StateMachine;
use crate::storage::btree::{BTreeOptions, BTreeStore};
use crate::storage::disk::Disk;
use crate::storage::wal::{Wal, WalOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The member a restore makes.
#[derive(Debug, Clone)]
pub struct RestoreTarget {
    /// Its data directory; must not exist.
    pub data_dir: PathBuf,
    /// A directory of its own for the raft log (etcdctl's `--wal-dir`);
    /// must not exist. `None`: inside the data directory.
    pub wal_dir: Option<PathBuf>,
    /// The new cluster's id.
    pub cluster_id: u64,
    /// The new cluster's members (this one among them).
    pub members: Vec<Member>,
    /// Restore even if the file's hash trailer is missing or wrong (the
    /// image's own checksums are still checked).
    pub skip_hash_check: bool,
}

/// What a restore made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The key-value store's revision, as in the backup.
    pub revision: i64,
    /// The raft index the new cluster's log starts after.
    pub index: u64,
}

/// Makes `target.data_dir` on `disk` the data of a member of a new cluster
/// holding every key, revision and lease of the backup at `backup`: the
/// state file with the new membership, and a raft log that starts at the
/// backup's applied index, term 1. Every member of the new cluster restored
/// from the same backup gets the same state and log, so they start as one
/// cluster. The directory (and the raft log's own directory, if given)
/// must not exist; on failure nothing is left there.
pub fn restore(
    disk: Arc<dyn Disk>,
    backup: &Path,
    target: &RestoreTarget,
) -> Result<RestoreReport, BackupError> {
    let dir = &target.data_dir;
    if disk
        .exists(dir)
        .map_err(|e| BackupError::io("data-dir", e))?
    {
        return Err(BackupError::DataDirExists(dir.display().to_string()));
    }
    if let Some(wal) = &target.wal_dir {
        if disk
            .exists(wal)
            .map_err(|e| BackupError::io("wal-dir", e))?
        {
            return Err(BackupError::WalDirExists(wal.display().to_string()));
        }
    }
    let mut image = open_image(disk.as_ref(), backup, target.skip_hash_check)?;
    let made = restore_image(Arc::clone(&disk), &mut image, target);
    if made.is_err() {
        let _ = disk.remove_dir_all(dir);
        if let Some(wal) = &target.wal_dir {
            let _ = disk.remove_dir_all(wal);
        }
    }
    made
}

impl RestoreTarget {
    /// Where the restored raft log goes.
    pub fn wal_path(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| wal_dir(&self.data_dir))
    }
}

/// [`restore`] from an image already read (see [`super::image_of`]) onto
/// `disk`, which is how the simulator restores onto its simulated disks.
/// `target.data_dir` must hold no member's data, nor the raft log's
/// directory a raft log.
pub fn restore_image(
    disk: Arc<dyn Disk>,
    image: &mut dyn std::io::Read,
    target: &RestoreTarget,
) -> Result<RestoreReport, BackupError> {
    if target.members.is_empty() {
        return Err(BackupError::Config("the new cluster has no members".into()));
    }
    let exists = disk
        .exists(&db_path(&target.data_dir))
        .map_err(|e| BackupError::io("data-dir", e))?;
    if exists {
        return Err(BackupError::DataDirExists(
            target.data_dir.display().to_string(),
        ));
    }
    let wal = target.wal_path();
    if Wal::exists(disk.as_ref(), &wal).map_err(|e| BackupError::io("wal-dir", e))? {
        return Err(BackupError::WalDirExists(wal.display().to_string()));
    }
    disk.create_dir_all(&target.data_dir)
        .map_err(|e| BackupError::io("data-dir", e))?;
    make_member(&disk, image, target)
}

fn make_member(
    disk: &Arc<dyn Disk>,
    image: &mut dyn std::io::Read,
    target: &RestoreTarget,
) -> Result<RestoreReport, BackupError> {
    let db = db_path(&target.data_dir);
    let store = BTreeStore::install_image(Arc::clone(disk), &db, image, BTreeOptions::default())
        .map_err(|e| BackupError::BadImage(e.to_string()))?;
    drop(store);
    let mut state = StateMachine::open(Arc::clone(disk), &db)
        .map_err(|e| BackupError::BadImage(e.to_string()))?;
    state
        .become_new_cluster(target.cluster_id, &target.members)
        .map_err(|e| BackupError::Io(e.to_string()))?;
    let mut log = RaftLog::open(
        Arc::clone(disk),
        &target.wal_path(),
        WalOptions::default(),
        state.applied_index(),
        state.conf_state().clone(),
        state.latest_checkpoint(),
    )
    .map_err(|e| BackupError::Io(e.to_string()))?;
    log.bootstrap_at(state.applied_index(), state.applied_term())
        .map_err(|e| BackupError::Io(e.to_string()))?;
    Ok(RestoreReport {
        revision: state.revision(),
        index: state.applied_index(),
    })
}
