//! Opening a WAL: scanning segments, telling a torn final write from
//! corruption, repairing the former and refusing the latter.
//!
//! Rules, at the first record that does not check out (offset X of segment S):
//! - an all-zero header with nothing valid after it: the normal end of data;
//! - S is the last segment and no valid record follows X: a torn write —
//!   keep a copy of S as `<name>.broken`, cut S at X (zeroing the rest), log
//!   one line, go on;
//! - S is the last segment and every valid record after X belongs to one
//!   write that started at or before X: that final write was torn with its
//!   pages persisted out of order (a real disk may do that) — cut at X too;
//! - anything else (valid records of an earlier write after X, or damage in
//!   a segment that is not the last): corruption. The WAL refuses to open
//!   with [`WalError::Corrupt`] naming the file and offset.
//!
//! Writes are only ever in flight at the end of the last segment: a segment
//! is synced before the next one is created, so damage anywhere else was on
//! durable, acknowledged data.

use super::error::{WalError, WalResult};
use super::record::{ALIGN, HEADER_BYTES, Invalid, Located, decode_at};
use super::segment::{SEGMENT_HEADER_BYTES, Segment, SegmentHeader, parse_segment_name};
use crate::storage::disk::{Disk, copy_file};
use std::path::Path;
use std::sync::Arc;

/// A segment whose records were read and checked.
#[derive(Debug)]
pub struct ScannedSegment {
    /// The segment.
    pub segment: Segment,
    /// Its valid records, in order.
    pub records: Vec<Located>,
    /// Offset just past the last valid record: where writing continues.
    pub end: u64,
    /// Whether a torn tail was cut off.
    pub repaired: bool,
}

/// Lists, opens, scans and (for a torn tail) repairs the segments in `dir`,
/// oldest first. Leftover `*.tmp` files from an interrupted segment creation
/// are removed.
pub fn scan_dir(disk: &Arc<dyn Disk>, dir: &Path) -> WalResult<Vec<ScannedSegment>> {
    let mut names = Vec::new();
    for name in disk.list(dir)? {
        if name.ends_with(".wal.tmp") {
            disk.remove_file(&dir.join(&name))?;
        } else if let Some((seq, first)) = parse_segment_name(&name) {
            names.push((seq, first, name));
        }
    }
    names.sort();
    let count = names.len();
    let mut scanned = Vec::with_capacity(count);
    for (i, (seq, first, name)) in names.into_iter().enumerate() {
        let path = dir.join(&name);
        let file = disk.open(&path)?;
        let bytes = file.map()?;
        let corrupt = |offset: u64, detail: String| WalError::Corrupt {
            file: path.clone(),
            offset,
            detail,
        };
        let header = SegmentHeader::decode(&bytes).map_err(|d| corrupt(0, d.to_string()))?;
        if header.seq != seq || header.first_index != first {
            return Err(corrupt(0, "header does not match the file name".into()));
        }
        // Segments are preallocated to their capacity before they are named,
        // so a header claiming more than the file holds is damage — and
        // trusting it would make a repair allocate that much.
        if header.capacity > bytes.len() as u64 {
            return Err(corrupt(
                0,
                format!(
                    "header claims a capacity of {} bytes, the file has {}",
                    header.capacity,
                    bytes.len()
                ),
            ));
        }
        let segment = Segment {
            header,
            path: path.clone(),
            file,
        };
        let last = i + 1 == count;
        let (records, end, verdict) = scan_records(&bytes, seq);
        let repaired = match verdict {
            Verdict::Clean => false,
            Verdict::Torn { .. } if last => {
                repair(disk, &segment, end)?;
                true
            }
            Verdict::Torn { detail } | Verdict::Corrupt { detail } => {
                return Err(corrupt(end, detail));
            }
        };
        scanned.push(ScannedSegment {
            segment,
            records,
            end,
            repaired,
        });
    }
    Ok(scanned)
}

enum Verdict {
    /// The data ends cleanly.
    Clean,
    /// The data ends in a torn write (repairable only in the last segment).
    Torn { detail: String },
    /// Damage with earlier, durable writes after it.
    Corrupt { detail: String },
}

/// The valid records of a segment, where they end, and how they end.
fn scan_records(bytes: &[u8], seq: u64) -> (Vec<Located>, u64, Verdict) {
    let mut records = Vec::new();
    let mut offset = SEGMENT_HEADER_BYTES;
    let problem = loop {
        match decode_at(bytes, seq, offset) {
            Ok(found) => {
                offset = found.end;
                records.push(found);
            }
            Err(invalid) => break invalid,
        }
    };
    let later = valid_records_after(bytes, seq, offset);
    let verdict = match (problem, later.first()) {
        (Invalid::Zeroes, None) => Verdict::Clean,
        // Too few bytes left for a record header: the segment is full. The
        // writer never starts a record there, so whatever those bytes hold
        // (zeros, or a recycled file's stale bytes when the last record left
        // no room for a terminator) is not data — the simulator found a
        // member refusing to start over 16 stale bytes.
        (Invalid::Short, None) if (bytes.len() as u64).saturating_sub(offset) < HEADER_BYTES => {
            Verdict::Clean
        }
        (problem, None) => Verdict::Torn {
            detail: format!("torn record ({problem:?})"),
        },
        (problem, Some(first_later)) => {
            let batch = first_later.batch_start;
            let one_write = later.iter().all(|r| r.batch_start == batch);
            if one_write && batch <= offset {
                Verdict::Torn {
                    detail: format!("hole in the final write ({problem:?})"),
                }
            } else {
                Verdict::Corrupt {
                    detail: format!(
                        "{problem:?} followed by a valid record at offset {}",
                        first_later.offset
                    ),
                }
            }
        }
    };
    (records, offset, verdict)
}

/// Every record that validates at an aligned offset after `from`.
fn valid_records_after(bytes: &[u8], seq: u64, from: u64) -> Vec<Located> {
    let mut found = Vec::new();
    let mut offset = from + ALIGN;
    let limit = (bytes.len() as u64).saturating_sub(HEADER_BYTES);
    while offset <= limit {
        match decode_at(bytes, seq, offset) {
            Ok(record) => {
                offset = record.end;
                found.push(record);
            }
            Err(_) => offset += ALIGN,
        }
    }
    found
}

/// Keeps a copy of a segment with a torn tail, then cuts it at `end` and
/// zeroes the rest of its preallocated space.
fn repair(disk: &Arc<dyn Disk>, segment: &Segment, end: u64) -> WalResult<()> {
    let mut broken = segment.path.clone().into_os_string();
    broken.push(".broken");
    copy_file(disk.as_ref(), &segment.path, Path::new(&broken))?;
    let file = &segment.file;
    file.set_len(end)?;
    file.allocate(segment.header.capacity)?;
    file.sync_data()?;
    tracing::warn!(
        file = %segment.path.display(),
        offset = end,
        "wal: cut off a torn write at the end of the log (copy kept as .broken)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::wal::record::{Record, WalEntry};
    use bytes::Bytes;

    /// A segment's bytes: room for the header, then `n` entries.
    fn segment_with_entries(seq: u64, n: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; SEGMENT_HEADER_BYTES as usize];
        for index in 1..=n {
            let offset = bytes.len() as u64;
            Record::Entry(WalEntry {
                index,
                term: 1,
                payload: Bytes::from(vec![7u8; 40]),
            })
            .encode_into(&mut bytes, seq, offset, offset);
        }
        bytes
    }

    #[test]
    fn stale_bytes_too_short_for_a_header_end_a_full_segment() {
        for tail in [0usize, 1, 8, 16, (HEADER_BYTES - 1) as usize] {
            let mut bytes = segment_with_entries(3, 4);
            bytes.extend(std::iter::repeat_n(0xAB, tail));
            let (records, _, verdict) = scan_records(&bytes, 3);
            assert_eq!(records.len(), 4, "tail of {tail}");
            assert!(matches!(verdict, Verdict::Clean), "tail of {tail}");
        }
    }

    #[test]
    fn garbage_with_room_for_a_header_is_still_a_torn_tail() {
        let mut bytes = segment_with_entries(3, 4);
        bytes.extend(std::iter::repeat_n(0xAB, HEADER_BYTES as usize));
        let (records, _, verdict) = scan_records(&bytes, 3);
        assert_eq!(records.len(), 4);
        assert!(matches!(verdict, Verdict::Torn { .. }));
    }
}
