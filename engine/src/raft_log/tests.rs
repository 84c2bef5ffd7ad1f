use super::*;
use crate::storage::disk::SimDisk;
use proptest::prelude::*;
use raft::Storage;

const DIR: &str = "/m/wal";

fn open(disk: &SimDisk, applied: u64) -> RaftLog {
    RaftLog::open(
        Arc::new(disk.clone()),
        Path::new(DIR),
        WalOptions {
            segment_bytes: 4096,
            ..WalOptions::default()
        },
        applied,
        ConfState::default(),
        None,
    )
    .unwrap()
}

fn entry(index: u64, term: u64, data: &str) -> Entry {
    Entry {
        index,
        term,
        data: Bytes::copy_from_slice(data.as_bytes()),
        ..Entry::default()
    }
}

fn get(log: &RaftLog, lo: u64, hi: u64) -> Vec<Entry> {
    log.entries(lo, hi, None, GetEntriesContext::empty(false))
        .unwrap()
}

#[test]
fn entries_terms_and_bounds_follow_the_storage_contract() {
    let disk = SimDisk::new(1);
    let mut log = open(&disk, 0);
    log.append(
        &(1..=10)
            .map(|i| entry(i, 1 + i / 5, "x"))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    log.sync().unwrap();
    assert_eq!(
        (log.first_index().unwrap(), log.last_index().unwrap()),
        (1, 10)
    );
    assert_eq!(
        get(&log, 3, 6).iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(log.term(5).unwrap(), 2);
    assert!(matches!(
        log.entries(5, 12, None, GetEntriesContext::empty(false)),
        Err(raft::Error::Store(StorageError::Unavailable))
    ));
    log.compact(6).unwrap();
    assert_eq!(log.first_index().unwrap(), 6);
    assert_eq!(
        log.term(5).unwrap(),
        2,
        "the term before the first entry still answers"
    );
    assert!(matches!(
        log.term(4),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    assert!(matches!(
        log.entries(4, 7, None, GetEntriesContext::empty(false)),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    let limited = log
        .entries(6, 11, Some(1), GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(
        limited.len(),
        1,
        "at least one entry even over the size limit"
    );
}

#[test]
fn a_reopened_log_has_its_hard_state_entries_and_configuration() {
    let disk = SimDisk::new(2);
    let mut log = open(&disk, 0);
    let mut cc = entry(1, 1, "");
    cc.set_entry_type(EntryType::EntryConfChangeV2);
    cc.context = Bytes::from_static(b"ctx");
    log.append(&[cc.clone(), entry(2, 1, "a"), entry(3, 2, "b")])
        .unwrap();
    let hs = HardState {
        term: 2,
        vote: 7,
        commit: 2,
        ..HardState::default()
    };
    log.set_hard_state(&hs).unwrap();
    log.sync().unwrap();
    drop(log);
    let conf = ConfState {
        voters: vec![7, 8],
        ..ConfState::default()
    };
    let log = RaftLog::open(
        Arc::new(disk.clone()),
        Path::new(DIR),
        WalOptions {
            segment_bytes: 4096,
            ..WalOptions::default()
        },
        1,
        conf.clone(),
        None,
    )
    .unwrap();
    let state = log.initial_state().unwrap();
    assert_eq!(state.hard_state, hs);
    assert_eq!(state.conf_state, conf);
    assert_eq!(
        get(&log, 1, 4),
        vec![cc, entry(2, 1, "a"), entry(3, 2, "b")]
    );
}

#[test]
fn the_commit_index_is_never_below_the_applied_index() {
    let disk = SimDisk::new(3);
    let mut log = open(&disk, 0);
    log.append(&[entry(1, 1, "a"), entry(2, 1, "b")]).unwrap();
    log.sync().unwrap();
    drop(log);
    let log = open(&disk, 2);
    assert_eq!(log.initial_state().unwrap().hard_state.commit, 2);
}

#[test]
fn a_log_behind_the_applied_state_is_refused() {
    let disk = SimDisk::new(4);
    let mut log = open(&disk, 0);
    log.append(&(1..=10).map(|i| entry(i, 1, "x")).collect::<Vec<_>>())
        .unwrap();
    log.sync().unwrap();
    log.compact(9).unwrap();
    drop(log);
    let refused = RaftLog::open(
        Arc::new(disk.clone()),
        Path::new(DIR),
        WalOptions::default(),
        3,
        ConfState::default(),
        None,
    );
    assert!(matches!(refused, Err(NodeError::Corrupt(_))));
}

#[test]
fn a_snapshot_from_the_leader_replaces_a_conflicting_log() {
    let disk = SimDisk::new(5);
    let mut log = open(&disk, 0);
    log.append(&(1..=5).map(|i| entry(i, 1, "old")).collect::<Vec<_>>())
        .unwrap();
    log.sync().unwrap();
    let mut metadata = SnapshotMetadata {
        index: 8,
        term: 3,
        ..SnapshotMetadata::default()
    };
    metadata.set_conf_state(ConfState {
        voters: vec![1, 2, 3],
        ..ConfState::default()
    });
    log.apply_snapshot(&metadata).unwrap();
    assert_eq!(
        (log.first_index().unwrap(), log.last_index().unwrap()),
        (9, 8)
    );
    assert_eq!(log.term(8).unwrap(), 3);
    assert_eq!(log.snapshot(0, 2).unwrap().get_metadata(), &metadata);
    drop(log);
    let log = open(&disk, 8);
    assert_eq!(log.initial_state().unwrap().hard_state.commit, 8);
    assert_eq!(
        (log.first_index().unwrap(), log.last_index().unwrap()),
        (9, 8)
    );
}

#[test]
fn snapshot_requests_are_answered_from_the_newest_checkpoint() {
    let disk = SimDisk::new(6);
    let log = open(&disk, 0);
    assert!(matches!(
        log.snapshot(0, 2),
        Err(raft::Error::Store(
            StorageError::SnapshotTemporarilyUnavailable
        ))
    ));
}

#[test]
fn entry_payloads_reject_garbage() {
    let bad = |payload: &'static [u8]| WalEntry {
        index: 1,
        term: 1,
        payload: Bytes::from_static(payload),
    };
    assert!(decode_entry(&bad(b"")).is_err());
    assert!(decode_entry(&bad(&[9, 0, 0, 0, 0])).is_err());
    assert!(decode_entry(&bad(&[0, 0, 0, 0, 9, 1])).is_err());
    assert!(decode_entry(&bad(&[0, 0, 0])).is_err());
}

proptest! {
    /// Reads through the cache agree with reads from the WAL alone, across
    /// appends that replace suffixes and compactions.
    #[test]
    fn the_cache_agrees_with_the_wal(
        appends in prop::collection::vec((0u64..4, 1u64..8, 0usize..40), 1..30),
        compact_at in prop::option::of(0u64..10),
    ) {
        let disk = SimDisk::new(9);
        let mut log = open(&disk, 0);
        let mut term = 1;
        for (back, count, size) in appends {
            let start = (log.last_index().unwrap() + 1).saturating_sub(back).max(log.first_index().unwrap());
            term += u64::from(back > 0);
            let new: Vec<Entry> = (start..start + count).map(|i| entry(i, term, &"v".repeat(size))).collect();
            log.append(&new).unwrap();
            log.sync().unwrap();
        }
        if let Some(back) = compact_at {
            let keep = log.last_index().unwrap().saturating_sub(back).max(1);
            log.compact(keep).unwrap();
        }
        let (first, last) = (log.first_index().unwrap(), log.last_index().unwrap());
        let through_cache = get(&log, first, last + 1);
        let wal_only: Vec<Entry> = log.wal.entries(first, last + 1, None).unwrap().iter().map(|e| decode_entry(e).unwrap()).collect();
        prop_assert_eq!(&through_cache, &wal_only);
        for e in &wal_only {
            prop_assert_eq!(log.term(e.index).unwrap(), e.term);
        }
    }
}
