//! Segment files: fixed-size, preallocated, named so they sort by sequence.
//!
//! ```text
//! name:   {seq:016x}-{first_index:016x}.wal
//! header (64 bytes, little-endian, at offset 0):
//!   magic "KEELWAL\0" | version u32 | reserved u32 | seq u64 | first_index u64
//!   | capacity u64 | reserved [u8; 20] | crc32 u32 over bytes 0..60
//! records from offset 64 (see record.rs)
//! ```
//!
//! A segment is created as `<name>.tmp` holding its header and its prefix
//! records (the current hard state and snapshot marker, so deleting older
//! segments never loses them), preallocated, synced, then renamed into
//! place: a segment either exists whole or not at all.
//!
//! A compacted segment is kept as a spare (`spare-<seq>.wal.spare`) and
//! recycled as a later segment: its blocks are already written, so syncs
//! into it do not pay the file system's extent conversion that freshly
//! allocated space costs (about 2x per fdatasync, measured here). Its stale
//! records never validate: each record names its segment's sequence number.

use super::error::{WalError, WalResult};
use super::record::Record;
use crate::storage::disk::{Disk, DiskErrorKind, DiskFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of the segment header; records start here.
pub const SEGMENT_HEADER_BYTES: u64 = 64;
const MAGIC: &[u8; 8] = b"KEELWAL\0";
const VERSION: u32 = 1;

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Sequence number, unique and increasing; salts every record's crc.
    pub seq: u64,
    /// Index of the first entry written after the segment's prefix.
    pub first_index: u64,
    /// Preallocated size of the file.
    pub capacity: u64,
}

impl SegmentHeader {
    /// The 64 header bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES as usize] {
        let mut out = [0u8; SEGMENT_HEADER_BYTES as usize];
        out[0..8].copy_from_slice(MAGIC);
        out[8..12].copy_from_slice(&VERSION.to_le_bytes());
        out[16..24].copy_from_slice(&self.seq.to_le_bytes());
        out[24..32].copy_from_slice(&self.first_index.to_le_bytes());
        out[32..40].copy_from_slice(&self.capacity.to_le_bytes());
        let crc = crc32fast::hash(&out[..60]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a header.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, &'static str> {
        let header = bytes
            .get(..SEGMENT_HEADER_BYTES as usize)
            .ok_or("file shorter than a segment header")?;
        if &header[0..8] != MAGIC {
            return Err("not a keel wal segment (bad magic)");
        }
        let crc = u32::from_le_bytes([header[60], header[61], header[62], header[63]]);
        if crc32fast::hash(&header[..60]) != crc {
            return Err("segment header checksum mismatch");
        }
        let u64_at = |i: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&header[i..i + 8]);
            u64::from_le_bytes(raw)
        };
        if u32::from_le_bytes([header[8], header[9], header[10], header[11]]) != VERSION {
            return Err("unsupported wal format version");
        }
        Ok(SegmentHeader {
            seq: u64_at(16),
            first_index: u64_at(24),
            capacity: u64_at(32),
        })
    }
}

/// The file name of segment `seq` starting at `first_index`.
pub fn segment_name(seq: u64, first_index: u64) -> String {
    format!("{seq:016x}-{first_index:016x}.wal")
}

/// `(seq, first_index)` from a segment file name.
pub fn parse_segment_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".wal")?;
    let (seq, first) = stem.split_once('-')?;
    if seq.len() != 16 || first.len() != 16 {
        return None;
    }
    Some((
        u64::from_str_radix(seq, 16).ok()?,
        u64::from_str_radix(first, 16).ok()?,
    ))
}

/// An open segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Its header.
    pub header: SegmentHeader,
    /// Its path.
    pub path: PathBuf,
    /// Its file.
    pub file: Arc<dyn DiskFile>,
}

/// The bytes that open a segment: its header, its prefix records and a
/// zero terminator (so stale bytes of a recycled file read as the end).
fn opening_bytes(header: &SegmentHeader, prefix: &[Record]) -> (Vec<u8>, u64) {
    let mut bytes = header.encode().to_vec();
    for record in prefix {
        let offset = bytes.len() as u64;
        record.encode_into(&mut bytes, header.seq, offset, SEGMENT_HEADER_BYTES);
    }
    let write_offset = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; TERMINATOR_BYTES]);
    (bytes, write_offset)
}

/// Zero bytes written after the last record of every write.
pub const TERMINATOR_BYTES: usize = super::record::HEADER_BYTES as usize;

/// Turns the spare file `spare` into segment `header.seq`: writes its
/// opening bytes, syncs, renames. `header.capacity` must be the spare's size.
pub fn recycle_segment(
    disk: &dyn Disk,
    dir: &Path,
    spare: &Path,
    header: SegmentHeader,
    prefix: &[Record],
) -> WalResult<(Segment, u64)> {
    let file = disk.open(spare)?;
    let (bytes, write_offset) = opening_bytes(&header, prefix);
    file.write_all_at(&bytes, 0)?;
    file.sync_data()?;
    let path = dir.join(segment_name(header.seq, header.first_index));
    disk.rename(spare, &path)?;
    Ok((Segment { header, path, file }, write_offset))
}

/// The file name a retired segment waits under to be recycled.
pub fn spare_name(seq: u64) -> String {
    format!("spare-{seq:016x}.wal.spare")
}

/// Creates segment `header.seq` in `dir` holding `prefix`; returns it and
/// the offset where the next record goes. On a full disk nothing is left
/// behind and the error is `NoSpace`.
pub fn create_segment(
    disk: &dyn Disk,
    dir: &Path,
    header: SegmentHeader,
    prefix: &[Record],
) -> WalResult<(Segment, u64)> {
    let name = segment_name(header.seq, header.first_index);
    let path = dir.join(&name);
    let temporary = dir.join(format!("{name}.tmp"));
    if disk.exists(&temporary)? {
        disk.remove_file(&temporary)?;
    }
    let file = disk.create(&temporary)?;
    let (bytes, write_offset) = opening_bytes(&header, prefix);
    let built = file
        .allocate(header.capacity.max(write_offset))
        .and_then(|()| file.write_all_at(&bytes, 0))
        .and_then(|()| file.sync_data());
    if let Err(err) = built {
        if err.kind != DiskErrorKind::SyncFailed {
            let _ = disk.remove_file(&temporary);
        }
        return Err(WalError::from(err));
    }
    disk.rename(&temporary, &path)?;
    Ok((Segment { header, path, file }, write_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_sequence_and_parse_back() {
        let a = segment_name(2, 100);
        let b = segment_name(10, 5);
        assert!(a < b);
        assert_eq!(parse_segment_name(&b), Some((10, 5)));
        assert_eq!(
            parse_segment_name("0000000000000001-0000000000000001.wal.tmp"),
            None
        );
        assert_eq!(parse_segment_name("junk.wal"), None);
    }

    #[test]
    fn headers_round_trip_and_damage_is_named() {
        let h = SegmentHeader {
            seq: 3,
            first_index: 77,
            capacity: 1 << 20,
        };
        let mut bytes = h.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        bytes[30] ^= 1;
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err("segment header checksum mismatch")
        );
        assert!(SegmentHeader::decode(&bytes[..10]).is_err());
        assert_eq!(
            SegmentHeader::decode(&[0u8; 64]),
            Err("not a keel wal segment (bad magic)")
        );
    }
}
