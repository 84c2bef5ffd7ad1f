//! The write-ahead log: raft's entries, hard state and snapshot markers for
//! one member, in append-only, preallocated, checksummed segment files.
//!
//! - Appends only buffer records; [`Wal::sync`] writes everything buffered
//!   with one write per segment and makes it durable with one fdatasync per
//!   segment (group commit). A segment is synced before the next is created.
//! - The log follows raft's rule: appending index `i` replaces any entries
//!   from `i` on. The file stays append-only; replay applies the same rule.
//! - A snapshot marker at `(i, t)` drops entries up to `i`; if the log has no
//!   entry `i` of term `t` (a snapshot from the leader), it drops them all.
//! - After a failed sync the WAL is fail-stopped: every later call fails
//!   (the fsyncgate lesson — never carry on as if the data were durable).
//!
//! Formats: `segment.rs` (files), `record.rs` (records); recovery rules:
//! `recovery.rs`.

mod error;
mod record;
mod recovery;
mod segment;

pub use error::{REMEDY, WalError, WalResult};
pub use record::{HardState, WalEntry};
pub use segment::segment_name;

use crate::storage::disk::Disk;
use bytes::Bytes;
use record::{Record, decode_read, framed_len};
use segment::{
    SEGMENT_HEADER_BYTES, Segment, SegmentHeader, TERMINATOR_BYTES, create_segment,
    recycle_segment, spare_name,
};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// WAL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// Preallocated size of each segment (a record larger than this gets a
    /// segment of its own, sized to fit).
    pub segment_bytes: u64,
    /// Compacted segments kept to be recycled as new ones.
    pub max_spare_segments: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            max_spare_segments: 2,
        }
    }
}

/// What opening the WAL found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The last hard state written (default if none).
    pub hard_state: HardState,
    /// The last snapshot marker `(index, term)` (`(0, 0)` if none).
    pub snapshot: (u64, u64),
    /// First entry index (snapshot index + 1).
    pub first_index: u64,
    /// Last entry index (snapshot index if there are no entries).
    pub last_index: u64,
    /// Whether a torn write was cut off the end of the log.
    pub repaired_torn_tail: bool,
}

/// Where an entry's record is.
#[derive(Debug, Clone)]
enum Location {
    /// Appended, not yet written: the payload itself.
    Buffered(Bytes),
    /// In segment `seq`, record at `offset`, `framed` bytes long.
    OnDisk { seq: u64, offset: u64, framed: u64 },
}

#[derive(Debug, Clone)]
struct Slot {
    term: u64,
    location: Location,
}

/// The entries the log holds, in index order, from `first`.
#[derive(Debug, Default)]
struct Entries {
    snapshot: (u64, u64),
    first: u64,
    slots: VecDeque<Slot>,
}

impl Entries {
    fn last_index(&self) -> u64 {
        self.first + self.slots.len() as u64 - 1
    }

    fn slot(&self, index: u64) -> Option<&Slot> {
        index
            .checked_sub(self.first)
            .and_then(|i| self.slots.get(usize::try_from(i).ok()?))
    }

    fn term(&self, index: u64) -> Option<u64> {
        if index == self.snapshot.0 {
            return Some(self.snapshot.1);
        }
        self.slot(index).map(|s| s.term)
    }

    /// Adds entry `index`, replacing any entries from `index` on. During
    /// replay a gap is allowed (older segments were deleted behind a marker
    /// that comes later); `open` checks that a marker covers it.
    fn put(&mut self, index: u64, slot: Slot) {
        if index <= self.snapshot.0 {
            return;
        }
        if index > self.last_index() + 1 || index < self.first {
            self.slots.clear();
            self.first = index;
        }
        self.slots.truncate((index - self.first) as usize);
        self.slots.push_back(slot);
    }

    /// Records a snapshot at `(index, term)`. Entries after it stay if the
    /// log agrees with it (holds entry `index` of `term`, or starts after
    /// `index`: replay past deleted segments); otherwise it is a snapshot
    /// from the leader that replaces the whole log.
    fn set_snapshot(&mut self, index: u64, term: u64) {
        if index <= self.snapshot.0 {
            return;
        }
        if index < self.first {
            // The entries start later; a gap up to them stays visible to
            // `open`'s check until a marker covers it.
        } else if self.slot(index).is_some_and(|s| s.term == term) {
            let drop = (index + 1 - self.first) as usize;
            self.slots.drain(..drop);
            self.first = index + 1;
        } else {
            self.slots.clear();
            self.first = index + 1;
        }
        self.snapshot = (index, term);
    }
}

/// A member's write-ahead log.
#[derive(Debug)]
pub struct Wal {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    options: WalOptions,
    segments: Vec<Segment>,
    /// Where the next record goes in the last segment.
    write_offset: u64,
    /// Records appended since the last sync, in order.
    buffered: Vec<Record>,
    entries: Entries,
    hard_state: HardState,
    /// Hard state and marker as written so far (for new segments' prefix).
    written_hard_state: HardState,
    written_snapshot: (u64, u64),
    fail_stopped: Option<String>,
    /// Retired segment files waiting to be recycled, oldest first.
    spares: Vec<PathBuf>,
    /// Segments made from recycled files since the WAL was opened.
    segments_recycled: u64,
}

impl Wal {
    /// Whether `dir` holds a WAL (at least one segment file), as etcd's
    /// `wal.Exist`; a missing directory holds none.
    pub fn exists(disk: &dyn Disk, dir: &Path) -> WalResult<bool> {
        if !disk.exists(dir)? {
            return Ok(false);
        }
        Ok(disk
            .list(dir)?
            .iter()
            .any(|name| segment::parse_segment_name(name).is_some()))
    }

    /// Opens the WAL in `dir`, creating it if empty, recovering it otherwise
    /// (see `recovery.rs` for what is repaired and what is refused).
    pub fn open(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: WalOptions,
    ) -> WalResult<(Wal, Recovered)> {
        disk.create_dir_all(dir)?;
        let scanned = recovery::scan_dir(&disk, dir)?;
        let repaired_torn_tail = scanned.iter().any(|s| s.repaired);
        let mut wal = Wal {
            disk,
            dir: dir.to_path_buf(),
            options,
            segments: Vec::new(),
            write_offset: 0,
            buffered: Vec::new(),
            entries: Entries {
                snapshot: (0, 0),
                first: 1,
                slots: VecDeque::new(),
            },
            hard_state: HardState::default(),
            written_hard_state: HardState::default(),
            written_snapshot: (0, 0),
            fail_stopped: None,
            spares: Vec::new(),
            segments_recycled: 0,
        };
        wal.load_spares()?;
        for scan in scanned {
            let seq = scan.segment.header.seq;
            for found in scan.records {
                wal.replay(seq, found.offset, found.end - found.offset, found.record);
            }
            wal.write_offset = scan.end;
            wal.segments.push(scan.segment);
        }
        if wal.entries.first != wal.entries.snapshot.0 + 1 {
            let file = wal
                .segments
                .first()
                .map(|s| s.path.clone())
                .unwrap_or_default();
            return Err(WalError::Corrupt {
                file,
                offset: SEGMENT_HEADER_BYTES,
                detail: format!(
                    "entries {}..{} are missing (log starts at {})",
                    wal.entries.snapshot.0 + 1,
                    wal.entries.first,
                    wal.entries.first
                ),
            });
        }
        wal.written_hard_state = wal.hard_state;
        wal.written_snapshot = wal.entries.snapshot;
        if wal.segments.is_empty() {
            wal.roll_over(0, None)?;
        }
        let recovered = Recovered {
            hard_state: wal.hard_state,
            snapshot: wal.entries.snapshot,
            first_index: wal.first_index(),
            last_index: wal.last_index(),
            repaired_torn_tail,
        };
        Ok((wal, recovered))
    }

    /// Finds spare files left by earlier compactions; drops any beyond the
    /// configured number.
    fn load_spares(&mut self) -> WalResult<()> {
        for name in self.disk.list(&self.dir)? {
            if name.ends_with(".wal.spare") {
                let path = self.dir.join(name);
                if self.spares.len() < self.options.max_spare_segments {
                    self.spares.push(path);
                } else {
                    self.disk.remove_file(&path)?;
                }
            }
        }
        Ok(())
    }

    fn replay(&mut self, seq: u64, offset: u64, framed: u64, record: Record) {
        match record {
            Record::Entry(e) => self.entries.put(
                e.index,
                Slot {
                    term: e.term,
                    location: Location::OnDisk {
                        seq,
                        offset,
                        framed,
                    },
                },
            ),
            Record::HardState(hs) => self.hard_state = hs,
            Record::Snapshot { index, term } => self.entries.set_snapshot(index, term),
        }
    }

    fn check_running(&self) -> WalResult<()> {
        match &self.fail_stopped {
            Some(why) => Err(WalError::FailStopped(why.clone())),
            None => Ok(()),
        }
    }

    /// First entry index (snapshot index + 1).
    pub fn first_index(&self) -> u64 {
        self.entries.first
    }

    /// Segments made from recycled files since the WAL was opened.
    pub fn segments_recycled(&self) -> u64 {
        self.segments_recycled
    }

    /// Whether records wait for the next sync.
    pub fn has_unsynced(&self) -> bool {
        !self.buffered.is_empty()
    }

    /// Last entry index (the snapshot index when there are no entries).
    pub fn last_index(&self) -> u64 {
        self.entries.last_index()
    }

    /// Term of entry `index`, also for the snapshot index itself.
    pub fn term(&self, index: u64) -> Option<u64> {
        self.entries.term(index)
    }

    /// The snapshot marker `(index, term)`.
    pub fn snapshot(&self) -> (u64, u64) {
        self.entries.snapshot
    }

    /// The latest hard state (including one not yet synced).
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// Appends entries, which must be contiguous and start at most one past
    /// the last index and after the snapshot; entries from the first one's
    /// index on are replaced. Durable only after [`Wal::sync`].
    pub fn append_entries(&mut self, entries: &[WalEntry]) -> WalResult<()> {
        self.check_running()?;
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.entries.snapshot.0 || first.index > self.last_index() + 1 {
            return Err(WalError::Contract(format!(
                "append at {} to a log holding {}..={}",
                first.index,
                self.first_index(),
                self.last_index()
            )));
        }
        if entries.windows(2).any(|w| w[1].index != w[0].index + 1) {
            return Err(WalError::Contract(
                "appended entries are not contiguous".into(),
            ));
        }
        for entry in entries {
            self.entries.put(
                entry.index,
                Slot {
                    term: entry.term,
                    location: Location::Buffered(entry.payload.clone()),
                },
            );
            self.buffered.push(Record::Entry(entry.clone()));
        }
        Ok(())
    }

    /// Records the hard state. Durable only after [`Wal::sync`].
    pub fn set_hard_state(&mut self, hard_state: HardState) -> WalResult<()> {
        self.check_running()?;
        self.hard_state = hard_state;
        self.buffered.push(Record::HardState(hard_state));
        Ok(())
    }

    /// Records a snapshot at `(index, term)`: entries up to `index` are no
    /// longer needed; if the log has no entry `index` of `term`, every entry
    /// is dropped. An older marker than the current one is ignored.
    pub fn set_snapshot(&mut self, index: u64, term: u64) -> WalResult<()> {
        self.check_running()?;
        if index <= self.entries.snapshot.0 {
            return Ok(());
        }
        self.entries.set_snapshot(index, term);
        self.buffered.push(Record::Snapshot { index, term });
        Ok(())
    }

    /// Writes every buffered record and makes it durable: one write and one
    /// fdatasync per segment touched. A failed sync fail-stops the WAL.
    pub fn sync(&mut self) -> WalResult<()> {
        self.check_running()?;
        let result = self.write_buffered();
        if let Err(WalError::FailStopped(why)) = &result {
            self.fail_stopped = Some(why.clone());
        }
        result
    }

    fn write_buffered(&mut self) -> WalResult<()> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.buffered);
        let mut bytes = Vec::new();
        let mut batch_start = self.write_offset;
        let mut placed = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let need = framed_len(record.payload_len());
            let capacity = self.active().header.capacity;
            if batch_start + bytes.len() as u64 + need > capacity {
                if let Err(err) = self.flush(&mut bytes, batch_start) {
                    self.buffered = records[i..].to_vec();
                    return Err(err);
                }
                let next_entry = records[i..].iter().find_map(|r| match r {
                    Record::Entry(e) => Some(e.index),
                    _ => None,
                });
                if let Err(err) = self.roll_over(need, next_entry) {
                    self.buffered = records[i..].to_vec();
                    return Err(err);
                }
                batch_start = self.write_offset;
            }
            let seq = self.active().header.seq;
            let offset = batch_start + bytes.len() as u64;
            record.encode_into(&mut bytes, seq, offset, batch_start);
            match record {
                Record::Entry(e) => placed.push((e.index, e.term, seq, offset, need)),
                Record::HardState(hs) => self.written_hard_state = *hs,
                Record::Snapshot { index, term } => self.written_snapshot = (*index, *term),
            }
        }
        self.flush(&mut bytes, batch_start)?;
        // Newest first: of two records for one index, the later one counts.
        for (index, term, seq, offset, framed) in placed.into_iter().rev() {
            if let Some(slot) = index
                .checked_sub(self.entries.first)
                .and_then(|i| self.entries.slots.get_mut(i as usize))
            {
                if slot.term == term && matches!(slot.location, Location::Buffered(_)) {
                    slot.location = Location::OnDisk {
                        seq,
                        offset,
                        framed,
                    };
                }
            }
        }
        Ok(())
    }

    /// Writes `bytes` at `at` in the active segment, followed by a zero
    /// terminator when it fits (so whatever lies beyond, such as a recycled
    /// file's stale bytes, reads as the end of the log), and syncs.
    fn flush(&mut self, bytes: &mut Vec<u8>, at: u64) -> WalResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = at + bytes.len() as u64;
        let records = bytes.len();
        if end + TERMINATOR_BYTES as u64 <= self.active().header.capacity {
            bytes.extend_from_slice(&[0u8; TERMINATOR_BYTES]);
        }
        let file = &self.active().file;
        file.write_all_at(bytes, at)?;
        file.sync_data()?;
        self.write_offset = at + records as u64;
        bytes.clear();
        Ok(())
    }

    fn active(&self) -> &Segment {
        // `open` always leaves at least one segment.
        &self.segments[self.segments.len() - 1]
    }

    /// Starts a new segment able to hold a record of `need` bytes, beginning
    /// with the hard state and snapshot marker written so far; its name
    /// carries `first_entry` (or the next index, if no entry follows).
    fn roll_over(&mut self, need: u64, first_entry: Option<u64>) -> WalResult<()> {
        let prefix = [
            Record::HardState(self.written_hard_state),
            Record::Snapshot {
                index: self.written_snapshot.0,
                term: self.written_snapshot.1,
            },
        ];
        let prefix_bytes: u64 = prefix.iter().map(|r| framed_len(r.payload_len())).sum();
        let mut header = SegmentHeader {
            seq: self.segments.last().map_or(1, |s| s.header.seq + 1),
            first_index: first_entry.unwrap_or(self.last_index() + 1),
            capacity: self
                .options
                .segment_bytes
                .max(SEGMENT_HEADER_BYTES + prefix_bytes + need + TERMINATOR_BYTES as u64),
        };
        let (segment, offset) = match self.take_spare(header.capacity)? {
            Some((spare, size)) => {
                header.capacity = size;
                self.segments_recycled += 1;
                recycle_segment(self.disk.as_ref(), &self.dir, &spare, header, &prefix)?
            }
            None => create_segment(self.disk.as_ref(), &self.dir, header, &prefix)?,
        };
        self.segments.push(segment);
        self.write_offset = offset;
        Ok(())
    }

    /// A spare file of at least `capacity` bytes, with its size.
    fn take_spare(&mut self, capacity: u64) -> WalResult<Option<(PathBuf, u64)>> {
        while let Some(path) = self.spares.pop() {
            let size = self.disk.open(&path)?.len()?;
            if size >= capacity {
                return Ok(Some((path, size)));
            }
            self.disk.remove_file(&path)?;
        }
        Ok(None)
    }

    /// Entries `lo..hi`, stopping once `max_bytes` of payload is reached
    /// (always at least one entry). Reads check each record's checksum.
    pub fn entries(&self, lo: u64, hi: u64, max_bytes: Option<u64>) -> WalResult<Vec<WalEntry>> {
        if lo < self.first_index() || hi > self.last_index() + 1 || lo > hi {
            return Err(WalError::Contract(format!(
                "entries {lo}..{hi} outside {}..={}",
                self.first_index(),
                self.last_index()
            )));
        }
        let mut out = Vec::new();
        let mut total = 0u64;
        for index in lo..hi {
            let slot = self
                .entries
                .slot(index)
                .ok_or_else(|| WalError::Contract(format!("entry {index} missing")))?;
            let payload = self.read_payload(index, slot)?;
            total += payload.len() as u64;
            if !out.is_empty() && max_bytes.is_some_and(|max| total > max) {
                break;
            }
            out.push(WalEntry {
                index,
                term: slot.term,
                payload,
            });
        }
        Ok(out)
    }

    fn read_payload(&self, index: u64, slot: &Slot) -> WalResult<Bytes> {
        let (seq, offset, framed) = match &slot.location {
            Location::Buffered(payload) => return Ok(payload.clone()),
            Location::OnDisk {
                seq,
                offset,
                framed,
            } => (*seq, *offset, *framed),
        };
        let segment = self
            .segments
            .iter()
            .find(|s| s.header.seq == seq)
            .ok_or_else(|| WalError::Contract(format!("segment {seq} of entry {index} is gone")))?;
        let mut buf = vec![0u8; framed as usize];
        segment.file.read_exact_at(&mut buf, offset)?;
        match decode_read(&buf, seq, offset) {
            Ok(found) => match found.record {
                Record::Entry(e) if e.index == index && e.term == slot.term => Ok(e.payload),
                _ => Err(WalError::Corrupt {
                    file: segment.path.clone(),
                    offset,
                    detail: format!("record is not entry {index}"),
                }),
            },
            Err(invalid) => Err(WalError::Corrupt {
                file: segment.path.clone(),
                offset,
                detail: format!("entry {index} no longer reads back: {invalid:?}"),
            }),
        }
    }

    /// Drops entries up to `index` (which must be in the log) and deletes
    /// the segment files no live entry needs. The marker is made durable
    /// before any file is deleted.
    pub fn compact(&mut self, index: u64) -> WalResult<()> {
        self.check_running()?;
        if index <= self.entries.snapshot.0 {
            return Ok(());
        }
        let term = self
            .term(index)
            .ok_or_else(|| WalError::Contract(format!("compact to {index}: not in the log")))?;
        self.set_snapshot(index, term)?;
        self.sync()?;
        let active = self.active().header.seq;
        let oldest_needed = self
            .entries
            .slots
            .iter()
            .find_map(|s| match s.location {
                Location::OnDisk { seq, .. } => Some(seq),
                Location::Buffered(_) => None,
            })
            .unwrap_or(active)
            .min(active);
        let (gone, kept): (Vec<Segment>, Vec<Segment>) = std::mem::take(&mut self.segments)
            .into_iter()
            .partition(|s| s.header.seq < oldest_needed);
        self.segments = kept;
        for segment in gone {
            if self.spares.len() < self.options.max_spare_segments {
                let spare = self.dir.join(spare_name(segment.header.seq));
                self.disk.rename(&segment.path, &spare)?;
                self.spares.push(spare);
            } else {
                self.disk.remove_file(&segment.path)?;
            }
        }
        Ok(())
    }

    /// Paths of the segment files, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }
}

#[cfg(test)]
mod tests;
