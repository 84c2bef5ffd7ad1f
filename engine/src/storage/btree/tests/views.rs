//! Pinned views under later checkpoints, readers on other threads, and
//! free-page reuse keeping the file bounded.

use super::*;
use crate::storage::disk::OsDisk;
use std::sync::mpsc;

fn rewrite_all(store: &mut BTreeStore, tree: &str, keys: u64, tag: u8, value_len: usize) -> Model {
    let mut batch = WriteBatch::new();
    batch.drop_tree(tree);
    batch.create_tree(tree);
    for i in 0..keys {
        batch.put(tree, key(i * 3 + u64::from(tag)), vec![tag; value_len]);
    }
    let mut model = Model::new();
    model.insert(tree.to_string(), BTreeMap::new());
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    model
}

fn pinned_view_survives(disk: Arc<dyn Disk>, path: &Path) {
    let mut store = BTreeStore::open(disk, path, BTreeOptions::default()).unwrap();
    let old_model = rewrite_all(&mut store, "t", 2000, 1, 200);
    let pinned = store.view();
    // Rewrite and delete everything many times; without the pin these
    // checkpoints would reuse the pinned pages within two rounds.
    for round in 0..6u8 {
        rewrite_all(&mut store, "t", 2000, 2 + round % 2, 200);
        let mut batch = WriteBatch::new();
        batch.drop_tree("t");
        store.checkpoint(&batch).unwrap();
        assert_matches(&pinned, &old_model);
    }
    let grown = store.stats();
    assert!(grown.pending_pages > 0, "the pinned pages wait: {grown:?}");
    // A clone on another thread reads the same.
    let clone = pinned.clone();
    let model = old_model.clone();
    std::thread::spawn(move || assert_matches(&clone, &model))
        .join()
        .unwrap();
    drop(pinned);
    // Released: the next checkpoints reuse the space.
    for round in 0..4u8 {
        rewrite_all(&mut store, "t", 2000, round % 3, 200);
    }
    let after = store.stats();
    assert!(
        after.page_count <= grown.page_count,
        "{after:?} vs {grown:?}"
    );
}

#[test]
fn a_pinned_view_keeps_its_checkpoint_on_the_sim_disk() {
    pinned_view_survives(Arc::new(SimDisk::new(31)), Path::new("/v/state.btree"));
}

#[test]
fn a_pinned_view_keeps_its_checkpoint_through_a_shared_memory_map() {
    // With the OS disk all views share the kernel's page cache: reusing a
    // pinned page would show up in the pinned view at once.
    let tmp = tempfile::tempdir().unwrap();
    pinned_view_survives(Arc::new(OsDisk::new()), &tmp.path().join("state.btree"));
}

#[test]
fn readers_on_other_threads_see_whole_checkpoints_while_the_writer_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state.btree");
    let mut store =
        BTreeStore::open(Arc::new(OsDisk::new()), &path, BTreeOptions::default()).unwrap();
    // Checkpoint n sets every key to n; a reader must never see two values.
    let write = |store: &mut BTreeStore, n: u8| {
        let mut batch = WriteBatch::new();
        batch.create_tree("t");
        for i in 0..1500 {
            batch.put("t", key(i), vec![n; 60 + (i as usize % 3) * 40]);
        }
        store.checkpoint(&batch).unwrap();
    };
    write(&mut store, 0);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (send, receive) = mpsc::channel::<ReadView>();
            let first = store.view();
            let handle = std::thread::spawn(move || {
                let mut view = first;
                let mut checked = 0;
                loop {
                    let entries = scan_all(&view, "t");
                    assert_eq!(entries.len(), 1500);
                    let tag = view.txn() as u8 - 1;
                    assert!(
                        entries.iter().all(|(_, v)| v.iter().all(|&b| b == tag)),
                        "mixed checkpoint"
                    );
                    assert_eq!(view.get("t", &key(777)).unwrap().unwrap()[0], tag);
                    checked += 1;
                    match receive.recv() {
                        Ok(next) => view = next,
                        Err(_) => return checked,
                    }
                }
            });
            (send, handle)
        })
        .collect();
    for n in 1..30u8 {
        write(&mut store, n);
        for (send, _) in &readers {
            send.send(store.view()).unwrap();
        }
    }
    for (send, handle) in readers {
        drop(send);
        assert_eq!(handle.join().unwrap(), 30);
    }
    store.view().verify().unwrap();
}

#[test]
fn steady_updates_reuse_freed_pages_and_the_file_stops_growing() {
    let (_, _, mut store) = sim_store(32);
    rewrite_all(&mut store, "t", 3000, 0, 100);
    let mut sizes = Vec::new();
    for round in 0..60u64 {
        let mut batch = WriteBatch::new();
        for i in 0..150 {
            let k = (round * 7919 + i * 104_729) % 3000;
            batch.put("t", key(k * 3), vec![round as u8 + 1; 100]);
        }
        let stats = store.checkpoint(&batch).unwrap();
        assert!(stats.pages_freed > 0);
        sizes.push(store.stats().page_count);
    }
    let settled = sizes[10];
    assert!(
        sizes[10..].iter().all(|&s| s <= settled + 8),
        "page count keeps growing: {sizes:?}"
    );
    assert!(store.stats().file_bytes <= (settled + 64) * 4096 + (1 << 20));
    store.view().verify().unwrap();
}

#[test]
fn the_previous_checkpoint_is_never_overwritten_while_a_view_lives() {
    // The view of checkpoint N pins pages freed by N+1, N+2, ...; after it
    // goes, pages freed by checkpoint M are reused only from M+1 on.
    let (_, _, mut store) = sim_store(33);
    rewrite_all(&mut store, "t", 500, 0, 100);
    let view = store.view();
    let pinned_pages = super::super::verify::reachable_pages(&view.snap).unwrap();
    for round in 1..5u8 {
        rewrite_all(&mut store, "t", 500, round, 100);
        let now = super::super::verify::reachable_pages(&store.view().snap).unwrap();
        assert!(
            now.iter().all(|p| pinned_pages.binary_search(p).is_err()),
            "a pinned page was reused"
        );
    }
    drop(view);
    let before = super::super::verify::reachable_pages(&store.view().snap).unwrap();
    rewrite_all(&mut store, "t", 500, 9, 100);
    let after = super::super::verify::reachable_pages(&store.view().snap).unwrap();
    assert!(
        after.iter().all(|p| before.binary_search(p).is_err()),
        "the fallback checkpoint stays intact"
    );
    assert!(
        after.iter().any(|p| pinned_pages.binary_search(p).is_ok()),
        "released pages are reused"
    );
}

#[test]
fn views_iterators_and_images_can_move_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    fn movable<T: Send>() {}
    shareable::<ReadView>();
    movable::<RangeIter>();
    movable::<ImageReader>();
    movable::<BTreeStore>();
    let (_, _, mut store) = sim_store(34);
    rewrite_all(&mut store, "t", 100, 1, 10);
    let scan = store
        .view()
        .range("t", Bound::Unbounded, Bound::Unbounded, true, Some(3))
        .unwrap();
    let keys = std::thread::spawn(move || scan.map(|r| r.unwrap().0).collect::<Vec<_>>())
        .join()
        .unwrap();
    assert_eq!(
        keys,
        vec![key(298), key(295), key(292)]
            .into_iter()
            .map(Bytes::from)
            .collect::<Vec<_>>()
    );
}
