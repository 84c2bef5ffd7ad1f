//! Encoding of one key version as stored in the revision-keyed `kv` tree.
//!
//! Layout (integers big-endian):
//! ```text
//! put:       0x01 | key_len u32 | key | create i64 | mod i64 | version i64 | lease i64 | value_len u32 | value
//! tombstone: 0x02 | key_len u32 | key | mod i64
//! ```
//! Decoding checks every length against the bytes present: a damaged record
//! is a [`RecordError`], never a panic or an oversized allocation.

use crate::api::KeyValue;
use bytes::{BufMut, Bytes, BytesMut};

const PUT: u8 = 1;
const TOMBSTONE: u8 = 2;

/// One stored change of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The key's value and metadata after a put.
    Put(KeyValue),
    /// The key was deleted at `mod_revision`.
    Tombstone {
        /// The deleted key.
        key: Bytes,
        /// The delete's revision.
        mod_revision: i64,
    },
}

/// A stored record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed kv record: {0}")]
pub struct RecordError(pub &'static str);

impl Record {
    /// The key this record changes.
    pub fn key(&self) -> &Bytes {
        match self {
            Record::Put(kv) => &kv.key,
            Record::Tombstone { key, .. } => key,
        }
    }

    /// Encodes the record.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            Record::Put(kv) => {
                buf.reserve(1 + 4 + kv.key.len() + 32 + 4 + kv.value.len());
                buf.put_u8(PUT);
                put_bytes(&mut buf, &kv.key);
                buf.put_i64(kv.create_revision);
                buf.put_i64(kv.mod_revision);
                buf.put_i64(kv.version);
                buf.put_i64(kv.lease);
                put_bytes(&mut buf, &kv.value);
            }
            Record::Tombstone { key, mod_revision } => {
                buf.put_u8(TOMBSTONE);
                put_bytes(&mut buf, key);
                buf.put_i64(*mod_revision);
            }
        }
        buf.freeze()
    }

    /// Decodes [`Record::encode`]; keys and values share `bytes`' buffer.
    pub fn decode(bytes: &Bytes) -> Result<Record, RecordError> {
        let mut r = Cursor { bytes, at: 0 };
        let record = match r.u8()? {
            PUT => {
                let key = r.bytes()?;
                let create_revision = r.i64()?;
                let mod_revision = r.i64()?;
                let version = r.i64()?;
                let lease = r.i64()?;
                let value = r.bytes()?;
                Record::Put(KeyValue {
                    key,
                    create_revision,
                    mod_revision,
                    version,
                    value,
                    lease,
                })
            }
            TOMBSTONE => {
                let key = r.bytes()?;
                let mod_revision = r.i64()?;
                Record::Tombstone { key, mod_revision }
            }
            _ => return Err(RecordError("unknown record kind")),
        };
        if r.at != bytes.len() {
            return Err(RecordError("trailing bytes"));
        }
        Ok(record)
    }
}

fn put_bytes(buf: &mut BytesMut, bytes: &[u8]) {
    // Keys and values are bounded by the request limit, far below 4 GiB.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.put_u32(len);
    buf.put_slice(bytes);
}

struct Cursor<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(RecordError("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        let raw: [u8; 8] = self
            .take(8)?
            .try_into()
            .map_err(|_| RecordError("truncated"))?;
        Ok(i64::from_be_bytes(raw))
    }

    fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let raw: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| RecordError("truncated"))?;
        let len = u32::from_be_bytes(raw) as usize;
        let start = self.at;
        self.take(len)?;
        Ok(self.bytes.slice(start..start + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        let bytes = prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from);
        prop_oneof![
            (bytes.clone(), bytes.clone(), any::<[i64; 4]>()).prop_map(|(key, value, n)| {
                Record::Put(KeyValue {
                    key,
                    value,
                    create_revision: n[0],
                    mod_revision: n[1],
                    version: n[2],
                    lease: n[3],
                })
            }),
            (bytes, any::<i64>())
                .prop_map(|(key, mod_revision)| Record::Tombstone { key, mod_revision }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(r in record()) {
            prop_assert_eq!(Record::decode(&r.encode()), Ok(r));
        }

        #[test]
        fn every_truncation_is_an_error(r in record()) {
            let full = r.encode();
            for cut in 0..full.len() {
                prop_assert!(Record::decode(&full.slice(..cut)).is_err());
            }
        }

        #[test]
        fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Record::decode(&Bytes::from(raw));
        }
    }

    #[test]
    fn a_huge_length_prefix_is_refused() {
        let mut raw = vec![PUT];
        raw.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Record::decode(&Bytes::from(raw)),
            Err(RecordError("truncated"))
        );
    }
}
