//! Defragmentation of the state file, without stopping the member.
//!
//! 1. [`StateMachine::defrag_job`] pins the last checkpoint;
//! 2. [`DefragJob::run`] (off the node task) writes it compactly into
//!    `<db>.defrag`, durably;
//! 3. [`StateMachine::finish_defrag`] renames the copy over the state file
//!    and puts it under the memtable, if no checkpoint happened since step 1
//!    (the caller holds checkpoints back meanwhile); a stale copy is removed.
//!
//! The copy holds the same checkpoint as the file it replaces, so a crash
//! at any point leaves a valid state: before the rename the old file, after
//! it the copy. A leftover `<db>.defrag` is removed at open.

use super::StateMachine;
use crate::node::NodeError;
use crate::storage::btree::{BTreeOptions, BTreeStore, ReadView, compact_copy_path};
use crate::storage::disk::Disk;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A compact copy to write: what [`StateMachine::defrag_job`] hands out.
#[derive(Debug)]
pub struct DefragJob {
    disk: Arc<dyn Disk>,
    db_path: PathBuf,
    source: ReadView,
}

/// A finished copy, for [`StateMachine::finish_defrag`].
#[derive(Debug)]
pub struct DefragCopy {
    source: ReadView,
    copy: BTreeStore,
}

/// What [`StateMachine::finish_defrag`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefragOutcome {
    /// The copy is the state file now: sizes before and after, in bytes.
    Replaced {
        /// File size before.
        before: u64,
        /// File size after.
        after: u64,
    },
    /// A checkpoint or snapshot install changed the state while copying;
    /// the copy was removed and nothing changed.
    Stale,
}

impl DefragJob {
    /// Writes the compact copy. Blocking (disk I/O for the whole state);
    /// reads only the pinned checkpoint.
    pub fn run(self) -> Result<DefragCopy, String> {
        let copy = BTreeStore::write_compact_copy(
            self.disk,
            &self.source,
            &self.db_path,
            BTreeOptions::default(),
        )
        .map_err(|e| format!("defragment: {e}"))?;
        Ok(DefragCopy {
            source: self.source,
            copy,
        })
    }
}

impl StateMachine {
    /// A job copying the last checkpoint compactly.
    pub fn defrag_job(&self) -> DefragJob {
        DefragJob {
            disk: Arc::clone(&self.disk),
            db_path: self.db_path.clone(),
            source: self.kv.backend().checkpoint_view(),
        }
    }

    /// Makes a finished copy the state file if it still holds the last
    /// checkpoint. A failed rename leaves the old file in use (an error the
    /// caller reports); a copy renamed but not reopenable is fatal.
    pub fn finish_defrag(&mut self, done: DefragCopy) -> Result<DefragOutcome, NodeError> {
        let DefragCopy { source, copy } = done;
        let copy_path = copy.path().to_path_buf();
        drop(copy);
        let current = self.kv.backend().checkpoint_view();
        if !current.same_checkpoint(&source) {
            self.disk.remove_file(&copy_path).map_err(storage)?;
            return Ok(DefragOutcome::Stale);
        }
        let before = self.kv.backend().space().0;
        if let Err(err) = self.disk.rename(&copy_path, &self.db_path) {
            let _ = self.disk.remove_file(&copy_path);
            return Err(storage(format!("defragment: {err}")));
        }
        let store = BTreeStore::open(
            Arc::clone(&self.disk),
            &self.db_path,
            BTreeOptions::default(),
        )
        .map_err(|e| NodeError::Corrupt(format!("defragmented state file: {e}")))?;
        assert_eq!(
            store.view().user_meta(),
            source.user_meta(),
            "a compact copy holds the checkpoint it replaces"
        );
        self.kv.backend_mut().replace_store(store);
        let after = self.kv.backend().space().0;
        Ok(DefragOutcome::Replaced { before, after })
    }

    /// Removes a compact copy a crash or stop left beside `db_path`.
    pub(super) fn remove_defrag_leftover(disk: &dyn Disk, db_path: &Path) -> Result<(), NodeError> {
        let leftover = compact_copy_path(db_path);
        if disk.exists(&leftover).map_err(storage)? {
            tracing::info!(path = %leftover.display(), "removing an unfinished defragmentation");
            disk.remove_file(&leftover).map_err(storage)?;
        }
        Ok(())
    }
}

fn storage(err: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(err.to_string())
}
