//! Point reads, scans, splits and merges, overflow entries, limits.

use super::*;

#[test]
fn a_new_store_is_empty_and_survives_reopen() {
    let (disk, path, store) = sim_store(1);
    let view = store.view();
    assert_eq!(view.txn(), 0);
    assert!(view.tree_names().is_empty());
    assert!(matches!(
        view.get("t", b"k"),
        Err(BTreeError::TreeNotFound { .. })
    ));
    drop(store);
    let store = reopen(&disk, &path).unwrap();
    assert_eq!(store.view().txn(), 0);
    assert_eq!(store.stats().page_count, 2);
}

#[test]
fn puts_gets_and_deletes_across_trees() {
    let (disk, path, mut store) = sim_store(2);
    let mut batch = WriteBatch::new();
    batch.create_tree("a");
    batch.create_tree("b");
    batch.put("a", "x", "1");
    batch.put("b", "x", "2");
    batch.set_user_meta(&b"applied=7"[..]);
    let stats = store.checkpoint(&batch).unwrap();
    assert_eq!(stats.txn, 1);
    let view = store.view();
    assert_eq!(view.get("a", b"x").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(view.get("b", b"x").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(view.get("a", b"y").unwrap(), None);
    assert_eq!(&view.user_meta()[..], b"applied=7");

    let mut batch = WriteBatch::new();
    batch.delete("a", "x");
    batch.delete("a", "never");
    store.checkpoint(&batch).unwrap();
    assert_eq!(store.view().get("a", b"x").unwrap(), None);
    assert_eq!(store.view().tree_len("a").unwrap(), 0);
    assert_eq!(
        &store.view().user_meta()[..],
        b"applied=7",
        "user meta carries over"
    );
    // The old view still sees the old value.
    assert_eq!(view.get("a", b"x").unwrap().as_deref(), Some(&b"1"[..]));

    drop((view, store));
    let store = reopen(&disk, &path).unwrap();
    let view = store.view();
    assert_eq!(view.txn(), 2);
    assert_eq!(view.get("b", b"x").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(view.tree_names(), vec!["a", "b"]);
    view.verify().unwrap();
}

#[test]
fn operations_on_a_missing_tree_are_refused_and_change_nothing() {
    let (_, _, mut store) = sim_store(3);
    let mut batch = WriteBatch::new();
    batch.create_tree("a");
    batch.put("nope", "k", "v");
    let err = store.checkpoint(&batch).unwrap_err();
    assert!(
        matches!(err, BTreeError::TreeNotFound { ref name } if name == "nope"),
        "{err}"
    );
    assert_eq!(store.view().txn(), 0);
    assert!(store.view().tree_names().is_empty());
    // Dropping a tree then writing to it without creating it is refused too.
    let mut batch = WriteBatch::new();
    batch.create_tree("a");
    store.checkpoint(&batch).unwrap();
    let mut batch = WriteBatch::new();
    batch.drop_tree("a");
    batch.put("a", "k", "v");
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::TreeNotFound { .. })
    ));
    store.view().verify().unwrap();
}

fn fill(
    store: &mut BTreeStore,
    tree: &str,
    keys: impl Iterator<Item = u64>,
    value_len: usize,
) -> Model {
    let mut batch = WriteBatch::new();
    batch.create_tree(tree);
    for i in keys {
        batch.put(tree, key(i), vec![(i % 251) as u8; value_len]);
    }
    let mut model = Model::new();
    for name in store.view().snap.trees().keys() {
        let entries = scan_all(&store.view(), name);
        model.insert(
            name.clone(),
            entries
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
        );
    }
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    model
}

fn depth(view: &ReadView, tree: &str) -> u8 {
    let root = view.snap.tree(tree).unwrap().root;
    if root == 0 {
        return 0;
    }
    view.snap.node(root).unwrap().level + 1
}

#[test]
fn inserts_split_and_deletes_merge_the_tree_back_down() {
    let (_, _, mut store) = sim_store(4);
    // 300-byte values: about 13 entries a leaf; 5000 keys need three levels.
    let model = fill(&mut store, "t", 0..5000, 300);
    assert_matches(&store.view(), &model);
    assert_eq!(depth(&store.view(), "t"), 3);
    let grown = store.stats();

    // Delete all but every 100th key over a few checkpoints.
    let mut model = model;
    for round in 0..4u64 {
        let mut batch = WriteBatch::new();
        for i in (0..5000).filter(|i| i % 100 != 0 && i % 4 == round) {
            batch.delete("t", key(i));
        }
        apply_to_model(&mut model, &batch);
        store.checkpoint(&batch).unwrap();
        assert_matches(&store.view(), &model);
    }
    assert_eq!(store.view().tree_len("t").unwrap(), 50);
    assert!(depth(&store.view(), "t") <= 2, "the tree shrank");
    let shrunk = store.stats();
    assert!(
        shrunk.in_use_bytes * 10 < grown.in_use_bytes,
        "{shrunk:?} vs {grown:?}"
    );

    // Delete the rest: the tree is empty, rootless, and still usable.
    let mut batch = WriteBatch::new();
    for i in (0..5000).step_by(100) {
        batch.delete("t", key(i));
    }
    store.checkpoint(&batch).unwrap();
    assert_eq!(store.view().snap.tree("t").unwrap().root, 0);
    assert!(scan_all(&store.view(), "t").is_empty());
    let model = fill(&mut store, "t", 10..20, 5);
    assert_matches(&store.view(), &model);
}

#[test]
fn one_checkpoint_can_shrink_a_deep_tree_to_one_key() {
    let (_, _, mut store) = sim_store(5);
    fill(&mut store, "t", 0..5000, 300);
    let mut batch = WriteBatch::new();
    for i in 1..5000 {
        batch.delete("t", key(i));
    }
    store.checkpoint(&batch).unwrap();
    assert_eq!(depth(&store.view(), "t"), 1);
    assert_eq!(scan_all(&store.view(), "t").len(), 1);
    store.view().verify().unwrap();
}

#[test]
fn deleting_a_middle_range_merges_neighbours() {
    let (_, _, mut store) = sim_store(6);
    let mut model = fill(&mut store, "t", 0..3000, 200);
    let mut batch = WriteBatch::new();
    for i in 1000..2990 {
        batch.delete("t", key(i));
    }
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    assert_matches(&store.view(), &model);
}

#[test]
fn huge_keys_and_values_use_overflow_pages_and_work_as_separators() {
    let (disk, path, mut store) = sim_store(7);
    let max = 1536 * 1024;
    // Keys sharing a 1 MiB prefix: every separator between them is longer
    // than a node can hold inline.
    let prefix = vec![b'p'; 1 << 20];
    let big_key = |i: u8| [&prefix[..], &[i; 600][..]].concat();
    let mut batch = WriteBatch::new();
    batch.create_tree("big");
    batch.put("big", vec![b'k'; max], vec![b'v'; max]);
    for i in 0..12u8 {
        batch.put("big", big_key(i), vec![i; 900]);
    }
    batch.put("big", "small", vec![1u8; max]);
    batch.put("big", "a", "b");
    store.checkpoint(&batch).unwrap();
    let view = store.view();
    assert_eq!(
        view.get("big", &vec![b'k'; max]).unwrap().unwrap().len(),
        max
    );
    assert_eq!(
        &view.get("big", b"small").unwrap().unwrap()[..],
        &vec![1u8; max][..]
    );
    for i in 0..12u8 {
        assert_eq!(
            &view.get("big", &big_key(i)).unwrap().unwrap()[..],
            &[i; 900][..]
        );
    }
    assert_eq!(view.get("big", &prefix).unwrap(), None);
    let keys: Vec<Bytes> = scan_all(&view, "big").into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 15);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let reverse: Vec<Bytes> = view
        .range(
            "big",
            Bound::Excluded(&big_key(3)),
            Bound::Included(&big_key(9)),
            true,
            Some(4),
        )
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(
        reverse,
        vec![big_key(9), big_key(8), big_key(7), big_key(6)]
    );
    view.verify().unwrap();

    // Replacing and deleting large entries frees their overflow pages.
    let before = store.stats();
    let mut batch = WriteBatch::new();
    batch.put("big", vec![b'k'; max], "now small");
    batch.delete("big", "small");
    let stats = store.checkpoint(&batch).unwrap();
    assert!(stats.pages_freed >= 2 * 387, "{stats:?}");
    assert!(store.stats().in_use_bytes < before.in_use_bytes - 700 * 4096);
    drop(view);
    let store = reopen(&disk, &path).unwrap();
    assert_eq!(
        &store.view().get("big", &vec![b'k'; max]).unwrap().unwrap()[..],
        b"now small"
    );
    store.view().verify().unwrap();
}

#[test]
fn limits_are_enforced_with_typed_errors() {
    let (_, _, mut store) = sim_store(8);
    let max = 1536 * 1024;
    let mut batch = WriteBatch::new();
    batch.create_tree("t");
    batch.put("t", vec![0u8; max + 1], "v");
    assert!(
        matches!(store.checkpoint(&batch), Err(BTreeError::KeyTooLarge { len, .. }) if len == max + 1)
    );
    let mut batch = WriteBatch::new();
    batch.create_tree("t");
    batch.put("t", "k", vec![0u8; max + 1]);
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::ValueTooLarge { .. })
    ));
    let mut batch = WriteBatch::new();
    batch.set_user_meta(vec![0u8; MAX_USER_META_BYTES + 1]);
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::UserMetaTooLarge { .. })
    ));
    let mut batch = WriteBatch::new();
    batch.create_tree("");
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::InvalidTreeName { .. })
    ));
    assert_eq!(store.view().txn(), 0, "refused batches change nothing");

    // Tree count and file size limits.
    let disk = SimDisk::new(9);
    let options = BTreeOptions {
        max_trees: 2,
        max_file_bytes: 64 * 4096,
        ..BTreeOptions::default()
    };
    let path = Path::new("/d/small");
    let mut store = BTreeStore::open(Arc::new(disk), path, options).unwrap();
    let mut batch = WriteBatch::new();
    for name in ["a", "b", "c"] {
        batch.create_tree(name);
    }
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::TooManyTrees { max: 2 })
    ));
    let mut batch = WriteBatch::new();
    batch.create_tree("a");
    batch.put("a", "k", vec![0u8; 300 * 1024]);
    assert!(matches!(
        store.checkpoint(&batch),
        Err(BTreeError::FileLimit { .. })
    ));
    let mut batch = WriteBatch::new();
    batch.create_tree("a");
    batch.put("a", "k", vec![0u8; 100 * 1024]);
    store.checkpoint(&batch).unwrap();
    store.view().verify().unwrap();
    let bad = BTreeOptions {
        max_value_bytes: 17 << 20,
        ..BTreeOptions::default()
    };
    assert!(matches!(
        BTreeStore::open(Arc::new(SimDisk::new(1)), path, bad),
        Err(BTreeError::InvalidOptions { .. })
    ));
}

#[test]
fn scans_honour_bounds_direction_and_limit() {
    let (_, _, mut store) = sim_store(10);
    // Even keys only, so bounds can fall between keys.
    fill(&mut store, "t", (0..2000).map(|i| i * 2), 150);
    let view = store.view();
    let scan =
        |lower: Bound<u64>, upper: Bound<u64>, reverse: bool, limit: Option<usize>| -> Vec<u64> {
            let lower_key = lower.map(key);
            let upper_key = upper.map(key);
            view.range(
                "t",
                lower_key.as_ref().map(|k| &k[..]),
                upper_key.as_ref().map(|k| &k[..]),
                reverse,
                limit,
            )
            .unwrap()
            .map(|r| {
                let k = r.unwrap().0;
                std::str::from_utf8(&k[3..]).unwrap().parse().unwrap()
            })
            .collect()
        };
    use Bound::*;
    assert_eq!(
        scan(Included(10), Excluded(20), false, None),
        vec![10, 12, 14, 16, 18]
    );
    assert_eq!(
        scan(Excluded(10), Included(20), false, None),
        vec![12, 14, 16, 18, 20]
    );
    assert_eq!(
        scan(Included(11), Included(19), true, None),
        vec![18, 16, 14, 12]
    );
    assert_eq!(
        scan(Excluded(10), Excluded(20), true, Some(2)),
        vec![18, 16]
    );
    assert_eq!(
        scan(Unbounded, Unbounded, true, Some(3)),
        vec![3998, 3996, 3994]
    );
    assert_eq!(scan(Unbounded, Excluded(4), false, None), vec![0, 2]);
    assert_eq!(scan(Included(3997), Unbounded, false, None), vec![3998]);
    assert_eq!(scan(Unbounded, Excluded(0), true, None), Vec::<u64>::new());
    assert_eq!(
        scan(Included(20), Included(10), false, None),
        Vec::<u64>::new()
    );
    assert_eq!(
        scan(Included(20), Included(10), true, None),
        Vec::<u64>::new()
    );
    assert_eq!(
        scan(Excluded(10), Excluded(12), false, None),
        Vec::<u64>::new()
    );
    assert_eq!(
        scan(Unbounded, Unbounded, false, Some(0)),
        Vec::<u64>::new()
    );
    assert_eq!(scan(Unbounded, Unbounded, true, None).len(), 2000);
    // Every leaf boundary is crossed both ways.
    let forward = scan(Unbounded, Unbounded, false, None);
    let mut backward = scan(Unbounded, Unbounded, true, None);
    backward.reverse();
    assert_eq!(forward, backward);
    assert_eq!(forward, (0..2000).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn empty_trees_scan_empty_and_drop_frees_everything() {
    let (_, _, mut store) = sim_store(11);
    let mut batch = WriteBatch::new();
    batch.create_tree("empty");
    store.checkpoint(&batch).unwrap();
    assert!(scan_all(&store.view(), "empty").is_empty());
    let reverse = store
        .view()
        .range("empty", Bound::Unbounded, Bound::Unbounded, true, None)
        .unwrap();
    assert_eq!(reverse.count(), 0);
    fill(&mut store, "full", 0..3000, 100);
    let used = store.stats().in_use_bytes;
    let mut batch = WriteBatch::new();
    batch.drop_tree("full");
    batch.drop_tree("never-existed");
    store.checkpoint(&batch).unwrap();
    assert_eq!(store.view().tree_names(), vec!["empty"]);
    assert!(store.stats().in_use_bytes < used / 10);
    // Recreating in one batch starts empty.
    fill(&mut store, "full", 0..10, 1);
    let mut batch = WriteBatch::new();
    batch.drop_tree("full");
    batch.create_tree("full");
    batch.put("full", "only", "one");
    store.checkpoint(&batch).unwrap();
    assert_eq!(scan_all(&store.view(), "full").len(), 1);
    store.view().verify().unwrap();
}

#[test]
fn unchanged_values_are_not_rewritten() {
    let (_, _, mut store) = sim_store(12);
    fill(&mut store, "t", 0..500, 100);
    let mut batch = WriteBatch::new();
    batch.put("t", key(7), vec![7u8; 100]);
    batch.delete("t", "absent");
    let stats = store.checkpoint(&batch).unwrap();
    // Only the free list (if any) and the meta.
    assert!(stats.pages_written <= 2, "{stats:?}");
    assert!(stats.pages_freed <= 1, "at most the old free-list page");
}

#[test]
fn values_are_zero_copy_slices_of_the_mapping() {
    let (_, _, mut store) = sim_store(13);
    fill(&mut store, "t", 0..10, 100);
    let view = store.view();
    let a = view.get("t", &key(1)).unwrap().unwrap();
    let data = &view.snap;
    let base = data.page(2).unwrap().as_ptr() as usize - 2 * 4096;
    let at = a.as_ptr() as usize;
    assert!(
        at > base && at < base + data.page_count() as usize * 4096,
        "value points into the map"
    );
}
