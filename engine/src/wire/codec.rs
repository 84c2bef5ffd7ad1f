//! Hand-written binary encoding: big-endian fixed-width integers, byte
//! strings and lists prefixed with a u32 length, enums as a tag byte.
//!
//! Decoding is bounds-checked everywhere and never allocates from a length
//! it has not checked against the bytes actually present.

use super::error::WireError;
use bytes::{BufMut, Bytes, BytesMut};

/// Something that can be written to the wire.
pub trait Encode {
    /// Appends the encoding to `buf`.
    fn encode(&self, buf: &mut BytesMut);

    /// The encoding as one buffer.
    fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }
}

/// Something that can be read from the wire.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(r: &mut Reader) -> Result<Self, WireError>;

    /// Decodes a whole body: trailing bytes are an error.
    fn from_bytes(bytes: &Bytes) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes.clone());
        let value = Self::decode(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// Deepest nesting of txns inside txns a decoder accepts.
pub const MAX_NESTING: usize = 16;

/// A cursor over received bytes.
#[derive(Debug)]
pub struct Reader {
    bytes: Bytes,
    at: usize,
    depth: usize,
}

impl Reader {
    /// Reads `bytes` from the start.
    pub fn new(bytes: Bytes) -> Self {
        Reader {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, WireError> {
        if n > self.remaining() {
            return Err(WireError::malformed(what, "truncated"));
        }
        let out = self.bytes.slice(self.at..self.at + n);
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let raw = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&raw);
        Ok(out)
    }

    /// A byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// An i64.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// A bool: exactly 0 or 1.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, WireError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(WireError::malformed(what, format!("bool byte {other}"))),
        }
    }

    /// Length-prefixed bytes, sharing the received buffer.
    pub fn bytes(&mut self, what: &'static str) -> Result<Bytes, WireError> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    /// A length-prefixed UTF-8 string.
    pub fn string(&mut self, what: &'static str) -> Result<String, WireError> {
        let raw = self.bytes(what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| WireError::malformed(what, "invalid utf-8"))
    }

    /// A list of `count` items, each at least `min_item_bytes` long: the
    /// count is checked against the bytes present before anything is
    /// allocated.
    pub fn list<T>(
        &mut self,
        what: &'static str,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Reader) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let count = self.u32(what)? as usize;
        if count > self.remaining() / min_item_bytes.max(1) {
            return Err(WireError::malformed(
                what,
                format!("{count} items in {} bytes", self.remaining()),
            ));
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// Strings in a list.
    pub fn strings(&mut self, what: &'static str) -> Result<Vec<String>, WireError> {
        self.list(what, 4, |r| r.string(what))
    }

    /// Enters a nested structure; fails past [`MAX_NESTING`] levels.
    pub fn nest(&mut self, what: &'static str) -> Result<(), WireError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(WireError::malformed(what, "nested too deeply"));
        }
        Ok(())
    }

    /// Leaves a nested structure.
    pub fn unnest(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Succeeds only if every byte was read.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(WireError::malformed(
                "body",
                format!("{} trailing bytes", self.remaining()),
            ))
        }
    }
}

/// Writes length-prefixed bytes.
pub fn put_bytes(buf: &mut BytesMut, bytes: &[u8]) {
    // Frames are bounded far below 4 GiB; saturating keeps this total.
    buf.put_u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    buf.put_slice(bytes);
}

/// Writes a list's count.
pub fn put_count(buf: &mut BytesMut, count: usize) {
    buf.put_u32(u32::try_from(count).unwrap_or(u32::MAX));
}

/// Writes a list of strings.
pub fn put_strings(buf: &mut BytesMut, strings: &[String]) {
    put_count(buf, strings.len());
    for s in strings {
        put_bytes(buf, s.as_bytes());
    }
}

/// Writes a bool.
pub fn put_bool(buf: &mut BytesMut, value: bool) {
    buf.put_u8(u8::from(value));
}
