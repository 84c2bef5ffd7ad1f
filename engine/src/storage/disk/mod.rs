//! The one seam through which the engine touches files.
//!
//! Every byte the engine persists goes through [`Disk`] and [`DiskFile`]. Two
//! implementations exist: [`OsDisk`] for production and [`SimDisk`], which keeps
//! synced and unsynced bytes apart so that a simulated power loss
//! ([`SimDisk::crash`]) can drop or tear everything that was not synced.
//!
//! Contract shared by both implementations:
//! - `create`, `rename` and `remove_file` are durable when they return (the
//!   OS implementation fsyncs the parent directory).
//! - File *contents* are durable only after [`DiskFile::sync_data`] returns
//!   `Ok`. A failed sync leaves the data in an unknown state: callers must
//!   fail-stop, never retry as if nothing happened.
//! - A [`Mapping`] is a read-only view of the whole file as it was when mapped;
//!   bytes written after mapping may or may not be visible through it, so
//!   callers map again after writing what they want to read.

mod error;
mod os;
mod sim;

pub use error::{DiskError, DiskErrorKind, DiskResult};
pub use os::OsDisk;
pub use sim::{SimDisk, SimDiskFaults};

use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// A file system as the engine sees it: a flat set of directories and files.
pub trait Disk: Send + Sync + fmt::Debug {
    /// Creates `path` and every missing parent directory.
    fn create_dir_all(&self, path: &Path) -> DiskResult<()>;
    /// Opens an existing file for reading and writing.
    fn open(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>>;
    /// Creates a new, empty file; fails with `AlreadyExists` if it exists.
    /// The file's existence is durable when this returns.
    fn create(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>>;
    /// Atomically replaces `to` with `from`; durable when this returns.
    fn rename(&self, from: &Path, to: &Path) -> DiskResult<()>;
    /// Removes a file; durable when this returns.
    fn remove_file(&self, path: &Path) -> DiskResult<()>;
    /// Removes a directory and everything below it (a member's data wipe).
    fn remove_dir_all(&self, path: &Path) -> DiskResult<()>;
    /// Names of the entries directly inside `dir`, sorted bytewise.
    fn list(&self, dir: &Path) -> DiskResult<Vec<String>>;
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> DiskResult<bool>;
}

/// An open file. Offsets are absolute; there is no cursor.
#[allow(clippy::len_without_is_empty)] // a file length is a fallible query, not a collection size
pub trait DiskFile: Send + Sync + fmt::Debug {
    /// Current length in bytes, including written but unsynced bytes.
    fn len(&self) -> DiskResult<u64>;
    /// Fills `buf` from `offset`; fails with `UnexpectedEof` if the file is
    /// shorter than `offset + buf.len()`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DiskResult<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed. Not
    /// durable until [`DiskFile::sync_data`].
    fn write_all_at(&self, buf: &[u8], offset: u64) -> DiskResult<()>;
    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> DiskResult<()>;
    /// Reserves space so the file is at least `len` bytes long, filled with
    /// zeros past its old end; fails with `NoSpace` if the space is not there.
    fn allocate(&self, len: u64) -> DiskResult<()>;
    /// Makes every write so far durable (fdatasync). On error the written data
    /// may be lost even though reads still return it: the caller must stop.
    fn sync_data(&self) -> DiskResult<()>;
    /// Maps the whole file read-only, as it is now.
    fn map(&self) -> DiskResult<Mapping>;
    /// The path this file was opened at, for error messages.
    fn path(&self) -> &Path;
}

/// A read-only view of a file's bytes. Cheap to clone; the bytes it shows stay
/// valid as long as any clone lives.
#[derive(Clone)]
pub struct Mapping {
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
}

impl Mapping {
    /// Wraps anything that owns bytes as a mapping.
    pub fn new(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        Mapping { bytes }
    }

    /// An empty mapping (what an empty file maps to).
    pub fn empty() -> Self {
        Mapping {
            bytes: Arc::new(Vec::<u8>::new()),
        }
    }
}

impl Deref for Mapping {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len()).finish()
    }
}

/// Reads a whole file into memory (small files: metadata, copies).
pub fn read_whole(file: &dyn DiskFile) -> DiskResult<Vec<u8>> {
    let len = file.len()?;
    let len = usize::try_from(len).map_err(|_| {
        DiskError::new(
            DiskErrorKind::Io,
            "read",
            file.path(),
            "file too large for memory",
        )
    })?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

/// Copies `from` to a new file `to` and syncs it (used to keep a copy of a
/// damaged file before repairing it).
pub fn copy_file(disk: &dyn Disk, from: &Path, to: &Path) -> DiskResult<()> {
    let src = disk.open(from)?;
    let bytes = read_whole(src.as_ref())?;
    if disk.exists(to)? {
        disk.remove_file(to)?;
    }
    let dst = disk.create(to)?;
    dst.write_all_at(&bytes, 0)?;
    dst.sync_data()
}

#[cfg(test)]
mod tests;
