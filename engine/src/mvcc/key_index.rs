//! The in-memory index from each key to the revisions that changed it.
//!
//! Values live in the revision-keyed `kv` tree; this index answers "which
//! revision of key K is visible at revision R" and "which keys in a range are
//! alive at R" without touching values. It is rebuilt from the `kv` tree when
//! the store opens, as etcd rebuilds its treeIndex.

use super::key_range::KeyRange;
use super::revision::Revision;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// One change of a key: a put, or a delete (tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event {
    rev: Revision,
    tombstone: bool,
}

/// One key's retained changes, and its live generation as of the newest
/// change (what the next put needs: etcd keeps the same in its keyIndex).
#[derive(Debug, Default, Clone)]
struct History {
    events: Vec<Event>,
    /// The live generation's create revision and version, `None` if the
    /// newest change is a delete. Compaction never changes it.
    live: Option<Generation>,
}

/// The create revision and version of a key's live generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// Revision of the put that created the key (after its last delete).
    pub create_revision: i64,
    /// Puts since then, the latest included.
    pub version: i64,
}

/// Every key's history of changes, ordered by key.
#[derive(Debug, Default, Clone)]
pub struct KeyIndex {
    keys: BTreeMap<Bytes, History>,
    /// Keys whose newest change is a put (kept as they change, so counting
    /// them costs nothing).
    live_keys: usize,
}

impl KeyIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys with any retained history.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Number of keys that exist now (etcd's `etcd_debugging_mvcc_keys_total`).
    pub fn live_len(&self) -> usize {
        self.live_keys
    }

    /// Whether no key has retained history.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Records a put of `key` at `rev`, which must be newer than every
    /// revision recorded for the key, and returns the generation it belongs
    /// to (a new one if the key was not alive).
    pub fn put(&mut self, key: &Bytes, rev: Revision) -> Generation {
        let generation = match self.live(key) {
            Some(live) => Generation {
                create_revision: live.create_revision,
                version: live.version + 1,
            },
            None => Generation {
                create_revision: rev.main,
                version: 1,
            },
        };
        self.put_in(key, rev, generation);
        generation
    }

    /// Records a put whose generation is known (rebuilding the index from
    /// stored records, which carry it: history before a compaction is gone,
    /// so counting puts would be wrong).
    pub fn put_in(&mut self, key: &Bytes, rev: Revision, generation: Generation) {
        self.record(
            key,
            Event {
                rev,
                tombstone: false,
            },
        );
        if let Some(history) = self.keys.get_mut(key) {
            if history.live.is_none() {
                self.live_keys += 1;
            }
            history.live = Some(generation);
        }
    }

    /// The live generation of `key` as of its newest change, `None` if the
    /// key does not exist now. Costs no read of values.
    pub fn live(&self, key: &[u8]) -> Option<Generation> {
        self.keys.get(key)?.live
    }

    /// Records a delete of `key` at `rev`; the key must be alive.
    pub fn tombstone(&mut self, key: &Bytes, rev: Revision) {
        debug_assert!(
            self.latest(key, rev.main).is_some(),
            "tombstone of a dead key"
        );
        self.record(
            key,
            Event {
                rev,
                tombstone: true,
            },
        );
    }

    fn record(&mut self, key: &Bytes, event: Event) {
        let history = self.keys.entry(key.clone()).or_default();
        if event.tombstone && history.live.take().is_some() {
            self.live_keys -= 1;
        }
        let events = &mut history.events;
        assert!(
            events.last().is_none_or(|last| last.rev < event.rev),
            "key index: revision {} not after {:?}",
            event.rev,
            events.last()
        );
        events.push(event);
    }

    /// The revision of the put that is visible for `key` at store revision
    /// `at`, or `None` if the key did not exist then.
    pub fn latest(&self, key: &[u8], at: i64) -> Option<Revision> {
        visible(&self.keys.get(key)?.events, at)
    }

    /// Calls `visit` with each key in `range` alive at `at`, in key order,
    /// and the revision of its visible put, until it breaks.
    pub fn visit(
        &self,
        range: &KeyRange,
        at: i64,
        mut visit: impl FnMut(&Bytes, Revision) -> ControlFlow<()>,
    ) {
        for (key, history) in self.keys.range::<[u8], _>(range.bounds()) {
            if let Some(rev) = visible(&history.events, at) {
                if visit(key, rev).is_break() {
                    return;
                }
            }
        }
    }

    /// Number of keys in `range` alive at `at`.
    pub fn count(&self, range: &KeyRange, at: i64) -> usize {
        let mut n = 0;
        self.visit(range, at, |_, _| {
            n += 1;
            ControlFlow::Continue(())
        });
        n
    }

    /// Drops history that no read at a revision `>= at` can see: for each
    /// key, every change before the last one at or below `at`, and that one
    /// too if it is a delete. Returns the dropped revisions, in order, so the
    /// caller can remove their values.
    pub fn compact(&mut self, at: i64) -> Vec<Revision> {
        let mut dropped = Vec::new();
        self.keys.retain(|_, history| {
            let events = &mut history.events;
            let upto = events.partition_point(|e| e.rev.main <= at);
            if upto == 0 {
                return true;
            }
            let keep_from = if events[upto - 1].tombstone {
                upto
            } else {
                upto - 1
            };
            dropped.extend(events.drain(..keep_from).map(|e| e.rev));
            !events.is_empty()
        });
        dropped.sort_unstable();
        dropped
    }

    /// Revisions of the changes to `key` newer than `after` (for tests and
    /// consistency checks).
    pub fn history(&self, key: &[u8]) -> Vec<(Revision, bool)> {
        self.keys
            .get(key)
            .map(|history| {
                history
                    .events
                    .iter()
                    .map(|e| (e.rev, e.tombstone))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The visible put among `events` at store revision `at`, if any.
fn visible(events: &[Event], at: i64) -> Option<Revision> {
    let upto = events.partition_point(|e| e.rev.main <= at);
    let last = events.get(upto.checked_sub(1)?)?;
    (!last.tombstone).then_some(last.rev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(k: u8) -> Bytes {
        Bytes::from(vec![b'k', k])
    }

    #[test]
    fn visibility_follows_puts_and_deletes() {
        let mut index = KeyIndex::new();
        let k = key(1);
        index.put(&k, Revision::new(2, 0));
        index.put(&k, Revision::new(4, 1));
        index.tombstone(&k, Revision::new(6, 0));
        index.put(&k, Revision::new(8, 0));
        assert_eq!(index.latest(&k, 1), None);
        assert_eq!(index.latest(&k, 2), Some(Revision::new(2, 0)));
        assert_eq!(index.latest(&k, 5), Some(Revision::new(4, 1)));
        assert_eq!(index.latest(&k, 6), None);
        assert_eq!(index.latest(&k, 7), None);
        assert_eq!(index.latest(&k, 9), Some(Revision::new(8, 0)));
    }

    #[test]
    fn generations_count_versions_and_restart_after_a_delete() {
        let mut index = KeyIndex::new();
        let k = key(1);
        assert_eq!(index.live(&k), None);
        let first = index.put(&k, Revision::new(2, 0));
        assert_eq!((first.create_revision, first.version), (2, 1));
        let second = index.put(&k, Revision::new(5, 0));
        assert_eq!((second.create_revision, second.version), (2, 2));
        index.tombstone(&k, Revision::new(6, 0));
        assert_eq!(index.live(&k), None);
        let again = index.put(&k, Revision::new(9, 1));
        assert_eq!((again.create_revision, again.version), (9, 1));
        index.compact(9);
        assert_eq!(
            index.live(&k),
            Some(again),
            "compaction keeps the live generation"
        );
        let rebuilt = Generation {
            create_revision: 3,
            version: 7,
        };
        index.put_in(&key(2), Revision::new(10, 0), rebuilt);
        assert_eq!(index.put(&key(2), Revision::new(11, 0)).version, 8);
    }

    #[test]
    fn compaction_keeps_what_later_reads_see() {
        let mut index = KeyIndex::new();
        let (a, b) = (key(1), key(2));
        index.put(&a, Revision::new(2, 0));
        index.put(&a, Revision::new(3, 0));
        index.put(&b, Revision::new(4, 0));
        index.tombstone(&b, Revision::new(5, 0));
        index.put(&a, Revision::new(7, 0));
        let dropped = index.compact(5);
        assert_eq!(
            dropped,
            vec![
                Revision::new(2, 0),
                Revision::new(4, 0),
                Revision::new(5, 0)
            ]
        );
        assert_eq!(index.latest(&a, 5), Some(Revision::new(3, 0)));
        assert_eq!(index.latest(&a, 7), Some(Revision::new(7, 0)));
        assert_eq!(index.latest(&b, 5), None);
        assert_eq!(
            index.len(),
            1,
            "a key deleted at or below the compaction is gone"
        );
    }

    /// A model: the full list of (revision, key, Some(put) | None(delete)).
    #[derive(Debug, Clone)]
    enum Op {
        Put(u8),
        Delete(u8),
        Compact,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                4 => (0u8..6).prop_map(Op::Put),
                2 => (0u8..6).prop_map(Op::Delete),
                1 => Just(Op::Compact),
            ],
            1..60,
        )
    }

    proptest! {
        #[test]
        fn index_matches_a_full_history_model(ops in ops()) {
            let mut index = KeyIndex::new();
            let mut history: Vec<(i64, u8, bool)> = Vec::new();
            let mut compacted = 0i64;
            let mut rev = 1i64;
            for op in ops {
                match op {
                    Op::Put(k) => {
                        rev += 1;
                        index.put(&key(k), Revision::new(rev, 0));
                        history.push((rev, k, true));
                    }
                    Op::Delete(k) => {
                        if index.latest(&key(k), rev).is_some() {
                            rev += 1;
                            index.tombstone(&key(k), Revision::new(rev, 0));
                            history.push((rev, k, false));
                        }
                    }
                    Op::Compact => {
                        compacted = rev;
                        index.compact(rev);
                    }
                }
                // Every read at or after the compaction point agrees with the model.
                for at in compacted.max(1)..=rev {
                    for k in 0u8..6 {
                        let model = history.iter().rev()
                            .find(|(r, key, _)| *r <= at && *key == k)
                            .filter(|(_, _, alive)| *alive)
                            .map(|(r, _, _)| Revision::new(*r, 0));
                        prop_assert_eq!(index.latest(&key(k), at), model, "key {} at {}", k, at);
                    }
                    let all = KeyRange::From(Bytes::new());
                    let alive = (0u8..6).filter(|&k| index.latest(&key(k), at).is_some()).count();
                    prop_assert_eq!(index.count(&all, at), alive);
                }
                let live_now = (0u8..6).filter(|&k| index.live(&key(k)).is_some()).count();
                prop_assert_eq!(index.live_len(), live_now, "live key count");
            }
        }
    }
}
