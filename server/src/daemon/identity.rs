//! The member's identity, kept in its data directory.
//!
//! File `member`: one line, `<member id hex> <cluster id hex>`, written
//! atomically (temporary file, sync, rename) on the member's first start.

use super::DaemonError;
use keel_engine::storage::disk::{Disk, read_whole};
use std::path::Path;

/// Who a member is: its id and its cluster's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The member.
    pub member_id: u64,
    /// Its cluster.
    pub cluster_id: u64,
}

fn storage(err: impl std::fmt::Display) -> DaemonError {
    DaemonError::Config(format!("member identity: {err}"))
}

impl Identity {
    /// Reads the identity from `data_dir`, if the member has started before.
    pub fn load(disk: &dyn Disk, data_dir: &Path) -> Result<Option<Identity>, DaemonError> {
        let path = data_dir.join("member");
        if !disk.exists(&path).map_err(storage)? {
            return Ok(None);
        }
        let file = disk.open(&path).map_err(storage)?;
        let bytes = read_whole(file.as_ref()).map_err(storage)?;
        let text = String::from_utf8(bytes).map_err(|_| storage("not utf-8"))?;
        let mut parts = text.split_whitespace();
        let mut hex = || {
            parts
                .next()
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(|| storage(format!("{} is malformed", path.display())))
        };
        Ok(Some(Identity {
            member_id: hex()?,
            cluster_id: hex()?,
        }))
    }

    /// Writes the identity into `data_dir`, durably.
    pub fn store(&self, disk: &dyn Disk, data_dir: &Path) -> Result<(), DaemonError> {
        disk.create_dir_all(data_dir).map_err(storage)?;
        let path = data_dir.join("member");
        let temporary = data_dir.join("member.tmp");
        if disk.exists(&temporary).map_err(storage)? {
            disk.remove_file(&temporary).map_err(storage)?;
        }
        let file = disk.create(&temporary).map_err(storage)?;
        let line = format!("{:x} {:x}\n", self.member_id, self.cluster_id);
        file.write_all_at(line.as_bytes(), 0).map_err(storage)?;
        file.sync_data().map_err(storage)?;
        disk.rename(&temporary, &path).map_err(storage)
    }
}
