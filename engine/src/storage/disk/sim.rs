//! A simulated disk that models what a power loss does to unsynced data.
//!
//! Every file keeps two images: `durable` (what a sync made permanent) and
//! `current` (what reads see), plus the list of writes since the last sync.
//! [`SimDisk::crash`] rebuilds each file from its durable image and, for each
//! pending write independently, keeps nothing, all of it, or a prefix cut at a
//! 512-byte sector boundary, sometimes with garbage in the torn sector. Writes
//! may therefore survive out of order, as on a real disk.
//!
//! Faults, all drawn from the disk's own seeded RNG: a sync can fail (and the
//! data it should have made durable is then silently never made durable, the
//! Linux behaviour that caused "fsyncgate"), space can run out, and reads can
//! return flipped bits. The disk is a cheap handle (`Clone`) that the
//! simulation owns and hands back to a restarted node; handles opened before a
//! crash fail with `StaleHandle`.

use super::{Disk, DiskError, DiskErrorKind, DiskFile, DiskResult, Mapping};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Sector size used to tear writes on a crash.
pub const SECTOR_BYTES: u64 = 512;

/// Which faults the simulated disk injects, and how often.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimDiskFaults {
    /// Probability that a `sync_data` call fails with `SyncFailed`.
    pub sync_failure_probability: f64,
    /// Probability that a read (or a map) returns one flipped bit.
    pub read_bit_flip_probability: f64,
    /// Total bytes the disk holds; growing past it fails with `NoSpace`.
    pub capacity_bytes: Option<u64>,
}

/// Counters of what the disk was asked to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimDiskStats {
    /// Successful `sync_data` calls.
    pub syncs: u64,
    /// Bytes passed to `write_all_at`.
    pub bytes_written: u64,
    /// Crashes simulated so far.
    pub crashes: u64,
    /// Files created.
    pub files_created: u64,
}

#[derive(Debug)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct State {
    rng: ChaCha8Rng,
    generation: u64,
    next_inode: u64,
    dirs: BTreeSet<PathBuf>,
    names: BTreeMap<PathBuf, u64>,
    inodes: BTreeMap<u64, Inode>,
    faults: SimDiskFaults,
    failing_syncs: u32,
    stats: SimDiskStats,
}

/// A deterministic in-memory disk with crash and fault injection.
#[derive(Debug, Clone)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

impl SimDisk {
    /// An empty disk whose every random choice derives from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut dirs = BTreeSet::new();
        dirs.insert(PathBuf::from("/"));
        dirs.insert(PathBuf::from(""));
        dirs.insert(PathBuf::from("."));
        SimDisk {
            state: Arc::new(Mutex::new(State {
                rng: ChaCha8Rng::seed_from_u64(seed),
                generation: 0,
                next_inode: 1,
                dirs,
                names: BTreeMap::new(),
                inodes: BTreeMap::new(),
                faults: SimDiskFaults::default(),
                failing_syncs: 0,
                stats: SimDiskStats::default(),
            })),
        }
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: SimDiskFaults) {
        self.state.lock().faults = faults;
    }

    /// The current fault configuration.
    pub fn faults(&self) -> SimDiskFaults {
        self.state.lock().faults.clone()
    }

    /// Makes the next `count` syncs fail, whatever the probabilities say.
    pub fn fail_next_syncs(&self, count: u32) {
        self.state.lock().failing_syncs = count;
    }

    /// Counters since the disk was made.
    pub fn stats(&self) -> SimDiskStats {
        self.state.lock().stats
    }

    /// Simulates a power loss: every file goes back to its durable image plus
    /// a random, possibly torn, part of each unsynced write. Handles opened
    /// before the crash become stale.
    pub fn crash(&self) {
        let mut state = self.state.lock();
        let State {
            rng, inodes, names, ..
        } = &mut *state;
        let live: BTreeSet<u64> = names.values().copied().collect();
        inodes.retain(|id, _| live.contains(id));
        for inode in inodes.values_mut() {
            let mut image = std::mem::take(&mut inode.durable);
            for op in inode.pending.drain(..) {
                match op {
                    Pending::SetLen(len) => {
                        if rng.gen_bool(0.5) {
                            resize(&mut image, len);
                        }
                    }
                    Pending::Write { offset, data } => {
                        tear_write(rng, &mut image, offset, &data);
                    }
                }
            }
            inode.current = image.clone();
            inode.durable = image;
        }
        state.generation += 1;
        state.stats.crashes += 1;
    }

    /// Flips bits on the medium itself (bit rot): both the durable and the
    /// current image of `path` get `byte ^= mask` at `offset`.
    pub fn corrupt(&self, path: &Path, offset: u64, mask: u8) -> DiskResult<()> {
        let mut state = self.state.lock();
        let id = state.inode_id("corrupt", path)?;
        let inode = state.inode_mut("corrupt", path, id)?;
        let at = usize::try_from(offset).unwrap_or(usize::MAX);
        for image in [&mut inode.durable, &mut inode.current] {
            if let Some(byte) = image.get_mut(at) {
                *byte ^= mask;
            }
        }
        Ok(())
    }

    /// Bytes that would survive a crash with no unsynced write kept.
    pub fn durable_contents(&self, path: &Path) -> DiskResult<Vec<u8>> {
        let mut state = self.state.lock();
        let id = state.inode_id("read", path)?;
        Ok(state.inode_mut("read", path, id)?.durable.clone())
    }

    /// Total bytes held by all files (current images).
    pub fn used_bytes(&self) -> u64 {
        self.state.lock().used_bytes()
    }
}

fn resize(image: &mut Vec<u8>, len: u64) {
    image.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
}

fn write_into(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = start + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(data);
}

/// Applies a random part of one unsynced write to a crash image: none, all,
/// or a prefix ending on a sector boundary, sometimes followed by a sector of
/// garbage where the write was torn.
fn tear_write(rng: &mut ChaCha8Rng, image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let len = data.len() as u64;
    match rng.gen_range(0..4u8) {
        0 => {}
        1 => write_into(image, offset, data),
        _ => {
            let end = offset + len;
            let first_boundary = (offset / SECTOR_BYTES + 1) * SECTOR_BYTES;
            let boundaries = if first_boundary < end {
                (end - 1 - first_boundary) / SECTOR_BYTES + 1
            } else {
                0
            };
            // Cut at `offset` itself or at one of the interior boundaries.
            let choice = rng.gen_range(0..=boundaries);
            let cut = if choice == 0 {
                offset
            } else {
                first_boundary + (choice - 1) * SECTOR_BYTES
            };
            let kept = (cut - offset) as usize;
            write_into(image, offset, &data[..kept]);
            if rng.gen_bool(0.5) {
                let torn_end = ((cut / SECTOR_BYTES + 1) * SECTOR_BYTES).min(end);
                let garbage: Vec<u8> = (cut..torn_end).map(|_| rng.r#gen()).collect();
                write_into(image, cut, &garbage);
            }
        }
    }
}

impl State {
    fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|i| i.current.len() as u64).sum()
    }

    fn inode_id(&self, op: &'static str, path: &Path) -> DiskResult<u64> {
        self.names
            .get(path)
            .copied()
            .ok_or_else(|| DiskError::new(DiskErrorKind::NotFound, op, path, "no such file"))
    }

    fn inode_mut(&mut self, op: &'static str, path: &Path, id: u64) -> DiskResult<&mut Inode> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| DiskError::new(DiskErrorKind::NotFound, op, path, "no such file"))
    }

    fn parent_exists(&self, path: &Path) -> bool {
        match path.parent() {
            Some(p) => self.dirs.contains(p),
            None => true,
        }
    }

    fn check_space(&self, op: &'static str, path: &Path, growth: u64) -> DiskResult<()> {
        if let Some(cap) = self.faults.capacity_bytes {
            if growth > 0 && self.used_bytes() + growth > cap {
                return Err(DiskError::new(
                    DiskErrorKind::NoSpace,
                    op,
                    path,
                    "no space left on device",
                ));
            }
        }
        Ok(())
    }

    fn maybe_flip(&mut self, buf: &mut [u8]) {
        let p = self.faults.read_bit_flip_probability;
        if p > 0.0 && !buf.is_empty() && self.rng.gen_bool(p.min(1.0)) {
            let at = self.rng.gen_range(0..buf.len());
            buf[at] ^= 1 << self.rng.gen_range(0..8);
        }
    }
}

impl Disk for SimDisk {
    fn create_dir_all(&self, path: &Path) -> DiskResult<()> {
        let mut state = self.state.lock();
        for ancestor in path.ancestors() {
            if state.names.contains_key(ancestor) {
                return Err(DiskError::new(
                    DiskErrorKind::AlreadyExists,
                    "mkdir",
                    ancestor,
                    "a file exists there",
                ));
            }
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn open(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        let state = self.state.lock();
        let inode = state.inode_id("open", path)?;
        Ok(Arc::new(SimFile {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            generation: state.generation,
        }))
    }

    fn create(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        let mut state = self.state.lock();
        if state.names.contains_key(path) || state.dirs.contains(path) {
            return Err(DiskError::new(
                DiskErrorKind::AlreadyExists,
                "create",
                path,
                "file exists",
            ));
        }
        if !state.parent_exists(path) {
            return Err(DiskError::new(
                DiskErrorKind::NotFound,
                "create",
                path,
                "parent directory does not exist",
            ));
        }
        let inode = state.next_inode;
        state.next_inode += 1;
        state.stats.files_created += 1;
        state.inodes.insert(inode, Inode::default());
        state.names.insert(path.to_path_buf(), inode);
        Ok(Arc::new(SimFile {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            generation: state.generation,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> DiskResult<()> {
        let mut state = self.state.lock();
        let inode = state.inode_id("rename", from)?;
        if !state.parent_exists(to) {
            return Err(DiskError::new(
                DiskErrorKind::NotFound,
                "rename",
                to,
                "parent directory does not exist",
            ));
        }
        state.names.remove(from);
        state.names.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> DiskResult<()> {
        let mut state = self.state.lock();
        state.inode_id("remove", path)?;
        state.names.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> DiskResult<()> {
        let mut state = self.state.lock();
        state.names.retain(|name, _| !name.starts_with(path));
        state.dirs.retain(|dir| !dir.starts_with(path));
        Ok(())
    }

    fn list(&self, dir: &Path) -> DiskResult<Vec<String>> {
        let state = self.state.lock();
        if !state.dirs.contains(dir) {
            return Err(DiskError::new(
                DiskErrorKind::NotFound,
                "list",
                dir,
                "no such directory",
            ));
        }
        let children = state
            .names
            .keys()
            .chain(state.dirs.iter())
            .filter(|p| p.parent() == Some(dir) && p.as_path() != dir)
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string));
        let mut names: Vec<String> = children.collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> DiskResult<bool> {
        let state = self.state.lock();
        Ok(state.names.contains_key(path) || state.dirs.contains(path))
    }
}

/// A handle on a simulated file, valid until the next crash.
#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: u64,
    generation: u64,
}

impl SimFile {
    fn with_inode<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut State, u64) -> DiskResult<T>,
    ) -> DiskResult<T> {
        let mut state = self.state.lock();
        if state.generation != self.generation {
            return Err(DiskError::new(
                DiskErrorKind::StaleHandle,
                op,
                &self.path,
                "file handle predates a crash",
            ));
        }
        if !state.inodes.contains_key(&self.inode) {
            return Err(DiskError::new(
                DiskErrorKind::NotFound,
                op,
                &self.path,
                "file was removed",
            ));
        }
        f(&mut state, self.inode)
    }
}

impl DiskFile for SimFile {
    fn len(&self) -> DiskResult<u64> {
        self.with_inode("stat", |state, id| {
            Ok(state.inode_mut("stat", &self.path, id)?.current.len() as u64)
        })
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DiskResult<()> {
        self.with_inode("read", |state, id| {
            let inode = state.inode_mut("read", &self.path, id)?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            let Some(src) = start
                .checked_add(buf.len())
                .and_then(|end| inode.current.get(start..end))
            else {
                return Err(DiskError::new(
                    DiskErrorKind::UnexpectedEof,
                    "read",
                    &self.path,
                    format!("read of {} bytes at {offset} past end", buf.len()),
                ));
            };
            buf.copy_from_slice(src);
            state.maybe_flip(buf);
            Ok(())
        })
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> DiskResult<()> {
        self.with_inode("write", |state, id| {
            let old_len = state.inode_mut("write", &self.path, id)?.current.len() as u64;
            let growth = (offset + buf.len() as u64).saturating_sub(old_len);
            state.check_space("write", &self.path, growth)?;
            state.stats.bytes_written += buf.len() as u64;
            let inode = state.inode_mut("write", &self.path, id)?;
            write_into(&mut inode.current, offset, buf);
            inode.pending.push(Pending::Write {
                offset,
                data: buf.to_vec(),
            });
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> DiskResult<()> {
        self.with_inode("truncate", |state, id| {
            let old_len = state.inode_mut("truncate", &self.path, id)?.current.len() as u64;
            state.check_space("truncate", &self.path, len.saturating_sub(old_len))?;
            let inode = state.inode_mut("truncate", &self.path, id)?;
            resize(&mut inode.current, len);
            inode.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }

    fn allocate(&self, len: u64) -> DiskResult<()> {
        let current = self.len()?;
        if len > current {
            self.set_len(len)?;
        }
        Ok(())
    }

    fn sync_data(&self) -> DiskResult<()> {
        self.with_inode("sync", |state, id| {
            let p = state.faults.sync_failure_probability;
            let fail = if state.failing_syncs > 0 {
                state.failing_syncs -= 1;
                true
            } else {
                p > 0.0 && state.rng.gen_bool(p.min(1.0))
            };
            let inode = state.inode_mut("sync", &self.path, id)?;
            if fail {
                // The kernel drops the dirty pages' error state: those writes
                // will never become durable, yet reads keep returning them.
                inode.pending.clear();
                return Err(DiskError::new(
                    DiskErrorKind::SyncFailed,
                    "sync",
                    &self.path,
                    "input/output error (EIO)",
                ));
            }
            for op in inode.pending.drain(..) {
                match op {
                    Pending::SetLen(len) => resize(&mut inode.durable, len),
                    Pending::Write { offset, data } => {
                        write_into(&mut inode.durable, offset, &data)
                    }
                }
            }
            state.stats.syncs += 1;
            Ok(())
        })
    }

    fn map(&self) -> DiskResult<Mapping> {
        self.with_inode("mmap", |state, id| {
            let mut bytes = state.inode_mut("mmap", &self.path, id)?.current.clone();
            state.maybe_flip(&mut bytes);
            Ok(Mapping::new(Arc::new(bytes)))
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
