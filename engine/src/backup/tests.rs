use super::*;
use crate::api::{LeaseGrantRequest, Member, PutRequest, RangeRequest, Request, Response};
use crate::node::proposal::ProposalBody;
use crate::node::{db_path, wal_dir};
use crate::raft_log::RaftLog;
use crate::state_machine::StateMachine;
use crate::storage::disk::{Disk, OsDisk};
use crate::storage::wal::{Wal, WalOptions};
use bytes::Bytes;
use sha2::Digest;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn member(id: u64, name: &str) -> Member {
    Member {
        id,
        name: name.into(),
        peer_urls: vec![format!("http://127.0.0.1:{}", 2380 + id)],
        client_urls: vec![],
        is_learner: false,
    }
}

fn disk() -> Arc<dyn Disk> {
    Arc::new(OsDisk::new())
}

/// A member's state with `keys` puts and a lease, checkpointed.
fn state_with(dir: &Path, keys: usize) -> StateMachine {
    let mut sm = StateMachine::bootstrap(
        disk(),
        &dir.join("db"),
        77,
        &[member(1, "a"), member(2, "b")],
    )
    .unwrap();
    let apply = |sm: &mut StateMachine, body: ProposalBody| {
        let index = sm.applied_index() + 1;
        sm.apply(index, &body, None).unwrap().unwrap();
        sm.set_applied(index, 3);
    };
    apply(
        &mut sm,
        ProposalBody::Client(Request::LeaseGrant(LeaseGrantRequest {
            ttl_seconds: 100,
            id: 9,
        })),
    );
    for i in 0..keys {
        apply(
            &mut sm,
            ProposalBody::Client(Request::Put(PutRequest {
                key: Bytes::from(format!("key-{i:05}")),
                value: Bytes::from(vec![b'v'; 300]),
                lease: if i == 0 { 9 } else { 0 },
                ..PutRequest::default()
            })),
        );
    }
    sm.checkpoint().unwrap();
    sm
}

fn save(sm: &StateMachine, to: &Path) -> u64 {
    let image = sm.latest_checkpoint().unwrap().view.export().unwrap();
    let mut stream = BackupStream::new(image);
    let total = stream.total_bytes();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    assert_eq!(
        bytes.len() as u64,
        total,
        "the stream is as long as it says"
    );
    // In pieces, as the servers send it: the same bytes, counted down.
    let image = sm.latest_checkpoint().unwrap().view.export().unwrap();
    let mut pieces = BackupStream::new(image);
    let mut joined = Vec::new();
    let mut last_remaining = total;
    while let Some((piece, remaining)) = pieces.next_piece(1000).unwrap() {
        assert!(piece.len() <= 1000 && !piece.is_empty());
        assert_eq!(remaining, last_remaining - piece.len() as u64);
        last_remaining = remaining;
        joined.extend_from_slice(&piece);
    }
    assert_eq!((last_remaining, &joined), (0, &bytes));
    std::fs::write(to, &bytes).unwrap();
    total
}

fn value(sm: &StateMachine, key: &str) -> Option<Bytes> {
    let request = Request::Range(RangeRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        ..RangeRequest::default()
    });
    match sm.read(&request).unwrap() {
        Response::Range(r) => r.kvs.first().map(|kv| kv.value.clone()),
        other => panic!("unexpected {other:?}"),
    }
}

fn target(dir: PathBuf) -> RestoreTarget {
    RestoreTarget {
        data_dir: dir,
        wal_dir: None,
        cluster_id: 0xc1,
        members: vec![member(11, "x"), member(12, "y"), member(13, "z")],
        skip_hash_check: false,
    }
}

#[test]
fn a_backup_is_etcds_shape_and_its_status_counts_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let sm = state_with(dir.path(), 200);
    let file = dir.path().join("backup.db");
    let total = save(&sm, &file);
    assert_eq!(total % 512, 32, "etcdctl's test for a hash trailer");
    let status = status(disk(), &file).unwrap();
    assert_eq!(status.revision, 201);
    assert_eq!(status.revision, sm.revision());
    // 200 revisions, 2 members, 1 lease, at least the compact-revision meta.
    assert!(status.total_key >= 203, "{status:?}");
    assert!(status.total_size >= 4096 * 4, "{status:?}");
    // The hash depends on the content only.
    let again = dir.path().join("again.db");
    save(&sm, &again);
    assert_eq!(super::status(disk(), &again).unwrap().hash, status.hash);
    let other_dir = tempfile::tempdir().unwrap();
    let other = state_with(other_dir.path(), 199);
    let other_file = other_dir.path().join("backup.db");
    save(&other, &other_file);
    assert_ne!(
        super::status(disk(), &other_file).unwrap().hash,
        status.hash
    );
}

#[test]
fn torn_altered_and_foreign_files_are_refused_with_etcds_messages() {
    let dir = tempfile::tempdir().unwrap();
    let sm = state_with(dir.path(), 50);
    let file = dir.path().join("backup.db");
    save(&sm, &file);
    let bytes = std::fs::read(&file).unwrap();

    // etcd's e2e test: 512 zero bytes written over the start.
    let altered = dir.path().join("altered.db");
    let mut copy = bytes.clone();
    copy[..512].fill(0);
    std::fs::write(&altered, &copy).unwrap();
    let err = status(disk(), &altered).unwrap_err();
    assert!(err.to_string().starts_with("expected sha256 ["), "{err}");
    let err = restore(disk(), &altered, &target(dir.path().join("r1"))).unwrap_err();
    assert!(matches!(err, BackupError::HashMismatch { .. }), "{err}");
    assert!(!dir.path().join("r1").exists(), "nothing is left behind");

    // Torn: the hash trailer is gone.
    let torn = dir.path().join("torn.db");
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
    let err = restore(disk(), &torn, &target(dir.path().join("r2"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "snapshot missing hash but --skip-hash-check=false"
    );
    // Skipping the hash still checks the image.
    let mut skip = target(dir.path().join("r3"));
    skip.skip_hash_check = true;
    let err = restore(disk(), &torn, &skip).unwrap_err();
    assert!(matches!(err, BackupError::BadImage(_)), "{err}");
    assert!(!dir.path().join("r3").exists());
    let mut flipped = bytes.clone();
    flipped[5000] ^= 1;
    let flipped_file = dir.path().join("flipped.db");
    std::fs::write(&flipped_file, &flipped).unwrap();
    let err = restore(disk(), &flipped_file, &skip).unwrap_err();
    assert!(matches!(err, BackupError::BadImage(_)), "{err}");

    // Not a snapshot at all, and no file.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 512 + 32]).unwrap();
    assert!(matches!(
        status(disk(), &garbage),
        Err(BackupError::HashMismatch { .. })
    ));
    skip.data_dir = dir.path().join("r4");
    assert!(matches!(
        restore(disk(), &garbage, &skip),
        Err(BackupError::BadImage(_))
    ));
    let missing = status(disk(), &dir.path().join("missing.db")).unwrap_err();
    assert!(matches!(missing, BackupError::Io(_)), "{missing}");
}

#[test]
fn a_restore_keeps_keys_revisions_and_leases_and_makes_a_new_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let sm = state_with(dir.path(), 20);
    let applied = sm.applied_index();
    let file = dir.path().join("backup.db");
    save(&sm, &file);

    let restored_dir = dir.path().join("restored");
    let report = restore(disk(), &file, &target(restored_dir.clone())).unwrap();
    assert_eq!(
        report,
        RestoreReport {
            revision: 21,
            index: applied
        }
    );
    let err = restore(disk(), &file, &target(restored_dir.clone())).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("data-dir {:?} exists", restored_dir.display().to_string())
    );

    let state = StateMachine::open(disk(), &db_path(&restored_dir)).unwrap();
    assert_eq!(state.revision(), 21);
    assert_eq!(value(&state, "key-00007").unwrap().len(), 300);
    assert_eq!(state.lease(9).map(|l| l.ttl_seconds), Some(100));
    assert_eq!(state.cluster_id(), 0xc1);
    assert_eq!(state.conf_state().voters, vec![11, 12, 13]);
    let names: Vec<String> = state.members().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["x", "y", "z"]);
    assert!(state.alarms().is_empty());
    assert_eq!((state.applied_index(), state.applied_term()), (applied, 1));

    // The log starts right after the state, committed, at term 1.
    let log = RaftLog::open(
        disk(),
        &wal_dir(&restored_dir),
        WalOptions::default(),
        state.applied_index(),
        state.conf_state().clone(),
        state.latest_checkpoint(),
    )
    .unwrap();
    let initial = raft::Storage::initial_state(&log).unwrap();
    assert_eq!(initial.hard_state.term, 1);
    assert_eq!(initial.hard_state.commit, applied);
    assert_eq!(initial.conf_state.voters, vec![11, 12, 13]);
    assert_eq!(raft::Storage::first_index(&log).unwrap(), applied + 1);
}

#[test]
fn a_backup_in_memory_restores_onto_any_disk() {
    let dir = tempfile::tempdir().unwrap();
    let sm = state_with(dir.path(), 30);
    let file = dir.path().join("backup.db");
    save(&sm, &file);
    let bytes = std::fs::read(&file).unwrap();

    let image = image_of(&bytes).unwrap();
    let sim = crate::storage::disk::SimDisk::new(7);
    let sim_disk: Arc<dyn Disk> = Arc::new(sim.clone());
    let target = target(PathBuf::from("/restored"));
    let report = restore_image(Arc::clone(&sim_disk), &mut &image[..], &target).unwrap();
    assert_eq!(report.revision, 31);
    let state = StateMachine::open(Arc::clone(&sim_disk), &db_path(&target.data_dir)).unwrap();
    assert_eq!(value(&state, "key-00029").unwrap().len(), 300);
    drop(state);
    // Not over existing data, even on a simulated disk.
    let again = restore_image(sim_disk, &mut &image[..], &target).unwrap_err();
    assert!(matches!(again, BackupError::DataDirExists(_)), "{again}");

    let mut altered = bytes.clone();
    altered[100] ^= 0x10;
    assert!(matches!(
        image_of(&altered),
        Err(BackupError::HashMismatch { .. })
    ));
    assert!(matches!(
        image_of(&bytes[..bytes.len() - 1]),
        Err(BackupError::MissingHash)
    ));
    let mut foreign = vec![0u8; 512];
    let hash: [u8; 32] = sha2::Sha256::digest(&foreign).into();
    foreign.extend_from_slice(&hash);
    assert!(matches!(image_of(&foreign), Err(BackupError::BadImage(_))));
}

#[test]
fn a_restore_with_a_wal_dir_writes_the_raft_log_there_and_never_over_one() {
    let dir = tempfile::tempdir().unwrap();
    let sm = state_with(dir.path(), 20);
    let applied = sm.applied_index();
    let file = dir.path().join("backup.db");
    save(&sm, &file);

    let restored_dir = dir.path().join("restored");
    let own_wal = dir.path().join("disk2").join("wal");
    let mut with_wal = target(restored_dir.clone());
    with_wal.wal_dir = Some(own_wal.clone());
    restore(disk(), &file, &with_wal).unwrap();
    assert!(Wal::exists(disk().as_ref(), &own_wal).unwrap());
    assert!(
        !wal_dir(&restored_dir).exists(),
        "nothing under data-dir/wal"
    );
    let state = StateMachine::open(disk(), &db_path(&restored_dir)).unwrap();
    let log = RaftLog::open(
        disk(),
        &own_wal,
        WalOptions::default(),
        state.applied_index(),
        state.conf_state().clone(),
        state.latest_checkpoint(),
    )
    .unwrap();
    assert_eq!(log.last_index_now(), applied);

    // An existing --wal-dir is refused, as etcdctl refuses it, and the
    // data directory is not made.
    let other_dir = dir.path().join("restored-2");
    let mut over = target(other_dir.clone());
    over.wal_dir = Some(own_wal.clone());
    let err = restore(disk(), &file, &over).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("wal-dir {:?} exists", own_wal.display().to_string())
    );
    assert!(!other_dir.exists());

    // A failed restore leaves neither directory behind.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 512 * 3]).unwrap();
    let mut failed = target(dir.path().join("restored-3"));
    failed.wal_dir = Some(dir.path().join("wal-3"));
    failed.skip_hash_check = true;
    assert!(restore(disk(), &garbage, &failed).is_err());
    assert!(!dir.path().join("restored-3").exists());
    assert!(!dir.path().join("wal-3").exists());
}
