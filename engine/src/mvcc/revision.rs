//! Revisions: the global logical clock of the key-value store.

use std::fmt;

/// A point in the store's history. Every write request gets a new `main`
/// revision; the operations inside one txn share it and are told apart by
/// `sub` (0, 1, 2, ...). Orders by `main`, then `sub`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    /// The store revision of the write request.
    pub main: i64,
    /// The operation's position inside its request.
    pub sub: i64,
}

/// Bytes of an encoded [`Revision`].
pub const REVISION_BYTES: usize = 16;

impl Revision {
    /// A revision.
    pub const fn new(main: i64, sub: i64) -> Self {
        Revision { main, sub }
    }

    /// Big-endian encoding whose byte order equals the revision order (for
    /// non-negative revisions, the only ones the store makes).
    pub fn to_bytes(self) -> [u8; REVISION_BYTES] {
        let mut out = [0u8; REVISION_BYTES];
        out[..8].copy_from_slice(&self.main.to_be_bytes());
        out[8..].copy_from_slice(&self.sub.to_be_bytes());
        out
    }

    /// Decodes [`Revision::to_bytes`]; `None` if the length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let main: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let sub: [u8; 8] = bytes.get(8..REVISION_BYTES)?.try_into().ok()?;
        (bytes.len() == REVISION_BYTES).then(|| Revision {
            main: i64::from_be_bytes(main),
            sub: i64::from_be_bytes(sub),
        })
    }

    /// The first revision of `main` (its sub 0): the lower bound of a scan
    /// for everything at or after `main`.
    pub const fn start_of(main: i64) -> Self {
        Revision { main, sub: 0 }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.main, self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn byte_order_is_revision_order(a in 0i64.., b in 0i64.., c in 0i64.., d in 0i64..) {
            let (x, y) = (Revision::new(a, b), Revision::new(c, d));
            prop_assert_eq!(x.cmp(&y), x.to_bytes().cmp(&y.to_bytes()));
            prop_assert_eq!(Revision::from_bytes(&x.to_bytes()), Some(x));
        }
    }

    #[test]
    fn wrong_lengths_do_not_decode() {
        assert_eq!(Revision::from_bytes(&[0u8; 15]), None);
        assert_eq!(Revision::from_bytes(&[0u8; 17]), None);
    }
}
