use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn store() -> KvStore {
    let disk = crate::storage::disk::SimDisk::new(7);
    KvStore::open(Backend::open(std::sync::Arc::new(disk), std::path::Path::new("/db")).unwrap())
        .unwrap()
}

/// Checkpoints `s`, drops it, and opens the file again from disk.
fn checkpoint_and_reopen(s: KvStore, disk: &crate::storage::disk::SimDisk) -> KvStore {
    let KvStore { mut backend, .. } = s;
    backend.checkpoint(Bytes::new()).unwrap();
    drop(backend);
    let backend = Backend::open(
        std::sync::Arc::new(disk.clone()),
        std::path::Path::new("/db"),
    )
    .unwrap();
    KvStore::open(backend).unwrap()
}

fn put(s: &mut KvStore, k: &str, v: &str) -> PutResponse {
    s.put(&PutRequest {
        key: b(k),
        value: b(v),
        prev_kv: true,
        ..PutRequest::default()
    })
    .unwrap()
}

fn get(s: &KvStore, k: &str, rev: i64) -> Result<RangeResponse, KvError> {
    s.range(&RangeRequest {
        key: b(k),
        revision: rev,
        ..RangeRequest::default()
    })
}

fn prefix(p: &str) -> RangeRequest {
    RangeRequest {
        key: b(p),
        range_end: KeyRange::prefix_end(p.as_bytes()),
        ..RangeRequest::default()
    }
}

#[test]
fn a_fresh_store_is_at_revision_one_and_puts_count_versions() {
    let mut s = store();
    assert_eq!(s.revision(), 1);
    let first = put(&mut s, "a", "1");
    assert_eq!(first.header.revision, 2);
    assert_eq!(first.prev_kv, None);
    let second = put(&mut s, "a", "2");
    assert_eq!(second.prev_kv.unwrap().value, b("1"));
    let kv = &get(&s, "a", 0).unwrap().kvs[0];
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));
    assert_eq!(get(&s, "a", 2).unwrap().kvs[0].value, b("1"));
}

#[test]
fn deleting_nothing_keeps_the_revision_and_recreation_resets_version() {
    let mut s = store();
    put(&mut s, "a", "1");
    let none = s
        .delete_range(&DeleteRangeRequest {
            key: b("zz"),
            ..DeleteRangeRequest::default()
        })
        .unwrap();
    assert_eq!((none.deleted, s.revision()), (0, 2));
    let gone = s
        .delete_range(&DeleteRangeRequest {
            key: b("a"),
            prev_kv: true,
            ..DeleteRangeRequest::default()
        })
        .unwrap();
    assert_eq!((gone.deleted, gone.prev_kvs.len(), s.revision()), (1, 1, 3));
    put(&mut s, "a", "again");
    let kv = &get(&s, "a", 0).unwrap().kvs[0];
    assert_eq!((kv.create_revision, kv.version), (4, 1));
    assert!(get(&s, "a", 3).unwrap().kvs.is_empty());
}

#[test]
fn reads_outside_history_fail_with_etcds_errors() {
    let mut s = store();
    for i in 0..5 {
        put(&mut s, "k", &i.to_string());
    }
    assert!(matches!(
        get(&s, "k", 7),
        Err(KvError::Api(ApiError::FutureRevision))
    ));
    s.compact(4).unwrap();
    assert!(matches!(
        get(&s, "k", 3),
        Err(KvError::Api(ApiError::Compacted {
            compact_revision: 4
        }))
    ));
    assert_eq!(get(&s, "k", 4).unwrap().kvs[0].value, b("2"));
    assert!(matches!(
        s.compact(4),
        Err(KvError::Api(ApiError::Compacted { .. }))
    ));
    assert!(matches!(
        s.compact(9),
        Err(KvError::Api(ApiError::FutureRevision))
    ));
}

#[test]
fn range_limit_sort_and_count() {
    let mut s = store();
    for (k, v) in [("p/c", "1"), ("p/a", "3"), ("p/b", "2"), ("q", "0")] {
        put(&mut s, k, v);
    }
    put(&mut s, "p/a", "4");
    let mut req = prefix("p/");
    req.limit = 2;
    let r = s.range(&req).unwrap();
    assert_eq!(r.count, 3);
    assert!(r.more);
    let keys: Vec<_> = r.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(keys, vec![b("p/a"), b("p/b")]);

    req.sort_order = SortOrder::Descend;
    req.sort_target = SortTarget::Value;
    let r = s.range(&req).unwrap();
    let values: Vec<_> = r.kvs.iter().map(|kv| kv.value.clone()).collect();
    assert_eq!(values, vec![b("4"), b("2")]);

    let mut count = prefix("p/");
    count.count_only = true;
    let r = s.range(&count).unwrap();
    assert_eq!((r.count, r.kvs.len()), (3, 0));

    let mut keys_only = prefix("p/");
    keys_only.keys_only = true;
    assert!(
        s.range(&keys_only)
            .unwrap()
            .kvs
            .iter()
            .all(|kv| kv.value.is_empty())
    );

    let mut filtered = prefix("p/");
    filtered.min_mod_revision = 4;
    let r = s.range(&filtered).unwrap();
    assert_eq!(r.kvs.len(), 2, "p/b (4) and p/a (6)");
    assert_eq!(r.count, 3, "count ignores filters, as in etcd");
}

#[test]
fn txn_reads_its_own_writes_and_evaluates_nested_compares_first() {
    let mut s = store();
    put(&mut s, "a", "1");
    let nested = TxnRequest {
        compare: vec![Compare {
            key: b("a"),
            target: CompareTarget::Value(b("1")),
            ..Compare::default()
        }],
        success: vec![RequestOp::Put(PutRequest {
            key: b("n"),
            value: b("saw-old-a"),
            ..PutRequest::default()
        })],
        failure: vec![],
    };
    let req = TxnRequest {
        compare: vec![Compare {
            key: b("a"),
            target: CompareTarget::Version(1),
            ..Compare::default()
        }],
        success: vec![
            RequestOp::Put(PutRequest {
                key: b("a"),
                value: b("2"),
                ..PutRequest::default()
            }),
            RequestOp::Range(RangeRequest {
                key: b("a"),
                ..RangeRequest::default()
            }),
            RequestOp::Txn(nested),
        ],
        failure: vec![],
    };
    let resp = s.txn(&req).unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.revision, 3);
    let ResponseOp::Range(seen) = &resp.responses[1] else {
        panic!("expected a range response");
    };
    assert_eq!(seen.kvs[0].value, b("2"));
    assert_eq!(get(&s, "n", 0).unwrap().kvs[0].value, b("saw-old-a"));
    let n = &get(&s, "n", 0).unwrap().kvs[0];
    assert_eq!(
        n.mod_revision, 3,
        "every write of a txn shares its revision"
    );
}

#[test]
fn a_failing_txn_changes_nothing() {
    let mut s = store();
    put(&mut s, "a", "1");
    let req = TxnRequest {
        compare: vec![],
        success: vec![
            RequestOp::Put(PutRequest {
                key: b("b"),
                ..PutRequest::default()
            }),
            RequestOp::Put(PutRequest {
                key: b("c"),
                lease: 42,
                ..PutRequest::default()
            }),
        ],
        failure: vec![],
    };
    assert!(matches!(
        s.txn(&req),
        Err(KvError::Api(ApiError::LeaseNotFound))
    ));
    assert_eq!(s.revision(), 2);
    assert!(get(&s, "b", 0).unwrap().kvs.is_empty());
}

#[test]
fn ignore_value_and_lease_need_the_key() {
    let mut s = store();
    let req = PutRequest {
        key: b("a"),
        ignore_value: true,
        ..PutRequest::default()
    };
    assert!(matches!(
        s.put(&req),
        Err(KvError::Api(ApiError::KeyNotFound))
    ));
    put(&mut s, "a", "kept");
    s.put(&req).unwrap();
    let kv = &get(&s, "a", 0).unwrap().kvs[0];
    assert_eq!((kv.value.clone(), kv.version), (b("kept"), 2));
}

#[test]
fn reopening_rebuilds_the_same_state() {
    let disk = crate::storage::disk::SimDisk::new(5);
    let backend = Backend::open(
        std::sync::Arc::new(disk.clone()),
        std::path::Path::new("/db"),
    )
    .unwrap();
    let mut s = KvStore::open(backend).unwrap();
    put(&mut s, "a", "1");
    put(&mut s, "b", "1");
    s.delete_range(&DeleteRangeRequest {
        key: b("b"),
        ..DeleteRangeRequest::default()
    })
    .unwrap();
    s.compact(4).unwrap();
    let hash = s.hash_kv(0).unwrap().hash;
    let s = checkpoint_and_reopen(s, &disk);
    assert_eq!(s.revision(), 4, "the compacted delete's revision survives");
    assert_eq!(s.compact_revision(), 4);
    assert_eq!(s.hash_kv(0).unwrap().hash, hash);
    assert_eq!(get(&s, "a", 0).unwrap().kvs[0].value, b("1"));
}

#[test]
fn versions_continue_across_compaction_and_reopen() {
    // The key index counts versions without reading values; after a
    // compaction dropped the key's early puts and the index was rebuilt from
    // disk, the next put must still continue the generation.
    let disk = crate::storage::disk::SimDisk::new(6);
    let backend = Backend::open(
        std::sync::Arc::new(disk.clone()),
        std::path::Path::new("/db"),
    )
    .unwrap();
    let mut s = KvStore::open(backend).unwrap();
    put(&mut s, "k", "1"); // rev 2, creates
    put(&mut s, "k", "2"); // rev 3
    put(&mut s, "k", "3"); // rev 4
    s.compact(4).unwrap();
    let mut s = checkpoint_and_reopen(s, &disk);
    put(&mut s, "k", "4"); // rev 5
    let kv = &get(&s, "k", 0).unwrap().kvs[0];
    assert_eq!((kv.create_revision, kv.version, kv.mod_revision), (2, 4, 5));
    s.delete_range(&DeleteRangeRequest {
        key: b("k"),
        ..DeleteRangeRequest::default()
    })
    .unwrap(); // rev 6
    put(&mut s, "k", "again"); // rev 7: a new generation
    let kv = &get(&s, "k", 0).unwrap().kvs[0];
    assert_eq!((kv.create_revision, kv.version), (7, 1));
}

#[test]
fn hash_differs_when_state_differs() {
    let (mut x, mut y) = (store(), store());
    put(&mut x, "a", "1");
    put(&mut y, "a", "2");
    assert_ne!(x.hash_kv(0).unwrap().hash, y.hash_kv(0).unwrap().hash);
    put(&mut x, "b", "1");
    assert_eq!(
        x.hash_kv(2).unwrap().hash,
        store_with(&[("a", "1")]).hash_kv(0).unwrap().hash,
        "a hash at a past revision ignores later writes"
    );
}

fn store_with(kvs: &[(&str, &str)]) -> KvStore {
    let mut s = store();
    for (k, v) in kvs {
        put(&mut s, k, v);
    }
    s
}

// ---------------------------------------------------------------------------
// Model-based property test: the store against a map snapshot per revision.

/// The whole history: the state after every revision, plus the compaction.
struct Model {
    states: Vec<BTreeMap<Bytes, KeyValue>>,
    compacted: i64,
}

impl Model {
    fn new() -> Self {
        // Index 0 is unused; revision 1 is the empty initial state.
        Model {
            states: vec![BTreeMap::new(), BTreeMap::new()],
            compacted: 0,
        }
    }

    fn revision(&self) -> i64 {
        self.states.len() as i64 - 1
    }

    fn state(&self, rev: i64) -> &BTreeMap<Bytes, KeyValue> {
        &self.states[rev as usize]
    }

    fn check_rev(&self, rev: i64) -> Result<i64, ApiError> {
        if rev > self.revision() {
            return Err(ApiError::FutureRevision);
        }
        let at = if rev <= 0 { self.revision() } else { rev };
        if at < self.compacted {
            return Err(ApiError::Compacted {
                compact_revision: self.compacted,
            });
        }
        Ok(at)
    }

    fn range(
        &self,
        req: &RangeRequest,
        state: &BTreeMap<Bytes, KeyValue>,
    ) -> (Vec<KeyValue>, bool, i64) {
        let range = KeyRange::new(&req.key, &req.range_end);
        let all: Vec<KeyValue> = state
            .values()
            .filter(|kv| range.contains(&kv.key))
            .cloned()
            .collect();
        let count = all.len() as i64;
        if req.count_only {
            return (vec![], false, count);
        }
        // Written independently of the store's filter and sort code.
        let within = |v: i64, min: i64, max: i64| (min == 0 || v >= min) && (max == 0 || v <= max);
        let mut kvs: Vec<KeyValue> = all
            .into_iter()
            .filter(|kv| within(kv.mod_revision, req.min_mod_revision, req.max_mod_revision))
            .filter(|kv| {
                within(
                    kv.create_revision,
                    req.min_create_revision,
                    req.max_create_revision,
                )
            })
            .collect();
        let sort_key = |kv: &KeyValue| -> Vec<u8> {
            match req.sort_target {
                SortTarget::Key => kv.key.to_vec(),
                SortTarget::Value => kv.value.to_vec(),
                // Offset so the big-endian bytes order like the numbers.
                SortTarget::Version => ((kv.version as u64) ^ (1 << 63)).to_be_bytes().to_vec(),
                SortTarget::Create => ((kv.create_revision as u64) ^ (1 << 63))
                    .to_be_bytes()
                    .to_vec(),
                SortTarget::Mod => ((kv.mod_revision as u64) ^ (1 << 63))
                    .to_be_bytes()
                    .to_vec(),
            }
        };
        let sorted = req.sort_order != SortOrder::None || req.sort_target != SortTarget::Key;
        if sorted {
            kvs.sort_by_key(sort_key);
            if req.sort_order == SortOrder::Descend {
                // Stable descending: reverse runs of equal keys back to key order.
                kvs.reverse();
                let mut i = 0;
                while i < kvs.len() {
                    let mut j = i;
                    while j + 1 < kvs.len() && sort_key(&kvs[j + 1]) == sort_key(&kvs[i]) {
                        j += 1;
                    }
                    kvs[i..=j].reverse();
                    i = j + 1;
                }
            }
        }
        let mut more = false;
        if req.limit > 0 && kvs.len() > req.limit as usize {
            kvs.truncate(req.limit as usize);
            more = true;
        }
        if req.keys_only {
            kvs.iter_mut().for_each(|kv| kv.value = Bytes::new());
        }
        (kvs, more, count)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8, Option<u8>),
    Range(RangeRequest),
    Txn(u8, i64, Vec<(u8, u8)>, Vec<u8>),
    Compact(i64),
    Checkpoint,
}

fn key(k: u8) -> Bytes {
    Bytes::from(vec![b'k', b'0' + k])
}

fn range_req() -> impl Strategy<Value = RangeRequest> {
    (
        0u8..6,
        prop_oneof![Just(None), Just(Some(0u8)), (0u8..7).prop_map(Some)],
        0i64..4,
        -1i64..12,
        prop_oneof![
            Just(SortOrder::None),
            Just(SortOrder::Ascend),
            Just(SortOrder::Descend)
        ],
        prop_oneof![
            Just(SortTarget::Key),
            Just(SortTarget::Version),
            Just(SortTarget::Create),
            Just(SortTarget::Mod),
            Just(SortTarget::Value)
        ],
        any::<(bool, bool)>(),
        (0i64..8, 0i64..12),
    )
        .prop_map(
            |(
                k,
                end,
                limit,
                revision,
                sort_order,
                sort_target,
                (keys_only, count_only),
                (min_mod, max_create),
            )| {
                RangeRequest {
                    key: key(k),
                    range_end: match end {
                        None => Bytes::new(),
                        Some(0) => Bytes::from_static(&[0]),
                        Some(e) => key(e),
                    },
                    limit,
                    revision,
                    sort_order,
                    sort_target,
                    keys_only,
                    count_only,
                    min_mod_revision: min_mod,
                    max_create_revision: max_create,
                    ..RangeRequest::default()
                }
            },
        )
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0u8..6, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..6, prop::option::of(0u8..7)).prop_map(|(k, e)| Op::Delete(k, e)),
        3 => range_req().prop_map(Op::Range),
        2 => (0u8..6, 0i64..4, prop::collection::vec((0u8..6, any::<u8>()), 0..3), prop::collection::vec(0u8..6, 0..2))
            .prop_map(|(k, v, puts, dels)| Op::Txn(k, v, puts, dels)),
        1 => (0i64..14).prop_map(Op::Compact),
        1 => Just(Op::Checkpoint),
    ];
    prop::collection::vec(op, 1..40)
}

/// Applies writes to the model's newest state, returning the new state (the
/// caller pushes it only if something changed).
fn model_put(state: &mut BTreeMap<Bytes, KeyValue>, k: &Bytes, v: Bytes, rev: i64) {
    let prev = state.get(k);
    let kv = KeyValue {
        key: k.clone(),
        create_revision: prev.map_or(rev, |p| p.create_revision),
        mod_revision: rev,
        version: prev.map_or(1, |p| p.version + 1),
        value: v,
        lease: 0,
    };
    state.insert(k.clone(), kv);
}

fn model_delete(state: &mut BTreeMap<Bytes, KeyValue>, range: &KeyRange) -> usize {
    let before = state.len();
    state.retain(|k, _| !range.contains(k));
    before - state.len()
}

proptest! {
    #[test]
    fn store_matches_a_snapshot_per_revision_model(ops in ops()) {
        let disk = crate::storage::disk::SimDisk::new(3);
        let mut s = KvStore::open(Backend::open(std::sync::Arc::new(disk.clone()), std::path::Path::new("/db")).unwrap()).unwrap();
        let mut m = Model::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    s.put(&PutRequest { key: key(k), value: Bytes::from(vec![v]), ..PutRequest::default() }).unwrap();
                    let mut next = m.state(m.revision()).clone();
                    let rev = m.revision() + 1;
                    model_put(&mut next, &key(k), Bytes::from(vec![v]), rev);
                    m.states.push(next);
                }
                Op::Delete(k, end) => {
                    let range_end = end.map_or(Bytes::new(), |e| if e == 0 { Bytes::from_static(&[0]) } else { key(e) });
                    let resp = s.delete_range(&DeleteRangeRequest { key: key(k), range_end: range_end.clone(), prev_kv: false }).unwrap();
                    let mut next = m.state(m.revision()).clone();
                    let n = model_delete(&mut next, &KeyRange::new(&key(k), &range_end));
                    prop_assert_eq!(resp.deleted, n as i64);
                    if n > 0 { m.states.push(next); }
                }
                Op::Range(req) => {
                    let got = s.range(&req);
                    match m.check_rev(req.revision) {
                        Err(e) => prop_assert_eq!(got.unwrap_err().to_string(), KvError::Api(e).to_string()),
                        Ok(at) => {
                            let got = got.unwrap();
                            let (kvs, more, count) = m.range(&req, m.state(at));
                            prop_assert_eq!(&got.kvs, &kvs, "range {:?} at {}", req, at);
                            prop_assert_eq!((got.more, got.count), (more, count));
                            prop_assert_eq!(got.header.revision, m.revision());
                        }
                    }
                }
                Op::Txn(k, version, puts, dels) => {
                    // If key k has `version`, put the pairs; else delete the keys.
                    let req = TxnRequest {
                        compare: vec![Compare { key: key(k), target: CompareTarget::Version(version), ..Compare::default() }],
                        success: puts.iter().map(|(pk, v)| RequestOp::Put(PutRequest { key: key(*pk), value: Bytes::from(vec![*v]), ..PutRequest::default() })).collect(),
                        failure: dels.iter().map(|dk| RequestOp::DeleteRange(DeleteRangeRequest { key: key(*dk), ..DeleteRangeRequest::default() })).collect(),
                    };
                    let distinct: BTreeSet<u8> = puts.iter().map(|(pk, _)| *pk).collect();
                    let got = s.txn(&req);
                    if distinct.len() < puts.len() {
                        prop_assert!(matches!(got, Err(KvError::Api(ApiError::DuplicateKey))));
                        continue;
                    }
                    let got = got.unwrap();
                    let cur = m.state(m.revision());
                    let holds = cur.get(&key(k)).map_or(0, |kv| kv.version) == version;
                    prop_assert_eq!(got.succeeded, holds);
                    let mut next = cur.clone();
                    let rev = m.revision() + 1;
                    let mut changed = false;
                    if holds {
                        for (pk, v) in &puts {
                            model_put(&mut next, &key(*pk), Bytes::from(vec![*v]), rev);
                            changed = true;
                        }
                    } else {
                        for dk in &dels {
                            changed |= model_delete(&mut next, &KeyRange::Single(key(*dk))) > 0;
                        }
                    }
                    if changed { m.states.push(next); }
                    prop_assert_eq!(got.header.revision, m.revision());
                }
                Op::Checkpoint => {
                    s.backend_mut().checkpoint(Bytes::new()).unwrap();
                }
                Op::Compact(rev) => {
                    let got = s.compact(rev);
                    if rev <= m.compacted {
                        prop_assert!(matches!(got, Err(KvError::Api(ApiError::Compacted { .. }))), "expected Compacted");
                    } else if rev > m.revision() {
                        prop_assert!(matches!(got, Err(KvError::Api(ApiError::FutureRevision))));
                    } else {
                        got.unwrap();
                        m.compacted = rev;
                    }
                }
            }
            prop_assert_eq!(s.revision(), m.revision());
        }
        // Every readable revision still answers exactly as the model does,
        // also after reopening from the backend.
        let hash = s.hash_kv(0).unwrap().hash;
        let s = checkpoint_and_reopen(s, &disk);
        prop_assert_eq!(s.hash_kv(0).unwrap().hash, hash);
        for at in m.compacted.max(1)..=m.revision() {
            let all = RangeRequest { key: Bytes::from_static(&[0]), range_end: Bytes::from_static(&[0]), revision: at, ..RangeRequest::default() };
            let got = s.range(&all).unwrap();
            let want: Vec<KeyValue> = m.state(at).values().cloned().collect();
            prop_assert_eq!(got.kvs, want, "all keys at {}", at);
        }
    }
}

#[test]
fn a_read_only_txn_answers_like_the_write_path() {
    let mut s = store_with(&[("a", "1"), ("b", "2")]);
    let all = RangeRequest {
        key: Bytes::from_static(&[0]),
        range_end: Bytes::from_static(&[0]),
        ..RangeRequest::default()
    };
    let req = TxnRequest {
        compare: vec![Compare {
            key: b("a"),
            target: CompareTarget::Value(b("1")),
            ..Compare::default()
        }],
        success: vec![RequestOp::Range(all)],
        failure: vec![],
    };
    let read = s.read_txn(&req).unwrap();
    let written = s.txn(&req).unwrap();
    assert_eq!(read, written);
    assert!(read.succeeded);
    let writes = TxnRequest {
        success: vec![RequestOp::Put(PutRequest {
            key: b("c"),
            ..PutRequest::default()
        })],
        ..req
    };
    assert!(s.read_txn(&writes).is_err());
}

/// One write of the watch model: (revision, key, value or None for delete).
#[derive(Debug, Clone)]
enum WatchOp {
    Put(u8, u8),
    Delete(u8),
    /// A txn putting two different keys at one revision.
    PutTwo(u8, u8),
}

fn watch_ops() -> impl Strategy<Value = Vec<WatchOp>> {
    prop::collection::vec(
        prop_oneof![
            (0u8..6, any::<u8>()).prop_map(|(k, v)| WatchOp::Put(k, v)),
            (0u8..6).prop_map(WatchOp::Delete),
            (0u8..3, 3u8..6).prop_map(|(a, b)| WatchOp::PutTwo(a, b)),
        ],
        1..40,
    )
}

/// (main revision, key, value after, value before) for every change.
type ModelEvent = (i64, Bytes, Option<Bytes>, Option<Bytes>);

fn apply_watch_ops(s: &mut KvStore, ops: &[WatchOp]) -> Vec<ModelEvent> {
    let mut state: BTreeMap<Bytes, Bytes> = BTreeMap::new();
    let mut events = Vec::new();
    for op in ops {
        let before = s.revision();
        match op {
            WatchOp::Put(k, v) => {
                let (k, v) = (key(*k), Bytes::from(vec![*v]));
                s.put(&PutRequest {
                    key: k.clone(),
                    value: v.clone(),
                    ..PutRequest::default()
                })
                .unwrap();
                let old = state.insert(k.clone(), v.clone());
                events.push((before + 1, k, Some(v), old));
            }
            WatchOp::Delete(k) => {
                let k = key(*k);
                s.delete_range(&DeleteRangeRequest {
                    key: k.clone(),
                    ..DeleteRangeRequest::default()
                })
                .unwrap();
                if let Some(old) = state.remove(&k) {
                    events.push((before + 1, k, None, Some(old)));
                }
            }
            WatchOp::PutTwo(a, b) => {
                let put = |k: u8| {
                    RequestOp::Put(PutRequest {
                        key: key(k),
                        value: Bytes::from_static(b"t"),
                        ..PutRequest::default()
                    })
                };
                s.txn(&TxnRequest {
                    compare: vec![],
                    success: vec![put(*a), put(*b)],
                    failure: vec![],
                })
                .unwrap();
                for k in [*a, *b] {
                    let old = state.insert(key(k), Bytes::from_static(b"t"));
                    events.push((before + 1, key(k), Some(Bytes::from_static(b"t")), old));
                }
            }
        }
    }
    events
}

proptest! {
    #[test]
    fn changes_replay_history_in_order_without_gaps_or_split_revisions(
        ops in watch_ops(),
        lo in 0u8..6,
        width in 0u8..7,
        max_events in 1usize..5,
        start in 0i64..45,
    ) {
        let mut s = store();
        let model = apply_watch_ops(&mut s, &ops);
        let range = if width == 0 {
            KeyRange::new(&key(lo), &Bytes::new())
        } else {
            KeyRange::new(&key(lo), &key(lo.saturating_add(width)))
        };
        let from = start.clamp(1, s.revision() + 1);
        let expected: Vec<&ModelEvent> = model
            .iter()
            .filter(|(rev, k, _, _)| *rev >= from && range.contains(k))
            .collect();
        let mut seen = Vec::new();
        let mut at = from;
        let mut last_main_of_batch = 0;
        for _ in 0..100 {
            let batch = s.changes(&range, at, max_events, usize::MAX, true).unwrap();
            prop_assert!(batch.next_revision > at || batch.next_revision == s.revision() + 1);
            if let Some(first) = batch.events.first() {
                prop_assert!(first.kv.mod_revision > last_main_of_batch, "a revision split across batches");
            }
            if let Some(last) = batch.events.last() {
                last_main_of_batch = last.kv.mod_revision;
            }
            seen.extend(batch.events);
            if batch.next_revision > s.revision() {
                break;
            }
            at = batch.next_revision;
        }
        prop_assert_eq!(seen.len(), expected.len());
        for (event, (rev, k, after, before)) in seen.iter().zip(expected) {
            prop_assert_eq!(event.kv.mod_revision, *rev);
            prop_assert_eq!(&event.kv.key, k);
            match after {
                Some(v) => {
                    prop_assert_eq!(event.kind, EventKind::Put);
                    prop_assert_eq!(&event.kv.value, v);
                }
                None => prop_assert_eq!(event.kind, EventKind::Delete),
            }
            prop_assert_eq!(event.prev_kv.as_ref().map(|p| &p.value), before.as_ref());
        }
    }
}

#[test]
fn changes_below_the_compaction_point_report_it() {
    let mut s = store();
    for i in 0..10 {
        put(&mut s, "a", &i.to_string());
    }
    s.compact(6).unwrap();
    let range = KeyRange::new(&b("a"), &Bytes::new());
    match s.changes(&range, 5, 100, usize::MAX, false) {
        Err(KvError::Api(ApiError::Compacted { compact_revision })) => {
            assert_eq!(compact_revision, 6)
        }
        other => panic!("{other:?}"),
    }
    let from_six = s.changes(&range, 6, 100, usize::MAX, false).unwrap();
    assert_eq!(from_six.events.len(), 6, "revisions 6..=11");
    assert_eq!(from_six.next_revision, s.revision() + 1);
    // 0 means "from now on": nothing yet.
    assert!(
        s.changes(&range, 0, 100, usize::MAX, false)
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn changes_stop_at_a_revision_boundary_once_the_byte_budget_is_spent() {
    let mut s = store();
    for i in 0..5 {
        put(&mut s, "a", &"x".repeat(100 + i));
    }
    let range = KeyRange::new(&b("a"), &Bytes::new());
    let first = s.changes(&range, 2, usize::MAX, 150, false).unwrap();
    assert_eq!(
        first.events.len(),
        2,
        "one revision, then the budget is spent"
    );
    assert_eq!(first.next_revision, 4);
    let rest = s
        .changes(&range, first.next_revision, usize::MAX, usize::MAX, false)
        .unwrap();
    assert_eq!(rest.events.len(), 3);
}

mod leases {
    use super::*;

    fn grant(
        s: &mut KvStore,
        id: i64,
        ttl: i64,
        index: u64,
    ) -> Result<LeaseGrantResponse, KvError> {
        s.lease_grant(
            &LeaseGrantRequest {
                ttl_seconds: ttl,
                id,
            },
            index,
            0x694d_0000_0000_0000 | index as i64,
        )
    }

    fn put_leased(s: &mut KvStore, k: &str, lease: i64) -> Result<PutResponse, KvError> {
        s.put(&PutRequest {
            key: b(k),
            value: b("v"),
            lease,
            ..PutRequest::default()
        })
    }

    #[test]
    fn grant_assigns_ids_and_refuses_duplicates_and_huge_ttls() {
        let mut s = store();
        let g = grant(&mut s, 0, 10, 5).unwrap();
        assert_eq!((g.id, g.ttl_seconds), (0x694d_0000_0000_0005, 10));
        // The automatic id is taken: the next free one is used.
        let mut other = store();
        grant(&mut other, 0x694d_0000_0000_0005, 10, 1).unwrap();
        assert_eq!(
            grant(&mut other, 0, 10, 5).unwrap().id,
            0x694d_0000_0000_0006
        );
        assert!(matches!(
            grant(&mut s, g.id, 10, 6),
            Err(KvError::Api(ApiError::LeaseExists))
        ));
        assert!(matches!(
            grant(&mut s, 0, MAX_LEASE_TTL_SECONDS + 1, 7),
            Err(KvError::Api(ApiError::LeaseTtlTooLarge))
        ));
        assert!(matches!(
            grant(&mut s, 0, 0, 8),
            Err(KvError::Api(ApiError::BadRequest(_)))
        ));
        assert_eq!(s.revision(), 1, "granting writes no key revision");
        assert_eq!(s.leases().len(), 1);
    }

    #[test]
    fn revoke_deletes_only_the_attached_keys_at_one_revision() {
        let mut s = store();
        let lease = grant(&mut s, 7, 10, 2).unwrap().id;
        put_leased(&mut s, "a", lease).unwrap();
        put_leased(&mut s, "b", lease).unwrap();
        put_leased(&mut s, "c", 0).unwrap();
        put_leased(&mut s, "moved", lease).unwrap();
        put_leased(&mut s, "moved", 0).unwrap(); // re-put without the lease detaches it
        assert_eq!(s.lease_keys(lease), vec![b("a"), b("b")]);
        s.delete_range(&DeleteRangeRequest {
            key: b("b"),
            ..DeleteRangeRequest::default()
        })
        .unwrap();
        assert_eq!(s.lease_keys(lease), vec![b("a")]);
        put_leased(&mut s, "b", lease).unwrap();
        let before = s.revision();
        let revoked = s.lease_revoke(lease).unwrap();
        assert_eq!(
            revoked.header.revision,
            before + 1,
            "one revision for every key"
        );
        for gone in ["a", "b"] {
            assert!(get(&s, gone, 0).unwrap().kvs.is_empty(), "{gone} survived");
        }
        for kept in ["c", "moved"] {
            assert_eq!(get(&s, kept, 0).unwrap().kvs.len(), 1, "{kept} deleted");
        }
        assert!(s.lease(lease).is_none());
        assert!(matches!(
            s.lease_revoke(lease),
            Err(KvError::Api(ApiError::LeaseNotFound))
        ));
        assert!(matches!(
            put_leased(&mut s, "x", lease),
            Err(KvError::Api(ApiError::LeaseNotFound))
        ));
        // A lease with no keys revokes without a new revision.
        let empty = grant(&mut s, 8, 10, 3).unwrap().id;
        let at = s.revision();
        assert_eq!(s.lease_revoke(empty).unwrap().header.revision, at);
    }

    #[test]
    fn an_expiry_decided_before_a_keep_alive_applies_does_nothing() {
        let mut s = store();
        let lease = grant(&mut s, 7, 10, 2).unwrap().id;
        put_leased(&mut s, "a", lease).unwrap();
        s.lease_keep_alive(lease, 9).unwrap();
        assert!(s.lease_expire(lease, 8).unwrap().is_none(), "lost the race");
        assert_eq!(get(&s, "a", 0).unwrap().kvs.len(), 1);
        assert!(s.lease_expire(lease, 9).unwrap().is_some());
        assert!(get(&s, "a", 0).unwrap().kvs.is_empty());
        assert!(matches!(
            s.lease_expire(lease, 10),
            Err(KvError::Api(ApiError::LeaseNotFound))
        ));
        assert!(matches!(
            s.lease_keep_alive(lease, 11),
            Err(KvError::Api(ApiError::LeaseNotFound))
        ));
    }

    #[test]
    fn leases_and_attachments_survive_a_reopen() {
        let disk = crate::storage::disk::SimDisk::new(3);
        let backend = Backend::open(
            std::sync::Arc::new(disk.clone()),
            std::path::Path::new("/db"),
        )
        .unwrap();
        let mut s = KvStore::open(backend).unwrap();
        let l1 = grant(&mut s, 1, 30, 2).unwrap().id;
        let l2 = grant(&mut s, 2, 60, 3).unwrap().id;
        put_leased(&mut s, "a", l1).unwrap();
        put_leased(&mut s, "b", l2).unwrap();
        put_leased(&mut s, "b", l1).unwrap();
        put_leased(&mut s, "c", l2).unwrap();
        s.delete_range(&DeleteRangeRequest {
            key: b("c"),
            ..DeleteRangeRequest::default()
        })
        .unwrap();
        s.lease_checkpoint(3, &[(l1, 12), (l2, 500), (99, 4)]);
        assert_eq!(
            s.lease(l2).unwrap().remaining_ttl_seconds,
            60,
            "clamped to the TTL"
        );
        s.lease_keep_alive(l2, 4).unwrap();
        s.lease_checkpoint(3, &[(l2, 7)]); // measured before that keep-alive
        let s = checkpoint_and_reopen(s, &disk);
        assert_eq!(s.lease_keys(l1), vec![b("a"), b("b")]);
        assert!(s.lease_keys(l2).is_empty());
        let l1 = s.lease(l1).unwrap();
        assert_eq!(
            (l1.ttl_seconds, l1.remaining_ttl_seconds, l1.refreshed_index),
            (30, 12, 2)
        );
        assert_eq!(
            s.lease(l2).unwrap().remaining_ttl_seconds,
            0,
            "kept alive after the second checkpoint was measured"
        );
        assert!(s.lease(99).is_none());
    }

    #[test]
    fn txn_puts_attach_and_their_lease_must_exist() {
        let mut s = store();
        let lease = grant(&mut s, 5, 10, 2).unwrap().id;
        let txn = TxnRequest {
            compare: vec![],
            success: vec![RequestOp::Put(PutRequest {
                key: b("t"),
                lease,
                ..PutRequest::default()
            })],
            failure: vec![],
        };
        s.txn(&txn).unwrap();
        assert_eq!(s.lease_keys(lease), vec![b("t")]);
        assert_eq!(get(&s, "t", 0).unwrap().kvs[0].lease, lease);
        // ignore_lease keeps the attachment.
        s.put(&PutRequest {
            key: b("t"),
            value: b("w"),
            ignore_lease: true,
            ..PutRequest::default()
        })
        .unwrap();
        assert_eq!(s.lease_keys(lease), vec![b("t")]);
    }
}
