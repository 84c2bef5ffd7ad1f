//! Compact copies (defragmentation): same content, fewer pages.

use super::*;

/// A store that grew to `keys` entries and then lost most of them.
fn shrunk_store(seed: u64, keys: u64) -> (SimDisk, PathBuf, BTreeStore, Model) {
    let (disk, path, mut store) = sim_store(seed);
    let mut model = Model::new();
    let mut batch = WriteBatch::new();
    for tree in ["kv", "meta"] {
        batch.create_tree(tree);
    }
    for i in 0..keys {
        batch.put("kv", key(i), vec![(i % 13) as u8; 200]);
    }
    batch.put("meta", "overflow", vec![7u8; 40_000]);
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    let mut batch = WriteBatch::new();
    for i in (0..keys).filter(|i| i % 10 != 0) {
        batch.delete("kv", key(i));
    }
    batch.set_user_meta(&b"applied=99"[..]);
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    (disk, path, store, model)
}

#[test]
fn a_compact_copy_holds_the_same_checkpoint_in_fewer_pages() {
    let (disk, path, store, model) = shrunk_store(71, 20_000);
    let before = store.stats();
    let copy = BTreeStore::write_compact_copy(
        Arc::new(disk.clone()),
        &store.view(),
        &path,
        BTreeOptions::default(),
    )
    .unwrap();
    assert_eq!(copy.path(), compact_copy_path(&path));
    assert_matches(&copy.view(), &model);
    assert_eq!(copy.view().user_meta(), Bytes::from_static(b"applied=99"));
    let after = copy.stats();
    assert!(
        after.file_bytes * 4 < before.file_bytes,
        "copy {} bytes, source {}",
        after.file_bytes,
        before.file_bytes
    );
    assert_eq!(
        after.file_bytes,
        after.page_count * PAGE_SIZE_U64,
        "no preallocated tail"
    );
    // The source is untouched and still usable.
    assert_matches(&store.view(), &model);
}

#[test]
fn a_compact_copy_survives_a_crash_and_keeps_taking_checkpoints() {
    let (disk, path, store, mut model) = shrunk_store(72, 3_000);
    let copy_path = compact_copy_path(&path);
    drop(
        BTreeStore::write_compact_copy(
            Arc::new(disk.clone()),
            &store.view(),
            &path,
            BTreeOptions::default(),
        )
        .unwrap(),
    );
    disk.crash();
    let mut copy = reopen(&disk, &copy_path).unwrap();
    assert_matches(&copy.view(), &model);
    let mut batch = WriteBatch::new();
    for i in 0..500 {
        batch.put("kv", key(i), b"again".to_vec());
    }
    apply_to_model(&mut model, &batch);
    copy.checkpoint(&batch).unwrap();
    assert_matches(&copy.view(), &model);
}

#[test]
fn a_leftover_copy_is_replaced_and_an_empty_store_copies() {
    let (disk, path, store) = sim_store(73);
    let disk_arc: Arc<dyn Disk> = Arc::new(disk.clone());
    let copy_path = compact_copy_path(&path);
    let junk = disk_arc.create(&copy_path).unwrap();
    junk.write_all_at(b"not a b-tree", 0).unwrap();
    let copy =
        BTreeStore::write_compact_copy(disk_arc, &store.view(), &path, BTreeOptions::default())
            .unwrap();
    assert!(copy.view().tree_names().is_empty());
    copy.view().verify().unwrap();
}
