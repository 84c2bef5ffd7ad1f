//! Damage on the medium: every flipped bit in a used page is reported as
//! `Corrupt` naming that page by the read that touches it, never as wrong
//! data or a panic; garbage and truncated files are refused on open.

use super::*;
use crate::storage::disk::SimDiskFaults;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A store with several trees, a three-level tree, overflow keys, values
/// and separators, and a free list (several checkpoints).
fn damaged_candidate() -> (SimDisk, PathBuf, Model) {
    let (disk, path, mut models) = checkpoints();
    (disk, path, models.pop().unwrap())
}

/// The candidate and the model of every checkpoint (index = txn).
fn checkpoints() -> (SimDisk, PathBuf, Vec<Model>) {
    let (disk, path, mut store) = sim_store(21);
    let mut model = Model::new();
    let mut models = vec![model.clone()];
    let mut batch = WriteBatch::new();
    batch.create_tree("deep");
    batch.create_tree("big");
    for i in 0..4000 {
        batch.put("deep", key(i), vec![(i % 200) as u8; 250]);
    }
    let long = |i: u8| [vec![b'L'; 700], vec![i; 3]].concat();
    for i in 0..30u8 {
        batch.put("big", long(i), vec![i; if i % 5 == 0 { 9000 } else { 800 }]);
    }
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    models.push(model.clone());
    for round in 0..3u64 {
        let mut batch = WriteBatch::new();
        for i in (round..4000).step_by(37) {
            batch.put("deep", key(i), vec![round as u8; 100]);
        }
        batch.delete("big", long(round as u8));
        apply_to_model(&mut model, &batch);
        store.checkpoint(&batch).unwrap();
        models.push(model.clone());
    }
    assert!(store.stats().free_pages + store.stats().pending_pages > 0);
    assert_eq!(
        store
            .view()
            .snap
            .node(store.view().snap.tree("deep").unwrap().root)
            .unwrap()
            .level,
        2
    );
    (disk, path, models)
}

/// Reads everything the store holds, in every way; returns the first error
/// and asserts that whatever came back before it was right.
fn read_everything(store: &BTreeStore, model: &Model) -> Option<BTreeError> {
    let view = store.view();
    for (tree, entries) in model {
        let scanned = view
            .range(tree, Bound::Unbounded, Bound::Unbounded, false, None)
            .unwrap();
        for (item, (mk, mv)) in scanned.zip(entries) {
            match item {
                Ok((k, v)) => assert!(k[..] == mk[..] && v[..] == mv[..], "wrong data in {tree}"),
                Err(err) => return Some(err),
            }
        }
        let reversed = view
            .range(tree, Bound::Unbounded, Bound::Unbounded, true, Some(50))
            .unwrap();
        for (item, (mk, mv)) in reversed.zip(entries.iter().rev()) {
            match item {
                Ok((k, v)) => assert!(k[..] == mk[..] && v[..] == mv[..], "wrong data in {tree}"),
                Err(err) => return Some(err),
            }
        }
        for (k, v) in entries {
            match view.get(tree, k) {
                Ok(got) => assert_eq!(got.as_deref(), Some(&v[..]), "wrong value in {tree}"),
                Err(err) => return Some(err),
            }
        }
    }
    view.verify().err()
}

#[test]
fn a_flipped_bit_in_any_used_page_is_reported_as_that_page() {
    let (disk, path, model) = damaged_candidate();
    let store = reopen(&disk, &path).unwrap();
    let view = store.view();
    let snap = &view.snap;
    let mut used = super::super::verify::reachable_pages(snap).unwrap();
    let list = super::super::freelist::load(snap).unwrap();
    used.extend(&list.chain);
    assert!(used.len() > 150, "{} pages", used.len());
    drop((view, store));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for &page in &used {
        let offset = page * 4096 + rng.gen_range(0..4096);
        let mask = 1u8 << rng.gen_range(0..8);
        disk.corrupt(&path, offset, mask).unwrap();
        let error = match reopen(&disk, &path) {
            // The free list and catalog are read on open.
            Err(err) => err,
            Ok(store) => read_everything(&store, &model).expect("the damage is found"),
        };
        assert_eq!(
            error.corrupt_page(),
            Some(page),
            "flip at byte {offset}: {error}"
        );
        assert!(
            error.to_string().contains("state.btree"),
            "names the file: {error}"
        );
        disk.corrupt(&path, offset, mask).unwrap();
    }
    // Repaired, the store reads cleanly again.
    let store = reopen(&disk, &path).unwrap();
    assert!(read_everything(&store, &model).is_none());
}

#[test]
fn a_damaged_newest_meta_falls_back_to_the_previous_checkpoint() {
    let (disk, path, mut store) = sim_store(22);
    let mut batch = WriteBatch::new();
    batch.create_tree("t");
    batch.put("t", "k", "one");
    store.checkpoint(&batch).unwrap();
    let mut batch = WriteBatch::new();
    batch.put("t", "k", "two");
    store.checkpoint(&batch).unwrap();
    drop(store);
    // Checkpoint 2 is in meta page 0.
    disk.corrupt(&path, 200, 0x10).unwrap();
    let store = reopen(&disk, &path).unwrap();
    assert_eq!(store.view().txn(), 1);
    assert_eq!(
        store.view().get("t", b"k").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    drop(store);
    disk.corrupt(&path, 4096 + 40, 0x01).unwrap();
    let err = reopen(&disk, &path).unwrap_err();
    assert_eq!(err.corrupt_page(), Some(0), "{err}");
    assert!(err.to_string().contains("no valid meta"), "{err}");
}

fn write_file(disk: &SimDisk, path: &Path, bytes: &[u8]) {
    if disk.exists(path).unwrap() {
        disk.remove_file(path).unwrap();
    }
    disk.create_dir_all(path.parent().unwrap()).unwrap();
    let file = disk.create(path).unwrap();
    file.write_all_at(bytes, 0).unwrap();
    file.sync_data().unwrap();
}

#[test]
fn garbage_files_are_refused_on_open() {
    let disk = SimDisk::new(23);
    let path = Path::new("/g/state.btree");
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    for len in [0usize, 1, 100, 4096, 8191, 8192, 12_288, 50_000, 200_000] {
        for _ in 0..4 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            write_file(&disk, path, &bytes);
            let err = reopen(&disk, path).unwrap_err();
            assert!(err.corrupt_page().is_some(), "{len} bytes: {err}");
        }
    }
    // A valid meta over garbage pages: open or the first read fails.
    let (good_disk, good_path, _) = damaged_candidate();
    let mut bytes =
        crate::storage::disk::read_whole(good_disk.open(&good_path).unwrap().as_ref()).unwrap();
    for byte in &mut bytes[8192..] {
        *byte = rng.r#gen();
    }
    write_file(&disk, path, &bytes);
    match reopen(&disk, path) {
        Err(err) => assert!(err.corrupt_page().is_some_and(|p| p >= 2), "{err}"),
        Ok(store) => assert!(store.view().verify().unwrap_err().corrupt_page().is_some()),
    }
}

#[test]
fn truncated_files_are_refused_on_open() {
    let (disk, path, model) = damaged_candidate();
    let bytes = crate::storage::disk::read_whole(disk.open(&path).unwrap().as_ref()).unwrap();
    let page_count = reopen(&disk, &path).unwrap().stats().page_count as usize;
    let other = Path::new("/t/state.btree");
    for len in [
        0,
        4096,
        8191,
        8192,
        20_000,
        page_count * 4096 - 1,
        page_count * 4096 - 4096,
    ] {
        write_file(&disk, other, &bytes[..len]);
        let err = reopen(&disk, other).unwrap_err();
        assert!(err.corrupt_page().is_some(), "{len} bytes: {err}");
    }
    // Cutting only preallocated space loses nothing.
    write_file(&disk, other, &bytes[..page_count * 4096]);
    let store = reopen(&disk, other).unwrap();
    assert!(read_everything(&store, &model).is_none());
}

#[test]
fn bit_flips_on_read_give_errors_never_wrong_data() {
    let (disk, path, models) = checkpoints();
    let (mut opened, mut failed) = (0, 0);
    for round in 0..40 {
        disk.set_faults(SimDiskFaults {
            read_bit_flip_probability: if round % 2 == 0 { 1.0 } else { 0.3 },
            ..SimDiskFaults::default()
        });
        match reopen(&disk, &path) {
            Ok(store) => {
                opened += 1;
                // A flip in the newest meta looks like a torn meta write:
                // open falls back to the previous checkpoint, whose data
                // must then be exactly right.
                let txn = store.view().txn() as usize;
                assert!(txn + 1 >= models.len() - 1, "at most one checkpoint back");
                if let Some(err) = read_everything(&store, &models[txn]) {
                    assert!(err.corrupt_page().is_some(), "{err}");
                    failed += 1;
                }
            }
            Err(err) => {
                assert!(err.corrupt_page().is_some(), "{err}");
                failed += 1;
            }
        }
    }
    assert!(
        opened > 0 && failed > 10,
        "{opened} opened, {failed} failed"
    );
    disk.set_faults(SimDiskFaults::default());
    let last = models.last().unwrap();
    assert!(read_everything(&reopen(&disk, &path).unwrap(), last).is_none());
}

#[test]
fn a_page_written_to_the_wrong_place_is_detected() {
    let (disk, path, model) = damaged_candidate();
    let store = reopen(&disk, &path).unwrap();
    let root = store.view().snap.tree("deep").unwrap().root;
    let leaf = {
        let view = store.view();
        let node = view.snap.node(root).unwrap();
        let child = node.child(1).unwrap();
        view.snap.node(child).unwrap().child(0).unwrap()
    };
    drop(store);
    // Copy a sibling leaf's bytes over this leaf (a misdirected write).
    let file = disk.open(&path).unwrap();
    let mut other = vec![0u8; 4096];
    file.read_exact_at(&mut other, (leaf + 1) * 4096).unwrap();
    file.write_all_at(&other, leaf * 4096).unwrap();
    file.sync_data().unwrap();
    let store = reopen(&disk, &path).unwrap();
    let err = read_everything(&store, &model).unwrap();
    assert_eq!(err.corrupt_page(), Some(leaf));
    assert!(err.to_string().contains("names page"), "{err}");
}
