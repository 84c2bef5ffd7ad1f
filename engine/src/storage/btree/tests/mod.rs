//! Behaviour tests of the B-tree store, against SimDisk (and OsDisk where
//! the memory map itself matters).

mod basics;
mod compact;
mod corruption;
mod crash;
mod image;
mod model;
mod views;

use super::*;
use crate::storage::disk::SimDisk;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A store on a fresh simulated disk.
fn sim_store(seed: u64) -> (SimDisk, PathBuf, BTreeStore) {
    let disk = SimDisk::new(seed);
    let path = PathBuf::from("/data/state.btree");
    let store = BTreeStore::open(Arc::new(disk.clone()), &path, BTreeOptions::default()).unwrap();
    (disk, path, store)
}

fn reopen(disk: &SimDisk, path: &Path) -> BTreeResult<BTreeStore> {
    BTreeStore::open(Arc::new(disk.clone()), path, BTreeOptions::default())
}

/// Every entry of a tree, forward.
fn scan_all(view: &ReadView, tree: &str) -> Vec<(Bytes, Bytes)> {
    view.range(tree, Bound::Unbounded, Bound::Unbounded, false, None)
        .unwrap()
        .collect::<BTreeResult<Vec<_>>>()
        .unwrap()
}

/// A model of the whole store: tree → key → value.
type Model = BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>;

/// Asserts that `view` holds exactly `model` (scans and point reads).
fn assert_matches(view: &ReadView, model: &Model) {
    assert_eq!(view.tree_names(), model.keys().cloned().collect::<Vec<_>>());
    for (tree, entries) in model {
        let got = scan_all(view, tree);
        assert_eq!(got.len(), entries.len(), "tree {tree} size");
        for ((k, v), (mk, mv)) in got.iter().zip(entries) {
            assert_eq!(&k[..], &mk[..], "tree {tree} key order");
            assert_eq!(&v[..], &mv[..], "tree {tree} value of {mk:?}");
        }
        assert_eq!(view.tree_len(tree).unwrap(), entries.len() as u64);
        for (k, v) in entries.iter().step_by(7) {
            assert_eq!(view.get(tree, k).unwrap().as_deref(), Some(&v[..]));
        }
    }
    view.verify().unwrap();
}

/// Applies a batch to a model the way a checkpoint should.
fn apply_to_model(model: &mut Model, batch: &WriteBatch) {
    for (tree, changes) in &batch.trees {
        use batch::Reset;
        if matches!(changes.reset, Reset::Drop | Reset::Recreate) {
            model.remove(tree);
        }
        if matches!(changes.reset, Reset::Create | Reset::Recreate) {
            model.entry(tree.clone()).or_default();
        }
        if changes.ops.is_empty() {
            continue;
        }
        let entries = model.get_mut(tree).expect("ops only on existing trees");
        for (k, v) in &changes.ops {
            match v {
                Some(v) => entries.insert(k.to_vec(), v.to_vec()),
                None => entries.remove(&k[..]),
            };
        }
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}
