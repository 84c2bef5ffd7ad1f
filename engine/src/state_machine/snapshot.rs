//! Raft snapshots of the state machine: exporting a checkpoint's image and
//! installing one received from the leader.
//!
//! Installing is three steps, so that a crash between any two leaves a state
//! the member can restart from:
//! 1. [`StateMachine::stage_image`]: the image is written beside the state
//!    (`<db>.snapshot`), verified completely, and synced;
//! 2. the raft log records the snapshot (done by the caller);
//! 3. [`StateMachine::promote_staged`]: the staged file is renamed over the
//!    state (atomic) and reopened.
//!
//! At open, [`StateMachine::recover_staged`] finishes step 3 if the raft log
//! already recorded the snapshot, and discards the staged file otherwise.

use super::StateMachine;
use super::records::AppliedMeta;
use crate::node::NodeError;
use crate::storage::btree::{BTreeOptions, BTreeStore};
use crate::storage::disk::Disk;
use bytes::Bytes;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a received image waits to replace the state at `db_path`.
fn staged_path(db_path: &Path) -> PathBuf {
    let mut name = db_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".snapshot");
    db_path.with_file_name(name)
}

fn storage(err: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(err.to_string())
}

impl StateMachine {
    /// The image of the checkpoint at `index`, as raft asked to send it.
    pub fn export_image(&self, index: u64) -> Result<Bytes, NodeError> {
        let checkpoint = self
            .checkpoints
            .iter()
            .find(|c| c.index == index)
            .ok_or_else(|| NodeError::Storage(format!("no checkpoint at index {index} to send")))?;
        let mut reader = checkpoint.view.export().map_err(storage)?;
        let mut image = Vec::with_capacity(usize::try_from(reader.total_bytes()).unwrap_or(0));
        reader.read_to_end(&mut image).map_err(storage)?;
        Ok(Bytes::from(image))
    }

    /// Step 1 of an install: writes `image` beside the state, verifies it,
    /// and returns the meta it carries. A damaged image is refused and
    /// leaves nothing behind.
    pub fn stage_image(&self, image: &Bytes) -> Result<AppliedMeta, NodeError> {
        let staged = staged_path(&self.db_path);
        let store = BTreeStore::install_image(
            Arc::clone(&self.disk),
            &staged,
            &mut image.as_ref(),
            BTreeOptions::default(),
        )
        .map_err(|e| NodeError::BadSnapshot(e.to_string()))?;
        let meta = AppliedMeta::decode(&store.view().user_meta())
            .map_err(|e| NodeError::BadSnapshot(format!("image meta: {e}")))?;
        Ok(meta)
    }

    /// Step 3 of an install: the staged image becomes the state.
    pub fn promote_staged(&mut self) -> Result<(), NodeError> {
        let staged = staged_path(&self.db_path);
        self.disk.rename(&staged, &self.db_path).map_err(storage)?;
        *self = StateMachine::open(Arc::clone(&self.disk), &self.db_path)?;
        Ok(())
    }

    /// Finishes or discards an install a crash interrupted: the staged image
    /// replaces the state if the raft log recorded a snapshot at its index
    /// (`logged_snapshot_index`), and is removed otherwise.
    pub fn recover_staged(
        disk: &Arc<dyn Disk>,
        db_path: &Path,
        logged_snapshot_index: u64,
    ) -> Result<(), NodeError> {
        let staged = staged_path(db_path);
        if !disk.exists(&staged).map_err(storage)? {
            return Ok(());
        }
        let staged_meta = BTreeStore::open(Arc::clone(disk), &staged, BTreeOptions::default())
            .ok()
            .and_then(|store| AppliedMeta::decode(&store.view().user_meta()).ok());
        match staged_meta {
            Some(meta) if meta.index == logged_snapshot_index && meta.index > 0 => {
                tracing::warn!(
                    index = meta.index,
                    "finishing a snapshot install interrupted by a crash"
                );
                disk.rename(&staged, db_path).map_err(storage)
            }
            _ => disk.remove_file(&staged).map_err(storage),
        }
    }
}
