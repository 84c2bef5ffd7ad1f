//! Backups as etcd operators take them: a member's state saved as one file
//! (`snapshot save`), that file's status (`snapshot status`), and a new
//! member's data made from it (`snapshot restore`).
//!
//! A backup file is
//!
//! ```text
//! image:   a checkpoint's image (storage/btree/image.rs), which checks
//!          every page and carries its own crc32 trailer
//! padding: zeros up to a multiple of 512 bytes
//! hash:    SHA-256 of the image and the padding (32 bytes)
//! ```
//!
//! so its length is 32 more than a multiple of 512: what etcdctl checks when
//! it saves a snapshot (and what etcd's own files look like), so etcdctl can
//! save Keel's snapshots too. `status` and `restore` refuse a file whose hash
//! does not match (unless told to skip the hash, as etcdctl's
//! `--skip-hash-check`), and installing the image checks every byte of it.

mod error;
mod file;
mod restore;
mod status;
#[cfg(test)]
mod tests;

pub use error::BackupError;
pub use file::{BackupStream, HASH_BYTES, image_of, open_image};
pub use restore::{RestoreReport, RestoreTarget, restore, restore_image};
pub use status::{BackupStatus, status};
