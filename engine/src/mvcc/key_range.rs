//! etcd's rules for what a `(key, range_end)` pair selects.

use bytes::Bytes;
use std::ops::Bound;

/// The set of keys a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRange {
    /// Exactly one key (`range_end` empty).
    Single(Bytes),
    /// Keys in `[start, end)`; empty when `end <= start`.
    Span {
        /// First key, inclusive.
        start: Bytes,
        /// Last key, exclusive.
        end: Bytes,
    },
    /// Every key `>= start` (`range_end` is `"\0"`).
    From(Bytes),
}

impl KeyRange {
    /// Interprets a request's `key` and `range_end` as etcd does: an empty
    /// `range_end` names the single key; `"\0"` names every key from `key` on
    /// (so `key = "\0", range_end = "\0"` is every key); anything else is the
    /// half-open span `[key, range_end)`.
    pub fn new(key: &Bytes, range_end: &Bytes) -> Self {
        if range_end.is_empty() {
            KeyRange::Single(key.clone())
        } else if range_end.as_ref() == [0] {
            KeyRange::From(key.clone())
        } else {
            KeyRange::Span {
                start: key.clone(),
                end: range_end.clone(),
            }
        }
    }

    /// The `range_end` that selects every key starting with `prefix`
    /// (etcd's `GetPrefixRangeEnd`): the prefix with its last non-0xff byte
    /// incremented and what follows dropped; `"\0"` if there is none.
    pub fn prefix_end(prefix: &[u8]) -> Bytes {
        let mut end = prefix.to_vec();
        while let Some(last) = end.pop() {
            if last < 0xff {
                end.push(last + 1);
                return Bytes::from(end);
            }
        }
        Bytes::from_static(&[0])
    }

    /// Whether `key` is selected.
    pub fn contains(&self, key: &[u8]) -> bool {
        match self {
            KeyRange::Single(k) => k.as_ref() == key,
            KeyRange::Span { start, end } => start.as_ref() <= key && key < end.as_ref(),
            KeyRange::From(start) => start.as_ref() <= key,
        }
    }

    /// The bounds to scan an ordered map with.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        match self {
            KeyRange::Single(k) => (Bound::Included(k.as_ref()), Bound::Included(k.as_ref())),
            KeyRange::Span { start, end } if end.as_ref() <= start.as_ref() => {
                // Empty: a bound pair that selects nothing but is valid.
                (
                    Bound::Included(start.as_ref()),
                    Bound::Excluded(start.as_ref()),
                )
            }
            KeyRange::Span { start, end } => (
                Bound::Included(start.as_ref()),
                Bound::Excluded(end.as_ref()),
            ),
            KeyRange::From(start) => (Bound::Included(start.as_ref()), Bound::Unbounded),
        }
    }

    /// Whether the range selects no key at all.
    pub fn is_empty(&self) -> bool {
        matches!(self, KeyRange::Span { start, end } if end.as_ref() <= start.as_ref())
    }

    /// Whether two ranges share a key (used to refuse txns that write a key twice).
    pub fn overlaps(&self, other: &KeyRange) -> bool {
        if self.is_empty() || other.is_empty() {
            return false;
        }
        let (a_lo, a_hi) = self.bounds();
        let (b_lo, b_hi) = other.bounds();
        below_upper(a_lo, b_hi) && below_upper(b_lo, a_hi)
    }
}

/// Whether a range starting at `lo` has any key under the upper bound `hi`.
fn below_upper(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    let Bound::Included(lo) = lo else {
        return true;
    };
    match hi {
        Bound::Included(hi) => lo <= hi,
        Bound::Excluded(hi) => lo < hi,
        Bound::Unbounded => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn etcd_range_end_rules() {
        assert_eq!(KeyRange::new(&b(b"a"), &b(b"")), KeyRange::Single(b(b"a")));
        assert_eq!(KeyRange::new(&b(b"a"), &b(b"\0")), KeyRange::From(b(b"a")));
        let all = KeyRange::new(&b(b"\0"), &b(b"\0"));
        assert!(all.contains(b"\0") && all.contains(b"zzz") && all.contains(b"\x01"));
        let span = KeyRange::new(&b(b"b"), &b(b"d"));
        assert!(!span.contains(b"a") && span.contains(b"b") && span.contains(b"cz"));
        assert!(!span.contains(b"d"));
        let backwards = KeyRange::new(&b(b"d"), &b(b"b"));
        assert!(!backwards.contains(b"c") && !backwards.contains(b"d"));
    }

    #[test]
    fn prefix_end_matches_etcd() {
        assert_eq!(KeyRange::prefix_end(b"abc"), b(b"abd"));
        assert_eq!(KeyRange::prefix_end(b"a\xff"), b(b"b"));
        assert_eq!(KeyRange::prefix_end(b"\xff\xff"), b(b"\0"));
        assert_eq!(KeyRange::prefix_end(b""), b(b"\0"));
    }

    fn any_range() -> impl Strategy<Value = KeyRange> {
        let key = prop::collection::vec(0u8..4, 0..3).prop_map(Bytes::from);
        prop_oneof![
            key.clone().prop_map(KeyRange::Single),
            (key.clone(), key.clone()).prop_map(|(start, end)| KeyRange::Span { start, end }),
            key.prop_map(KeyRange::From),
        ]
    }

    proptest! {
        #[test]
        fn prefix_range_selects_exactly_the_prefixed_keys(
            prefix in prop::collection::vec(prop_oneof![Just(0u8), Just(0xfe), Just(0xff)], 1..3),
            key in prop::collection::vec(prop_oneof![Just(0u8), Just(0xfe), Just(0xff)], 0..4),
        ) {
            let range = KeyRange::new(&Bytes::from(prefix.clone()), &KeyRange::prefix_end(&prefix));
            prop_assert_eq!(range.contains(&key), key.starts_with(&prefix));
        }

        #[test]
        fn overlap_means_a_shared_key(a in any_range(), b in any_range()) {
            // Brute force over a small key universe covering every bound.
            let mut universe: Vec<Vec<u8>> = vec![vec![]];
            for len in 1..=3 {
                for n in 0..4u32.pow(len) {
                    universe.push((0..len).map(|i| ((n / 4u32.pow(i)) % 4) as u8).collect());
                }
            }
            let shared = universe.iter().any(|k| a.contains(k) && b.contains(k));
            // From-ranges reach beyond the universe; both unbounded always meet.
            let both_open = matches!((&a, &b), (KeyRange::From(_), KeyRange::From(_)));
            prop_assert_eq!(a.overlaps(&b), shared || both_open);
        }
    }
}
