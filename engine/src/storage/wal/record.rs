//! Record framing inside a segment.
//!
//! ```text
//! record header (24 bytes, little-endian):
//!   crc32       u32   over: segment seq u64, record offset u64, len, kind, batch_start, payload
//!   len         u32   payload bytes
//!   kind        u8    1 entry, 2 hard state, 3 snapshot marker (0 never valid: zeroed space)
//!   reserved    [u8; 3]  zero
//!   seq         u32   low 32 bits of the segment's sequence number
//!   batch_start u64   offset of the first record of the write this record was part of
//! payload, then zero padding to a multiple of 8 bytes
//!
//! payloads (little-endian):
//!   entry:      index u64 | term u64 | data
//!   hard state: term u64 | vote u64 | commit u64
//!   snapshot:   index u64 | term u64
//! ```
//!
//! The crc covers the segment's sequence number and the record's own offset,
//! and the header names the sequence number, so bytes left by another
//! segment (a recycled file), or a record copied to another place, never
//! validate. Records are 8-byte aligned so a scan for valid records
//! after damage only tries aligned offsets.

use bytes::Bytes;

/// Bytes of a record header.
pub const HEADER_BYTES: u64 = 24;
/// Record alignment.
pub const ALIGN: u64 = 8;

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;

/// raft's durable vote state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HardState {
    /// Current term.
    pub term: u64,
    /// Member voted for in `term` (0: none).
    pub vote: u64,
    /// Highest index known committed.
    pub commit: u64,
}

/// One raft log entry as the WAL stores it; `payload` is opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalEntry {
    /// Raft index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
    /// The rest of the entry, encoded by the raft layer.
    pub payload: Bytes,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A log entry.
    Entry(WalEntry),
    /// The hard state from here on.
    HardState(HardState),
    /// Entries up to `index` are covered by a snapshot; `term` is its term.
    Snapshot {
        /// Last index the snapshot covers.
        index: u64,
        /// Its term.
        term: u64,
    },
}

/// Bytes a record with `payload_len` payload bytes occupies.
pub fn framed_len(payload_len: usize) -> u64 {
    (HEADER_BYTES + payload_len as u64).div_ceil(ALIGN) * ALIGN
}

fn crc(seq: u64, offset: u64, len: u32, kind: u8, batch_start: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&offset.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(&[kind]);
    h.update(&batch_start.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl Record {
    fn kind(&self) -> u8 {
        match self {
            Record::Entry(_) => KIND_ENTRY,
            Record::HardState(_) => KIND_HARD_STATE,
            Record::Snapshot { .. } => KIND_SNAPSHOT,
        }
    }

    /// Appends the payload to `out`.
    fn put_payload(&self, out: &mut Vec<u8>) {
        match self {
            Record::Entry(e) => {
                out.extend_from_slice(&e.index.to_le_bytes());
                out.extend_from_slice(&e.term.to_le_bytes());
                out.extend_from_slice(&e.payload);
            }
            Record::HardState(hs) => {
                out.extend_from_slice(&hs.term.to_le_bytes());
                out.extend_from_slice(&hs.vote.to_le_bytes());
                out.extend_from_slice(&hs.commit.to_le_bytes());
            }
            Record::Snapshot { index, term } => {
                out.extend_from_slice(&index.to_le_bytes());
                out.extend_from_slice(&term.to_le_bytes());
            }
        }
    }

    /// Appends the framed record to `out`, for offset `offset` of segment
    /// `seq`, as part of the write that starts at `batch_start`. The payload
    /// is written in place and the header filled in after.
    pub fn encode_into(&self, out: &mut Vec<u8>, seq: u64, offset: u64, batch_start: u64) {
        let start = out.len();
        let header = HEADER_BYTES as usize;
        out.resize(start + header, 0);
        self.put_payload(out);
        let payload_len = out.len() - start - header;
        let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
        let kind = self.kind();
        let checksum = crc(seq, offset, len, kind, batch_start, &out[start + header..]);
        let head = &mut out[start..start + header];
        head[0..4].copy_from_slice(&checksum.to_le_bytes());
        head[4..8].copy_from_slice(&len.to_le_bytes());
        head[8] = kind;
        head[12..16].copy_from_slice(&(seq as u32).to_le_bytes());
        head[16..24].copy_from_slice(&batch_start.to_le_bytes());
        out.resize(start + framed_len(payload_len) as usize, 0);
    }

    /// Payload bytes of this record.
    pub fn payload_len(&self) -> usize {
        match self {
            Record::Entry(e) => 16 + e.payload.len(),
            Record::HardState(_) => 24,
            Record::Snapshot { .. } => 16,
        }
    }
}

/// A record found at an offset of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The record.
    pub record: Record,
    /// Where its header starts.
    pub offset: u64,
    /// Offset just past it (padding included).
    pub end: u64,
    /// Where the write it belonged to started.
    pub batch_start: u64,
}

/// Why the bytes at an offset are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// All-zero header: preallocated space, the normal end of the data.
    Zeroes,
    /// Not enough bytes left for the header or the payload.
    Short,
    /// The header or payload does not check out.
    Bad(&'static str),
}

/// Decodes the record at `offset` of `bytes` (a segment of sequence `seq`).
/// Never allocates from an unchecked length: a length running past the
/// segment is `Short`.
pub fn decode_at(bytes: &[u8], seq: u64, offset: u64) -> Result<Located, Invalid> {
    let at = usize::try_from(offset).map_err(|_| Invalid::Short)?;
    decode(bytes, at, seq, offset)
}

/// Decodes a record read on its own: `bytes` starts at file offset `offset`.
pub fn decode_read(bytes: &[u8], seq: u64, offset: u64) -> Result<Located, Invalid> {
    decode(bytes, 0, seq, offset)
}

/// Decodes the record at `bytes[at..]`, which lies at file offset `offset`.
fn decode(bytes: &[u8], at: usize, seq: u64, offset: u64) -> Result<Located, Invalid> {
    let header = bytes
        .get(at..at + HEADER_BYTES as usize)
        .ok_or(Invalid::Short)?;
    if header.iter().all(|&b| b == 0) {
        return Err(Invalid::Zeroes);
    }
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let stored_crc = word(0);
    let len = word(4);
    let kind = header[8];
    if header[9..12].iter().any(|&b| b != 0) {
        return Err(Invalid::Bad("reserved header bytes are not zero"));
    }
    if word(12) != seq as u32 {
        return Err(Invalid::Bad("record of another segment"));
    }
    let mut raw_batch = [0u8; 8];
    raw_batch.copy_from_slice(&header[16..24]);
    let batch_start = u64::from_le_bytes(raw_batch);
    if !(KIND_ENTRY..=KIND_SNAPSHOT).contains(&kind) {
        return Err(Invalid::Bad("unknown record kind"));
    }
    if batch_start > offset {
        return Err(Invalid::Bad("batch starts after the record"));
    }
    let payload_start = at + HEADER_BYTES as usize;
    let payload = payload_start
        .checked_add(len as usize)
        .and_then(|end| bytes.get(payload_start..end))
        .ok_or(Invalid::Short)?;
    if crc(seq, offset, len, kind, batch_start, payload) != stored_crc {
        return Err(Invalid::Bad("checksum mismatch"));
    }
    let u64_at = |i: usize| -> Result<u64, Invalid> {
        let raw: [u8; 8] = payload
            .get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or(Invalid::Bad("payload too short for its kind"))?;
        Ok(u64::from_le_bytes(raw))
    };
    let record = match kind {
        KIND_ENTRY => Record::Entry(WalEntry {
            index: u64_at(0)?,
            term: u64_at(8)?,
            payload: Bytes::copy_from_slice(payload.get(16..).unwrap_or_default()),
        }),
        KIND_HARD_STATE if payload.len() == 24 => Record::HardState(HardState {
            term: u64_at(0)?,
            vote: u64_at(8)?,
            commit: u64_at(16)?,
        }),
        KIND_SNAPSHOT if payload.len() == 16 => Record::Snapshot {
            index: u64_at(0)?,
            term: u64_at(8)?,
        },
        _ => return Err(Invalid::Bad("payload length does not fit its kind")),
    };
    Ok(Located {
        record,
        offset,
        end: offset + framed_len(len as usize),
        batch_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(index: u64, data: &[u8]) -> Record {
        Record::Entry(WalEntry {
            index,
            term: 3,
            payload: Bytes::copy_from_slice(data),
        })
    }

    #[test]
    fn records_round_trip_at_their_offset() {
        let mut buf = vec![0u8; 64];
        let rec = entry(5, b"hello");
        rec.encode_into(&mut buf, 9, 64, 64);
        let hs = Record::HardState(HardState {
            term: 1,
            vote: 2,
            commit: 3,
        });
        let next = buf.len() as u64;
        hs.encode_into(&mut buf, 9, next, 64);
        let first = decode_at(&buf, 9, 64).unwrap();
        assert_eq!((first.record, first.end), (rec, next));
        assert_eq!(decode_at(&buf, 9, next).unwrap().record, hs);
        assert_eq!(buf.len() % 8, 0);
    }

    #[test]
    fn a_record_elsewhere_or_in_another_segment_does_not_validate() {
        let mut buf = Vec::new();
        entry(1, b"x").encode_into(&mut buf, 4, 0, 0);
        assert!(decode_at(&buf, 4, 0).is_ok());
        assert_eq!(
            decode_at(&buf, 5, 0),
            Err(Invalid::Bad("record of another segment"))
        );
        // Same low 32 bits of the sequence, different segment: the crc
        // (over all 64 bits) still tells them apart.
        assert_eq!(
            decode_at(&buf, 4 + (1 << 32), 0),
            Err(Invalid::Bad("checksum mismatch"))
        );
        let mut shifted = vec![0u8; 8];
        shifted.extend_from_slice(&buf);
        assert!(matches!(decode_at(&shifted, 4, 8), Err(Invalid::Bad(_))));
    }

    #[test]
    fn zeroes_and_short_bytes_are_told_apart() {
        assert_eq!(decode_at(&[0u8; 64], 1, 0), Err(Invalid::Zeroes));
        assert_eq!(decode_at(&[0u8; 10], 1, 0), Err(Invalid::Short));
        let mut buf = Vec::new();
        entry(1, &[7u8; 100]).encode_into(&mut buf, 1, 0, 0);
        assert_eq!(decode_at(&buf[..60], 1, 0), Err(Invalid::Short));
        let mut huge = buf.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_at(&huge, 1, 0), Err(Invalid::Short));
    }

    proptest! {
        #[test]
        fn every_flipped_bit_is_detected(data in prop::collection::vec(any::<u8>(), 0..64), bit in 0usize..1000) {
            let mut buf = Vec::new();
            entry(42, &data).encode_into(&mut buf, 3, 0, 0);
            let used = HEADER_BYTES as usize + 16 + data.len();
            let bit = bit % (used * 8);
            buf[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode_at(&buf, 3, 0).is_err());
        }

        #[test]
        fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..128), offset in 0u64..128) {
            let _ = decode_at(&raw, 1, offset);
        }
    }
}
