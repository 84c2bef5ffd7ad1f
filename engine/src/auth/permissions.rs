//! A user's permissions merged over all its roles: which keys it may read,
//! which it may write, as sorted, disjoint key intervals.
//!
//! etcd's rule: a request on one key is allowed when some permission covers
//! that key; a request on a range `[key, range_end)` only when the union of
//! the permissions covers the whole range (two adjacent permissions together
//! cover the range they span).

use crate::api::Permission;
use bytes::Bytes;
use std::cmp::Ordering;

/// The end of an interval: a key (exclusive) or past every key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Key(Bytes),
    Infinite,
}

impl End {
    /// etcd's encoding: `\0` is "no end".
    fn of_range_end(range_end: &[u8]) -> End {
        if range_end == [0] {
            End::Infinite
        } else {
            End::Key(Bytes::copy_from_slice(range_end))
        }
    }

    fn cmp_key(&self, key: &[u8]) -> Ordering {
        match self {
            End::Key(end) => end.as_ref().cmp(key),
            End::Infinite => Ordering::Greater,
        }
    }
}

impl PartialOrd for End {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for End {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (End::Infinite, End::Infinite) => Ordering::Equal,
            (End::Infinite, End::Key(_)) => Ordering::Greater,
            (End::Key(_), End::Infinite) => Ordering::Less,
            (End::Key(a), End::Key(b)) => a.cmp(b),
        }
    }
}

/// The end of the one-key interval `[key, key\0)`.
fn point_end(key: &[u8]) -> End {
    let mut end = Vec::with_capacity(key.len() + 1);
    end.extend_from_slice(key);
    end.push(0);
    End::Key(Bytes::from(end))
}

/// A set of keys: sorted, disjoint, non-adjacent intervals `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    intervals: Vec<(Bytes, End)>,
}

impl KeySet {
    /// The union of `intervals` (`(key, range_end)` in etcd's encoding:
    /// empty `range_end` is one key). Empty intervals (end not after start)
    /// hold nothing.
    fn union<'a>(intervals: impl Iterator<Item = (&'a Bytes, &'a Bytes)>) -> KeySet {
        let mut all: Vec<(Bytes, End)> = intervals
            .map(|(key, range_end)| {
                let end = if range_end.is_empty() {
                    point_end(key)
                } else {
                    End::of_range_end(range_end)
                };
                (key.clone(), end)
            })
            .filter(|(start, end)| end.cmp_key(start) == Ordering::Greater)
            .collect();
        all.sort();
        let mut merged: Vec<(Bytes, End)> = Vec::with_capacity(all.len());
        for (start, end) in all {
            match merged.last_mut() {
                // Overlapping or adjacent: one interval.
                Some((_, last_end)) if last_end.cmp_key(&start) != Ordering::Less => {
                    if end > *last_end {
                        *last_end = end;
                    }
                }
                _ => merged.push((start, end)),
            }
        }
        KeySet { intervals: merged }
    }

    /// The interval holding `key`, if any.
    fn holding(&self, key: &[u8]) -> Option<&(Bytes, End)> {
        // The last interval starting at or before `key`.
        let after = self
            .intervals
            .partition_point(|(start, _)| start.as_ref() <= key);
        let candidate = self.intervals.get(after.checked_sub(1)?)?;
        (candidate.1.cmp_key(key) == Ordering::Greater).then_some(candidate)
    }

    /// Whether the set holds every key of a request's range: one key when
    /// `range_end` is empty, every key from `key` on when it is `\0`, else
    /// `[key, range_end)`. A range with nothing in it (end not after key)
    /// is held when its start key is.
    pub fn covers(&self, key: &[u8], range_end: &[u8]) -> bool {
        let Some((_, end)) = self.holding(key) else {
            return false;
        };
        if range_end.is_empty() {
            return true;
        }
        let wanted = End::of_range_end(range_end);
        *end >= wanted || wanted.cmp_key(key) != Ordering::Greater
    }
}

/// What one user may read and write, all its roles together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPermissions {
    /// Keys the user may read.
    pub read: KeySet,
    /// Keys the user may write.
    pub write: KeySet,
}

impl UserPermissions {
    /// Merges the permissions of every role a user has.
    pub fn merge<'a>(perms: impl Iterator<Item = &'a Permission> + Clone) -> UserPermissions {
        let pairs = |want: fn(&Permission) -> bool| {
            perms
                .clone()
                .filter(move |p| want(p))
                .map(|p| (&p.key, &p.range_end))
        };
        UserPermissions {
            read: KeySet::union(pairs(|p| p.perm_type.reads())),
            write: KeySet::union(pairs(|p| p.perm_type.writes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PermissionType;
    use proptest::prelude::*;

    fn perm(t: PermissionType, key: &[u8], range_end: &[u8]) -> Permission {
        Permission {
            perm_type: t,
            key: Bytes::copy_from_slice(key),
            range_end: Bytes::copy_from_slice(range_end),
        }
    }

    #[test]
    fn a_key_permission_covers_that_key_only() {
        let p = UserPermissions::merge([perm(PermissionType::Read, b"a", b"")].iter());
        assert!(p.read.covers(b"a", b""));
        assert!(!p.read.covers(b"a0", b""));
        assert!(!p.read.covers(b"", b""));
        assert!(p.read.covers(b"a", b"a\0"), "[a, a\\0) is the key a");
        assert!(!p.read.covers(b"a", b"b"));
        assert!(!p.write.covers(b"a", b""));
    }

    #[test]
    fn a_prefix_covers_its_keys_and_sub_ranges_but_not_beyond() {
        let p = UserPermissions::merge([perm(PermissionType::ReadWrite, b"foo", b"fop")].iter());
        for set in [&p.read, &p.write] {
            assert!(set.covers(b"foo", b""));
            assert!(set.covers(b"foo/bar", b""));
            assert!(set.covers(b"foo", b"fop"));
            assert!(set.covers(b"foo1", b"foo2"));
            assert!(!set.covers(b"fop", b""));
            assert!(!set.covers(b"foo", b"fop\0"));
            assert!(!set.covers(b"fo", b"fop"));
            assert!(!set.covers(b"foo", b"\0"), "from-key runs past the prefix");
        }
    }

    #[test]
    fn from_key_permissions_reach_past_every_key() {
        let p = UserPermissions::merge([perm(PermissionType::Write, b"m", b"\0")].iter());
        assert!(p.write.covers(b"m", b"\0"));
        assert!(p.write.covers(b"zzzz", b""));
        assert!(p.write.covers(b"x", b"\0"));
        assert!(!p.write.covers(b"l", b"\0"));
        assert!(!p.read.covers(b"m", b""));
    }

    #[test]
    fn adjacent_permissions_of_two_roles_cover_their_union() {
        let perms = [
            perm(PermissionType::Read, b"a", b"c"),
            perm(PermissionType::ReadWrite, b"c", b"e"),
        ];
        let p = UserPermissions::merge(perms.iter());
        assert!(p.read.covers(b"a", b"e"));
        assert!(!p.read.covers(b"a", b"e\0"));
        assert!(!p.write.covers(b"b", b"d"));
        assert!(p.write.covers(b"c", b"e"));
    }

    #[test]
    fn a_gap_between_permissions_is_not_covered() {
        let perms = [
            perm(PermissionType::Read, b"a", b"b"),
            perm(PermissionType::Read, b"c", b"d"),
        ];
        let p = UserPermissions::merge(perms.iter());
        assert!(!p.read.covers(b"a", b"d"));
        assert!(!p.read.covers(b"b", b""));
        assert!(p.read.covers(b"c", b""));
    }

    /// Every key of up to three letters from {\0, a, b, c}, sorted.
    fn universe() -> Vec<Vec<u8>> {
        let letters = [0u8, b'a', b'b', b'c'];
        let mut keys = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for key in &last {
                for l in letters {
                    let mut k = key.clone();
                    k.push(l);
                    next.push(k);
                }
            }
            keys.extend(next.iter().cloned());
            last = next;
        }
        keys.sort();
        keys
    }

    fn in_range(key: &[u8], start: &[u8], range_end: &[u8]) -> bool {
        if range_end.is_empty() {
            key == start
        } else if range_end == [0] {
            key >= start
        } else {
            key >= start && key < range_end
        }
    }

    fn short_key() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(b'a'), Just(b'b'), Just(b'c')],
            0..3,
        )
    }

    proptest! {
        /// Against a brute-force model over a finite universe of keys: a
        /// range is covered exactly when each of its keys is in some
        /// permission.
        #[test]
        fn covers_agrees_with_checking_every_key(
            grants in proptest::collection::vec((short_key(), short_key(), any::<bool>()), 0..5),
            key in short_key(),
            range_end in short_key(),
            from_key in any::<bool>(),
        ) {
            let perms: Vec<Permission> = grants
                .iter()
                .map(|(k, e, open)| perm(
                    PermissionType::Read,
                    k,
                    if *open { b"\0".as_slice() } else { e },
                ))
                .collect();
            let set = UserPermissions::merge(perms.iter()).read;
            let range_end = if from_key { vec![0] } else { range_end };
            // Every permission bound and request bound is a universe key
            // (or one with \0 appended, also in it), so an uncovered stretch
            // of the range starts at a universe key inside the range: the
            // model is exact. Ranges with nothing in them are left to the
            // unit tests.
            let closed = !range_end.is_empty() && range_end != [0];
            prop_assume!(!closed || range_end.as_slice() > key.as_slice());
            let universe = universe();
            let modelled = universe
                .iter()
                .filter(|k| in_range(k, &key, &range_end))
                .all(|k| perms.iter().any(|p| in_range(k, &p.key, &p.range_end)));
            prop_assert_eq!(set.covers(&key, &range_end), modelled);
        }
    }
}
