//! The production disk: std::fs, fdatasync, directory fsync, memmap2.

use super::{Disk, DiskError, DiskErrorKind, DiskFile, DiskResult, Mapping};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The operating system's file system. Namespace changes (create, rename,
/// remove) are made durable by fsyncing the parent directory.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsDisk;

impl OsDisk {
    /// The production disk.
    pub fn new() -> Self {
        OsDisk
    }
}

fn sync_parent(path: &Path) -> DiskResult<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = File::open(parent).map_err(|e| DiskError::from_io("open dir", parent, e))?;
    dir.sync_all()
        .map_err(|e| DiskError::from_io("sync", parent, e))
}

impl Disk for OsDisk {
    fn create_dir_all(&self, path: &Path) -> DiskResult<()> {
        fs::create_dir_all(path).map_err(|e| DiskError::from_io("mkdir", path, e))?;
        sync_parent(path)
    }

    fn open(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| DiskError::from_io("open", path, e))?;
        Ok(Arc::new(OsFile {
            reserved: parking_lot::Mutex::new(None),
            file,
            path: path.to_path_buf(),
        }))
    }

    fn create(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| DiskError::from_io("create", path, e))?;
        sync_parent(path)?;
        Ok(Arc::new(OsFile {
            reserved: parking_lot::Mutex::new(None),
            file,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> DiskResult<()> {
        fs::rename(from, to).map_err(|e| DiskError::from_io("rename", from, e))?;
        sync_parent(to)?;
        if from.parent() != to.parent() {
            sync_parent(from)?;
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> DiskResult<()> {
        fs::remove_file(path).map_err(|e| DiskError::from_io("remove", path, e))?;
        sync_parent(path)
    }

    fn remove_dir_all(&self, path: &Path) -> DiskResult<()> {
        match fs::remove_dir_all(path) {
            Ok(()) => sync_parent(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DiskError::from_io("remove dir", path, e)),
        }
    }

    fn list(&self, dir: &Path) -> DiskResult<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| DiskError::from_io("list", dir, e))? {
            let entry = entry.map_err(|e| DiskError::from_io("list", dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> DiskResult<bool> {
        path.try_exists()
            .map_err(|e| DiskError::from_io("stat", path, e))
    }
}

/// An open OS file.
#[derive(Debug)]
struct OsFile {
    file: File,
    path: PathBuf,
    /// One read-only mapping reserved beyond the file's end, shared by every
    /// [`Mapping`] handed out until the file outgrows it: a page touched
    /// through any of them is resident once, not once per checkpoint.
    reserved: parking_lot::Mutex<Option<Arc<memmap2::Mmap>>>,
}

/// Smallest reservation, and how far ahead of the file a new one reaches.
const MIN_RESERVATION: u64 = 64 << 20;

/// The first `len` bytes of a shared reservation: never the bytes past the
/// file's end as of mapping, which must not be touched (SIGBUS).
struct Window {
    map: Arc<memmap2::Mmap>,
    len: usize,
}

impl AsRef<[u8]> for Window {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl DiskFile for OsFile {
    fn len(&self) -> DiskResult<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| DiskError::from_io("stat", &self.path, e))
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DiskResult<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| DiskError::from_io("read", &self.path, e))
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> DiskResult<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| DiskError::from_io("write", &self.path, e))
    }

    fn set_len(&self, len: u64) -> DiskResult<()> {
        self.file
            .set_len(len)
            .map_err(|e| DiskError::from_io("truncate", &self.path, e))
    }

    fn allocate(&self, len: u64) -> DiskResult<()> {
        let current = self.len()?;
        if len <= current {
            return Ok(());
        }
        let Ok(len_off) = libc::off_t::try_from(len) else {
            return Err(DiskError::new(
                DiskErrorKind::Io,
                "allocate",
                &self.path,
                format!("length {len} out of range"),
            ));
        };
        // SAFETY: fallocate on a file descriptor we own, with in-range offsets.
        let rc = unsafe { libc::posix_fallocate(self.file.as_raw_fd(), 0, len_off) };
        match rc {
            0 => Ok(()),
            libc::ENOSPC => Err(DiskError::new(
                DiskErrorKind::NoSpace,
                "allocate",
                &self.path,
                "no space left on device",
            )),
            // Some file systems (tmpfs on old kernels, overlay) refuse
            // fallocate; extending with zeros keeps the contract.
            libc::EOPNOTSUPP | libc::EINVAL => self.set_len(len),
            errno => Err(DiskError::from_io(
                "allocate",
                &self.path,
                std::io::Error::from_raw_os_error(errno),
            )),
        }
    }

    fn sync_data(&self) -> DiskResult<()> {
        self.file.sync_data().map_err(|e| {
            let mut err = DiskError::from_io("sync", &self.path, e);
            err.kind = DiskErrorKind::SyncFailed;
            err
        })
    }

    fn map(&self) -> DiskResult<Mapping> {
        if self.len()? == 0 {
            return Ok(Mapping::empty());
        }
        // SAFETY: the engine never truncates a file below a length that a live
        // mapping covers while that mapping is in use (callers hold this
        // invariant: the B-tree only grows its file; WAL segments are read via
        // read_exact_at). Concurrent writes to unreferenced pages are fine.
        let len = self.len()?;
        let window_len = usize::try_from(len).map_err(|_| {
            DiskError::from_io("mmap", &self.path, std::io::ErrorKind::FileTooLarge.into())
        })?;
        let mut reserved = self.reserved.lock();
        let map = match reserved.as_ref() {
            Some(map) if map.len() as u64 >= len => Arc::clone(map),
            _ => {
                let reserve = len.saturating_mul(2).max(MIN_RESERVATION);
                let reserve = usize::try_from(reserve).unwrap_or(window_len);
                // SAFETY: as above; pages past the file's end are mapped but
                // never exposed (a Window stops at the length at mapping).
                let map = unsafe { memmap2::MmapOptions::new().len(reserve).map(&self.file) }
                    .map_err(|e| DiskError::from_io("mmap", &self.path, e))?;
                let map = Arc::new(map);
                *reserved = Some(Arc::clone(&map));
                map
            }
        };
        Ok(Mapping::new(Arc::new(Window {
            map,
            len: window_len,
        })))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
