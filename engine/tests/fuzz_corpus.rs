//! Every checked-in fuzz input (`fuzz/corpus/<target>/`) through the same
//! functions the fuzz targets call, as ordinary tests (no sanitizer, no
//! libFuzzer): seeds made from valid inputs must be accepted, and no input
//! — regressions of fixed crashes included — may panic.

use keel_engine::fuzzing;
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus for {target}");
    files
}

/// Runs `check` over the corpus; files named `regression-*` only must not
/// panic, every other seed must be accepted.
fn replay<T: std::fmt::Debug>(target: &str, check: impl Fn(&[u8]) -> Result<T, String>) {
    for (name, bytes) in corpus(target) {
        let result = check(&bytes);
        if !name.starts_with("regression-") {
            assert!(result.is_ok(), "{target}/{name}: {result:?}");
        }
    }
}

#[test]
fn wal_recovery_corpus() {
    replay("wal_recovery", fuzzing::wal_recovery);
    let seed = corpus("wal_recovery")
        .into_iter()
        .find(|(name, _)| name == "five_entries")
        .unwrap();
    assert_eq!(fuzzing::wal_recovery(&seed.1), Ok(5));
}

#[test]
fn btree_image_corpus() {
    replay("btree_image", fuzzing::btree_image);
}

#[test]
fn client_frame_corpus() {
    replay("client_frame", fuzzing::client_frame);
}

#[test]
fn peer_frame_corpus() {
    replay("peer_frame", fuzzing::peer_frame);
}

#[test]
fn auth_store_corpus() {
    replay("auth_store", fuzzing::auth_store);
}

#[test]
fn raft_messages_corpus() {
    replay("raft_messages", fuzzing::raft_messages);
}

#[test]
fn kv_ops_corpus() {
    replay("kv_ops", fuzzing::kv_ops);
}
