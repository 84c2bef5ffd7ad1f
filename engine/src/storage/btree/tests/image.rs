//! Snapshot images: export, install, and refusal of damaged images.

use super::*;
use std::io::Read;

/// A store with a few trees, overflow entries and free pages.
fn source() -> (BTreeStore, Model) {
    let (_, _, mut store) = sim_store(41);
    let mut model = Model::new();
    let mut batch = WriteBatch::new();
    for tree in ["kv", "meta", "leases"] {
        batch.create_tree(tree);
    }
    for i in 0..3000 {
        batch.put("kv", key(i), vec![(i % 7) as u8; 120]);
    }
    batch.put("meta", "big", vec![9u8; 50_000]);
    batch.put("meta", vec![b'K'; 2000], "large key");
    batch.set_user_meta(&b"applied=1234"[..]);
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    let mut batch = WriteBatch::new();
    for i in (0..3000).step_by(3) {
        batch.delete("kv", key(i));
    }
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    assert!(store.stats().free_pages + store.stats().pending_pages > 10);
    (store, model)
}

fn export_bytes(view: &ReadView) -> Vec<u8> {
    let mut reader = view.export().unwrap();
    let mut bytes = Vec::new();
    // Small reads, as a chunked transfer would do.
    let mut chunk = [0u8; 1000];
    loop {
        let n = reader.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(bytes.len() as u64, reader.total_bytes());
    bytes
}

#[test]
fn an_exported_image_installs_as_the_same_checkpoint() {
    let (mut store, model) = source();
    let view = store.view();
    let image = export_bytes(&view);
    let reachable = view.verify().unwrap().reachable_pages;
    assert_eq!(
        image.len(),
        60 + 12 + 4 + reachable as usize * (8 + 4096) + 20
    );
    // Checkpoints after the export do not change the image's content.
    let mut batch = WriteBatch::new();
    batch.drop_tree("kv");
    store.checkpoint(&batch).unwrap();
    assert_eq!(export_bytes(&view), image);

    let disk = SimDisk::new(42);
    let path = Path::new("/member2/state.btree");
    let mut installed = BTreeStore::install_image(
        Arc::new(disk.clone()),
        path,
        &mut &image[..],
        BTreeOptions::default(),
    )
    .unwrap();
    let copy = installed.view();
    assert_eq!(copy.txn(), view.txn());
    assert_eq!(&copy.user_meta()[..], b"applied=1234");
    assert_matches(&copy, &model);
    assert_eq!(
        disk.list(Path::new("/member2")).unwrap(),
        vec!["state.btree"],
        "no temporary left"
    );
    // The installed store takes checkpoints and reopens like any other.
    let mut batch = WriteBatch::new();
    batch.put("leases", "l1", "ttl");
    let mut expected = model.clone();
    apply_to_model(&mut expected, &batch);
    installed.checkpoint(&batch).unwrap();
    drop((copy, installed));
    assert_matches(&reopen(&disk, path).unwrap().view(), &expected);
}

#[test]
fn an_image_replaces_an_existing_store() {
    let (store, model) = source();
    let image = export_bytes(&store.view());
    let (disk, path, mut old) = sim_store(43);
    let mut batch = WriteBatch::new();
    batch.create_tree("stale");
    old.checkpoint(&batch).unwrap();
    drop(old);
    let installed = BTreeStore::install_image(
        Arc::new(disk.clone()),
        &path,
        &mut &image[..],
        BTreeOptions::default(),
    )
    .unwrap();
    assert_matches(&installed.view(), &model);
    drop(installed);
    assert_matches(&reopen(&disk, &path).unwrap().view(), &model);
}

/// Installs `image` over an existing store; asserts it is refused with
/// `BadImage` and the existing store is untouched.
fn assert_refused(image: &[u8], what: &str) {
    let (disk, path, mut existing) = sim_store(44);
    let mut batch = WriteBatch::new();
    batch.create_tree("mine");
    batch.put("mine", "k", "v");
    existing.checkpoint(&batch).unwrap();
    drop(existing);
    let result = BTreeStore::install_image(
        Arc::new(disk.clone()),
        &path,
        &mut &image[..],
        BTreeOptions::default(),
    );
    match result {
        Err(BTreeError::BadImage { .. }) => {}
        Err(other) => panic!("{what}: expected BadImage, got {other}"),
        Ok(_) => panic!("{what}: a damaged image was installed"),
    }
    assert_eq!(
        disk.list(path.parent().unwrap()).unwrap(),
        vec!["state.btree"],
        "{what}"
    );
    let store = reopen(&disk, &path).unwrap();
    assert_eq!(
        store.view().get("mine", b"k").unwrap().as_deref(),
        Some(&b"v"[..]),
        "{what}"
    );
}

#[test]
fn truncated_images_are_refused() {
    let (store, _) = source();
    let image = export_bytes(&store.view());
    let header = 60 + 12 + 4;
    let mut cuts = vec![
        0,
        1,
        59,
        60,
        header - 1,
        header,
        header + 8,
        header + 4104,
        image.len() - 21,
        image.len() - 4,
        image.len() - 1,
    ];
    cuts.extend((0..image.len()).step_by(image.len() / 17));
    for cut in cuts {
        assert_refused(&image[..cut], &format!("cut at {cut}"));
    }
    let mut longer = image.clone();
    longer.push(0);
    assert_refused(&longer, "trailing byte");
}

#[test]
fn altered_images_are_refused() {
    let (store, _) = source();
    let image = export_bytes(&store.view());
    let records = (image.len() - 76 - 20) / 4104;
    let mut offsets = vec![
        3,
        20,
        30,
        50,
        64,
        75,
        76,
        80,
        76 + 8 + 100,
        76 + 4104 * (records / 2) + 3,
        image.len() - 15,
        image.len() - 2,
    ];
    offsets.extend((0..image.len()).step_by(image.len() / 23));
    for offset in offsets {
        let mut bad = image.clone();
        bad[offset] ^= 0x20;
        assert_refused(&bad, &format!("flip at {offset}"));
    }
    // A page that is consistent in itself but from another checkpoint's
    // structure (here: one record dropped, checksums recomputed) fails the
    // full check of the installed tree.
    let mut dropped = image[..76].to_vec();
    let count = u64::from_le_bytes(image[48..56].try_into().unwrap()) - 1;
    dropped[48..56].copy_from_slice(&count.to_le_bytes());
    let header_crc = crc32fast::hash(&dropped[..72]);
    dropped[72..76].copy_from_slice(&header_crc.to_le_bytes());
    dropped.extend_from_slice(&image[76 + 4104..image.len() - 20]);
    dropped.extend_from_slice(b"KEELEND1");
    dropped.extend_from_slice(&count.to_le_bytes());
    let crc = crc32fast::hash(&dropped);
    dropped.extend_from_slice(&crc.to_le_bytes());
    assert_refused(&dropped, "a missing page");
}

#[test]
fn a_corrupt_source_fails_the_export_not_the_receiver() {
    let (disk, path, mut store) = sim_store(45);
    let mut batch = WriteBatch::new();
    batch.create_tree("t");
    for i in 0..500 {
        batch.put("t", key(i), vec![1u8; 100]);
    }
    store.checkpoint(&batch).unwrap();
    let root = store.view().snap.tree("t").unwrap().root;
    drop(store);
    disk.corrupt(&path, root * 4096 + 700, 1).unwrap();
    let store = reopen(&disk, &path).unwrap();
    let err = store.view().export().unwrap_err();
    assert_eq!(err.corrupt_page(), Some(root));
}
