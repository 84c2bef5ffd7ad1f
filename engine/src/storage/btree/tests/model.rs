//! Property test: random puts, deletes, tree drops, scans, checkpoints and
//! reopens against a `BTreeMap` model, on SimDisk and on the OS disk.

use super::*;
use crate::storage::disk::OsDisk;
use proptest::prelude::*;

const TREES: [&str; 3] = ["t0", "t1", "t2"];

#[derive(Debug, Clone)]
enum Action {
    Put {
        tree: usize,
        key: Vec<u8>,
        value_len: usize,
        fill: u8,
    },
    PutMany {
        tree: usize,
        start: u32,
        count: u32,
        value_len: usize,
    },
    Delete {
        tree: usize,
        key: Vec<u8>,
    },
    DeleteMany {
        tree: usize,
        start: u32,
        count: u32,
    },
    Create(usize),
    Drop(usize),
    UserMeta(u8),
    Checkpoint,
    Reopen,
    HoldView,
    Get {
        tree: usize,
        key: Vec<u8>,
    },
    Scan {
        tree: usize,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: Option<usize>,
    },
}

fn num_key(n: u32) -> Vec<u8> {
    format!("n{n:05}").into_bytes()
}

/// Keys sharing a 600-byte prefix: overflow keys and long separators.
fn long_key(n: u32) -> Vec<u8> {
    [vec![b'L'; 600], n.to_string().into_bytes()].concat()
}

fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (0u32..3000).prop_map(num_key),
        2 => proptest::collection::vec(any::<u8>(), 0..12),
        1 => (0u32..40).prop_map(long_key),
    ]
}

fn value_len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..64,
        4 => 64usize..400,
        2 => 900usize..1100,
        1 => 3000usize..20_000,
    ]
}

fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key_strategy().prop_map(Bound::Included),
        key_strategy().prop_map(Bound::Excluded),
    ]
}

fn action_strategy() -> impl Strategy<Value = Action> {
    let tree = 0usize..TREES.len();
    prop_oneof![
        20 => (tree.clone(), key_strategy(), value_len_strategy(), any::<u8>())
            .prop_map(|(tree, key, value_len, fill)| Action::Put { tree, key, value_len, fill }),
        3 => (tree.clone(), 0u32..3000, 1u32..400, 0usize..300)
            .prop_map(|(tree, start, count, value_len)| Action::PutMany { tree, start, count, value_len }),
        8 => (tree.clone(), key_strategy()).prop_map(|(tree, key)| Action::Delete { tree, key }),
        2 => (tree.clone(), 0u32..3000, 1u32..600)
            .prop_map(|(tree, start, count)| Action::DeleteMany { tree, start, count }),
        1 => tree.clone().prop_map(Action::Create),
        1 => tree.clone().prop_map(Action::Drop),
        1 => any::<u8>().prop_map(Action::UserMeta),
        6 => Just(Action::Checkpoint),
        1 => Just(Action::Reopen),
        1 => Just(Action::HoldView),
        4 => (tree.clone(), key_strategy()).prop_map(|(tree, key)| Action::Get { tree, key }),
        5 => (tree, bound_strategy(), bound_strategy(), any::<bool>(), proptest::option::of(0usize..50))
            .prop_map(|(tree, lower, upper, reverse, limit)| Action::Scan { tree, lower, upper, reverse, limit }),
    ]
}

fn value(len: usize, fill: u8, salt: u32) -> Vec<u8> {
    (0..len)
        .map(|i| fill.wrapping_add((i as u32 ^ salt) as u8))
        .collect()
}

fn in_bounds(key: &[u8], lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let above = match lower {
        Bound::Included(low) => key >= &low[..],
        Bound::Excluded(low) => key > &low[..],
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(high) => key <= &high[..],
        Bound::Excluded(high) => key < &high[..],
        Bound::Unbounded => true,
    };
    above && below
}

/// The test's state: the store, the last checkpoint's model, the batch
/// being built and the model it leads to.
struct Harness {
    disk: Arc<dyn Disk>,
    path: PathBuf,
    store: Option<BTreeStore>,
    committed: Model,
    user_meta: Vec<u8>,
    batch: WriteBatch,
    pending: Model,
    held: Vec<(ReadView, Model)>,
}

impl Harness {
    fn store(&mut self) -> &mut BTreeStore {
        self.store.as_mut().expect("open")
    }

    /// Makes sure `tree` exists in the pending state (creating it if not).
    fn ensure_tree(&mut self, tree: &str) {
        if !self.pending.contains_key(tree) {
            self.batch.create_tree(tree);
            self.pending.insert(tree.to_string(), BTreeMap::new());
        }
    }

    fn put(&mut self, tree: &str, key: Vec<u8>, value: Vec<u8>) {
        self.ensure_tree(tree);
        self.batch.put(tree, key.clone(), value.clone());
        self.pending.get_mut(tree).map(|t| t.insert(key, value));
    }

    fn delete(&mut self, tree: &str, key: Vec<u8>) {
        if let Some(entries) = self.pending.get_mut(tree) {
            entries.remove(&key);
            self.batch.delete(tree, key);
        }
    }

    fn checkpoint(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        let mut expected = self.committed.clone();
        apply_to_model(&mut expected, &batch);
        assert_eq!(
            expected, self.pending,
            "the batch and the pending model agree"
        );
        let txn = self.store().view().txn();
        self.store().checkpoint(&batch).unwrap();
        self.committed = expected;
        if let Some(meta) = &batch.user_meta {
            self.user_meta = meta.to_vec();
        }
        let view = self.store().view();
        assert_eq!(view.txn(), txn + 1);
        assert_eq!(&view.user_meta()[..], &self.user_meta[..]);
        assert_matches(&view, &self.committed);
    }

    /// Views taken along the way still show their checkpoints exactly.
    fn check_held_views(&mut self) {
        for (view, model) in &self.held {
            assert_matches(view, model);
        }
        self.held.clear();
    }

    fn reopen(&mut self) {
        // A new store on the file does not know the old store's views.
        self.check_held_views();
        self.store = None;
        self.batch.clear();
        self.pending = self.committed.clone();
        self.store = Some(
            BTreeStore::open(Arc::clone(&self.disk), &self.path, BTreeOptions::default()).unwrap(),
        );
        let view = self.store().view();
        assert_matches(&view, &self.committed);
        assert_eq!(&view.user_meta()[..], &self.user_meta[..]);
    }

    fn scan(
        &mut self,
        tree: &str,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
        limit: Option<usize>,
    ) {
        let view = self.store().view();
        let Some(entries) = self.committed.get(tree) else {
            assert!(matches!(
                view.range(tree, Bound::Unbounded, Bound::Unbounded, false, None),
                Err(BTreeError::TreeNotFound { .. })
            ));
            return;
        };
        let mut expected: Vec<(&Vec<u8>, &Vec<u8>)> = entries
            .iter()
            .filter(|(k, _)| in_bounds(k, &lower, &upper))
            .collect();
        if reverse {
            expected.reverse();
        }
        expected.truncate(limit.unwrap_or(usize::MAX));
        let got: Vec<(Bytes, Bytes)> = view
            .range(
                tree,
                lower.as_ref().map(|k| &k[..]),
                upper.as_ref().map(|k| &k[..]),
                reverse,
                limit,
            )
            .unwrap()
            .collect::<BTreeResult<_>>()
            .unwrap();
        assert_eq!(
            got.len(),
            expected.len(),
            "scan of {tree} {lower:?}..{upper:?} rev={reverse} limit={limit:?}"
        );
        for ((k, v), (ek, ev)) in got.iter().zip(expected) {
            assert_eq!(&k[..], &ek[..]);
            assert_eq!(&v[..], &ev[..]);
        }
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::Put {
                tree,
                key,
                value_len,
                fill,
            } => {
                let salt = key.len() as u32;
                self.put(TREES[tree], key, value(value_len, fill, salt));
            }
            Action::PutMany {
                tree,
                start,
                count,
                value_len,
            } => {
                for n in start..start + count {
                    self.put(TREES[tree], num_key(n), value(value_len, n as u8, n));
                }
            }
            Action::Delete { tree, key } => self.delete(TREES[tree], key),
            Action::DeleteMany { tree, start, count } => {
                for n in start..start + count {
                    self.delete(TREES[tree], num_key(n));
                }
            }
            Action::Create(tree) => self.ensure_tree(TREES[tree]),
            Action::Drop(tree) => {
                self.batch.drop_tree(TREES[tree]);
                self.pending.remove(TREES[tree]);
            }
            Action::UserMeta(byte) => self.batch.set_user_meta(vec![byte; usize::from(byte) % 20]),
            Action::Checkpoint => self.checkpoint(),
            Action::Reopen => self.reopen(),
            Action::HoldView => {
                let view = self.store().view();
                self.held.push((view, self.committed.clone()));
            }
            Action::Get { tree, key } => {
                let view = self.store().view();
                match self.committed.get(TREES[tree]) {
                    None => assert!(view.get(TREES[tree], &key).is_err()),
                    Some(entries) => assert_eq!(
                        view.get(TREES[tree], &key).unwrap().as_deref(),
                        entries.get(&key).map(|v| &v[..])
                    ),
                }
            }
            Action::Scan {
                tree,
                lower,
                upper,
                reverse,
                limit,
            } => self.scan(TREES[tree], lower, upper, reverse, limit),
        }
    }
}

fn run_actions(actions: Vec<Action>, seed: u64, os: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let (disk, path): (Arc<dyn Disk>, PathBuf) = if os {
        (Arc::new(OsDisk::new()), tmp.path().join("model.btree"))
    } else {
        (
            Arc::new(SimDisk::new(seed)),
            PathBuf::from("/model/state.btree"),
        )
    };
    let store = BTreeStore::open(Arc::clone(&disk), &path, BTreeOptions::default()).unwrap();
    let mut harness = Harness {
        disk,
        path,
        store: Some(store),
        committed: Model::new(),
        user_meta: Vec::new(),
        batch: WriteBatch::new(),
        pending: Model::new(),
        held: Vec::new(),
    };
    for action in actions {
        harness.run(action);
    }
    harness.checkpoint();
    harness.reopen();
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_store_behaves_like_a_sorted_map(
        actions in proptest::collection::vec(action_strategy(), 1..80),
        seed in any::<u64>(),
        os in proptest::bool::weighted(0.25),
    ) {
        run_actions(actions, seed, os);
    }
}
