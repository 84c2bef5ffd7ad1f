use super::*;
use crate::storage::disk::{SimDisk, SimDiskFaults};
use proptest::prelude::*;

const DIR: &str = "/member/wal";

fn options(segment_bytes: u64) -> WalOptions {
    WalOptions {
        segment_bytes,
        ..WalOptions::default()
    }
}

fn open(disk: &SimDisk, segment_bytes: u64) -> WalResult<(Wal, Recovered)> {
    Wal::open(
        Arc::new(disk.clone()),
        Path::new(DIR),
        options(segment_bytes),
    )
}

fn entry(index: u64, term: u64, size: usize) -> WalEntry {
    let byte = (index as u8).wrapping_mul(31).wrapping_add(term as u8);
    WalEntry {
        index,
        term,
        payload: Bytes::from(vec![byte; size]),
    }
}

/// The log as a plain vector: what the WAL must hold.
#[derive(Debug, Clone, PartialEq, Default)]
struct Model {
    snapshot: (u64, u64),
    entries: Vec<WalEntry>,
    hard_state: HardState,
}

impl Model {
    fn last_index(&self) -> u64 {
        self.entries.last().map_or(self.snapshot.0, |e| e.index)
    }

    fn append(&mut self, new: &[WalEntry]) {
        if let Some(first) = new.first() {
            self.entries.retain(|e| e.index < first.index);
            self.entries.extend_from_slice(new);
        }
    }

    fn set_snapshot(&mut self, index: u64, term: u64) {
        if index <= self.snapshot.0 {
            return;
        }
        let has = self
            .entries
            .iter()
            .any(|e| e.index == index && e.term == term);
        if has {
            self.entries.retain(|e| e.index > index);
        } else {
            self.entries.clear();
        }
        self.snapshot = (index, term);
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Entry(e) => self.append(std::slice::from_ref(e)),
            Record::HardState(hs) => self.hard_state = *hs,
            Record::Snapshot { index, term } => self.set_snapshot(*index, *term),
        }
    }
}

/// What the WAL holds, as a model, read through its public API.
fn observe(wal: &Wal) -> Model {
    let first = wal.first_index();
    let last = wal.last_index();
    Model {
        snapshot: wal.snapshot(),
        entries: wal.entries(first, last + 1, None).unwrap(),
        hard_state: wal.hard_state(),
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Append `count` entries of `size` bytes at `back` entries before the end.
    Append {
        back: u64,
        count: u64,
        term_bump: bool,
        size: usize,
    },
    HardState(u64),
    /// Snapshot at `back` entries before the end, keeping (or not) the suffix.
    Snapshot {
        back: u64,
        matching: bool,
    },
    Compact {
        back: u64,
    },
    Sync,
    Reopen,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            6 => (0u64..3, 1u64..6, any::<bool>(), 0usize..600)
                .prop_map(|(back, count, term_bump, size)| Op::Append { back, count, term_bump, size }),
            2 => (0u64..100).prop_map(Op::HardState),
            1 => (0u64..4, any::<bool>()).prop_map(|(back, matching)| Op::Snapshot { back, matching }),
            1 => (1u64..6).prop_map(|back| Op::Compact { back }),
            4 => Just(Op::Sync),
            1 => Just(Op::Reopen),
        ],
        1..40,
    )
}

/// Runs one op on both; returns the records the op buffered (for the model
/// of what a torn sync may keep).
fn run_op(wal: &mut Wal, model: &mut Model, term: &mut u64, op: &Op) -> Vec<Record> {
    match op {
        Op::Append {
            back,
            count,
            term_bump,
            size,
        } => {
            let start = (model.last_index() + 1)
                .saturating_sub(*back)
                .max(model.snapshot.0 + 1);
            if *term_bump || *back > 0 {
                *term += 1;
            }
            let new: Vec<WalEntry> = (start..start + count)
                .map(|i| entry(i, *term, *size))
                .collect();
            wal.append_entries(&new).unwrap();
            model.append(&new);
            new.into_iter().map(Record::Entry).collect()
        }
        Op::HardState(commit) => {
            let hs = HardState {
                term: *term,
                vote: 1,
                commit: *commit,
            };
            wal.set_hard_state(hs).unwrap();
            model.hard_state = hs;
            vec![Record::HardState(hs)]
        }
        Op::Snapshot { back, matching } => {
            let index = model
                .last_index()
                .saturating_sub(*back)
                .max(model.snapshot.0 + 1);
            let term = if *matching {
                model
                    .entries
                    .iter()
                    .find(|e| e.index == index)
                    .map_or(*term, |e| e.term)
            } else {
                *term + 1000
            };
            wal.set_snapshot(index, term).unwrap();
            model.set_snapshot(index, term);
            vec![Record::Snapshot { index, term }]
        }
        Op::Compact { .. } | Op::Sync | Op::Reopen => vec![],
    }
}

proptest! {
    /// The WAL against a Vec model: every op, syncs and reopens; a reopen
    /// keeps exactly what was synced.
    #[test]
    fn wal_matches_a_vec_model(ops in ops(), segment_bytes in prop_oneof![Just(2048u64), Just(8192), Just(1 << 20)]) {
        let disk = SimDisk::new(1);
        let (mut wal, _) = open(&disk, segment_bytes).unwrap();
        let mut model = Model::default();
        let mut durable = Model::default();
        let mut term = 1;
        for op in &ops {
            match op {
                Op::Sync => {
                    wal.sync().unwrap();
                    durable = model.clone();
                }
                Op::Reopen => {
                    drop(wal);
                    wal = open(&disk, segment_bytes).unwrap().0;
                    model = durable.clone();
                }
                Op::Compact { back } => {
                    let index = model.last_index().saturating_sub(*back);
                    if index > model.snapshot.0 {
                        wal.compact(index).unwrap();
                        let term = model.entries.iter().find(|e| e.index == index).map(|e| e.term).unwrap();
                        model.set_snapshot(index, term);
                        durable = model.clone();
                    }
                }
                op => {
                    run_op(&mut wal, &mut model, &mut term, op);
                }
            }
            prop_assert_eq!(observe(&wal), model.clone(), "after {:?}", op);
            prop_assert_eq!(wal.term(model.snapshot.0), Some(model.snapshot.1));
        }
    }

    /// Crash tests: crash right after a sync (everything synced is there) or
    /// in the middle of one (a failed sync, then power loss): the log is the
    /// durable state plus a prefix of the records of the interrupted sync,
    /// never anything that was not written; reopening twice changes nothing.
    #[test]
    fn crashes_keep_synced_data_and_a_prefix_of_the_rest(
        ops in ops(), crash_seed in any::<u64>(), mid_sync in any::<bool>(),
        segment_bytes in prop_oneof![Just(2048u64), Just(8192)],
    ) {
        let disk = SimDisk::new(crash_seed);
        let (mut wal, _) = open(&disk, segment_bytes).unwrap();
        let mut model = Model::default();
        let mut durable = Model::default();
        let mut term = 1;
        let mut unsynced: Vec<Record> = Vec::new();
        for op in ops.iter().filter(|op| !matches!(op, Op::Reopen)) {
            if let Op::Sync = op {
                wal.sync().unwrap();
                durable = model.clone();
                unsynced.clear();
                continue;
            }
            if let Op::Compact { back } = op {
                // Compaction syncs, then retires segments as spares.
                let index = model.last_index().saturating_sub(*back);
                if index > model.snapshot.0 {
                    wal.compact(index).unwrap();
                    let term = model.entries.iter().find(|e| e.index == index).map(|e| e.term).unwrap();
                    model.set_snapshot(index, term);
                    durable = model.clone();
                    unsynced.clear();
                }
                continue;
            }
            unsynced.extend(run_op(&mut wal, &mut model, &mut term, op));
        }
        if mid_sync && !unsynced.is_empty() {
            disk.fail_next_syncs(1);
            let err = wal.sync().unwrap_err();
            prop_assert!(matches!(err, WalError::FailStopped(_)), "{}", err);
            let next = entry(model.last_index() + 1, term, 1);
            prop_assert!(matches!(wal.append_entries(&[next]), Err(WalError::FailStopped(_))));
            prop_assert!(matches!(wal.sync(), Err(WalError::FailStopped(_))));
        } else {
            // Nothing since the last sync was written at all.
            unsynced.clear();
        }
        drop(wal);
        disk.crash();
        let (wal, _) = open(&disk, segment_bytes).unwrap();
        let got = observe(&wal);
        let candidates: Vec<Model> = (0..=unsynced.len())
            .map(|k| {
                let mut m = durable.clone();
                for r in &unsynced[..k] {
                    m.apply(r);
                }
                m
            })
            .collect();
        prop_assert!(candidates.contains(&got), "recovered {:?}", got);
        drop(wal);
        let (again, recovered) = open(&disk, segment_bytes).unwrap();
        prop_assert_eq!(observe(&again), got);
        prop_assert!(!recovered.repaired_torn_tail, "a second open repairs nothing");
    }
}

/// Offsets of the entry records of the active segment, from the WAL's index.
fn entry_offsets(wal: &Wal) -> Vec<(u64, u64, u64)> {
    wal.entries
        .slots
        .iter()
        .filter_map(|s| match s.location {
            Location::OnDisk {
                seq,
                offset,
                framed,
            } => Some((seq, offset, framed)),
            Location::Buffered(_) => None,
        })
        .collect()
}

/// Zeroes `len` bytes at `offset` of `path` on the medium.
fn zero(disk: &SimDisk, path: &Path, offset: u64, len: u64) {
    let bytes = disk.durable_contents(path).unwrap();
    for i in offset..offset + len {
        let b = bytes[i as usize];
        if b != 0 {
            disk.corrupt(path, i, b).unwrap();
        }
    }
}

/// A WAL holding one synced write per `(from, to)` batch of entries.
fn written(disk: &SimDisk, batches: &[(u64, u64)]) -> Wal {
    let (mut wal, _) = open(disk, 1 << 20).unwrap();
    for &(from, to) in batches {
        let entries: Vec<WalEntry> = (from..to).map(|i| entry(i, 1, 40)).collect();
        wal.append_entries(&entries).unwrap();
        wal.sync().unwrap();
    }
    wal
}

#[test]
fn a_damaged_last_record_is_cut_off_as_a_torn_write() {
    let disk = SimDisk::new(1);
    let wal = written(&disk, &[(1, 4), (4, 6)]);
    let path = wal.segment_paths()[0].clone();
    let (_, offset, _) = entry_offsets(&wal)[4];
    drop(wal);
    disk.corrupt(&path, offset + 30, 0x10).unwrap();
    let (wal, recovered) = open(&disk, 1 << 20).unwrap();
    assert!(recovered.repaired_torn_tail);
    assert_eq!(wal.last_index(), 4);
    let mut broken = path.clone().into_os_string();
    broken.push(".broken");
    assert!(
        disk.exists(Path::new(&broken)).unwrap(),
        "a copy of the damaged segment is kept"
    );
    drop(wal);
    // The log goes on from the cut.
    let (mut wal, _) = open(&disk, 1 << 20).unwrap();
    wal.append_entries(&[entry(5, 2, 10)]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (wal, recovered) = open(&disk, 1 << 20).unwrap();
    assert!(!recovered.repaired_torn_tail);
    assert_eq!(wal.entries(5, 6, None).unwrap()[0], entry(5, 2, 10));
}

#[test]
fn damage_before_a_valid_record_of_an_earlier_write_is_refused() {
    let disk = SimDisk::new(2);
    let wal = written(&disk, &[(1, 4), (4, 6)]);
    let path = wal.segment_paths()[0].clone();
    let (_, offset, _) = entry_offsets(&wal)[1];
    drop(wal);
    disk.corrupt(&path, offset + 30, 0x01).unwrap();
    let err = open(&disk, 1 << 20).unwrap_err();
    match &err {
        WalError::Corrupt {
            file, offset: at, ..
        } => {
            assert_eq!(file, &path);
            assert_eq!(*at, offset);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("offset {offset}")) && text.contains("member remove"),
        "{text}"
    );
}

#[test]
fn a_hole_inside_the_final_write_is_a_torn_write() {
    // A real disk may persist the pages of one write out of order: the first
    // record of the last write missing, the rest present.
    let disk = SimDisk::new(3);
    let wal = written(&disk, &[(1, 4), (4, 7)]);
    let path = wal.segment_paths()[0].clone();
    let (_, offset, framed) = entry_offsets(&wal)[3];
    drop(wal);
    zero(&disk, &path, offset, framed);
    let (wal, recovered) = open(&disk, 1 << 20).unwrap();
    assert!(recovered.repaired_torn_tail);
    assert_eq!(wal.last_index(), 3, "the whole torn write is dropped");
    assert_eq!(wal.entries(1, 4, None).unwrap().len(), 3);
}

#[test]
fn damage_in_an_older_segment_is_refused() {
    let disk = SimDisk::new(4);
    let (mut wal, _) = open(&disk, 1024).unwrap();
    for i in 1..40 {
        wal.append_entries(&[entry(i, 1, 100)]).unwrap();
        wal.sync().unwrap();
    }
    let paths = wal.segment_paths();
    assert!(paths.len() > 3);
    let (seq, offset, _) = entry_offsets(&wal)[0];
    let path = paths
        .iter()
        .find(|p| p.to_string_lossy().contains(&format!("{seq:016x}-")))
        .unwrap()
        .clone();
    drop(wal);
    disk.corrupt(&path, offset + 26, 0x80).unwrap();
    assert!(matches!(open(&disk, 1024), Err(WalError::Corrupt { file, .. }) if file == path));
}

#[test]
fn a_damaged_segment_header_is_refused() {
    let disk = SimDisk::new(5);
    let wal = written(&disk, &[(1, 3)]);
    let path = wal.segment_paths()[0].clone();
    drop(wal);
    disk.corrupt(&path, 20, 0xff).unwrap();
    assert!(matches!(
        open(&disk, 1 << 20),
        Err(WalError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn a_header_claiming_more_capacity_than_the_file_is_refused() {
    // Found by the wal_recovery fuzz target: a valid-checksum header with a
    // huge capacity made the torn-tail repair try to allocate it.
    let disk = SimDisk::new(6);
    let dir = Path::new(DIR);
    disk.create_dir_all(dir).unwrap();
    let file = disk.create(&dir.join(segment::segment_name(1, 1))).unwrap();
    let header = segment::SegmentHeader {
        seq: 1,
        first_index: 1,
        capacity: u64::MAX,
    };
    file.write_all_at(&header.encode(), 0).unwrap();
    file.write_all_at(&[0xab; 100], 64).unwrap(); // a torn "record"
    file.sync_data().unwrap();
    drop(file);
    match open(&disk, 1 << 20) {
        Err(WalError::Corrupt {
            offset: 0, detail, ..
        }) => {
            assert!(detail.contains("capacity"), "{detail}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn compaction_deletes_dead_segments_and_survives_reopen() {
    let disk = SimDisk::new(6);
    let (mut wal, _) = open(&disk, 1024).unwrap();
    for i in 1..60 {
        wal.append_entries(&[entry(i, 1 + i / 20, 100)]).unwrap();
        wal.set_hard_state(HardState {
            term: 1 + i / 20,
            vote: 2,
            commit: i,
        })
        .unwrap();
        wal.sync().unwrap();
    }
    let before = wal.segment_paths().len();
    wal.compact(50).unwrap();
    let after = wal.segment_paths().len();
    assert!(after < before, "{after} segments of {before} left");
    assert_eq!((wal.first_index(), wal.term(50)), (51, Some(3)));
    drop(wal);
    let (wal, recovered) = open(&disk, 1024).unwrap();
    assert_eq!(recovered.snapshot, (50, 3));
    assert_eq!(
        recovered.hard_state,
        HardState {
            term: 3,
            vote: 2,
            commit: 59
        }
    );
    assert_eq!(wal.entries(51, 60, None).unwrap().len(), 9);
    assert!(
        wal.entries(50, 52, None).is_err(),
        "compacted entries are gone"
    );
}

#[test]
fn a_missing_segment_in_the_middle_is_refused() {
    let disk = SimDisk::new(7);
    let (mut wal, _) = open(&disk, 1024).unwrap();
    for i in 1..30 {
        wal.append_entries(&[entry(i, 1, 100)]).unwrap();
        wal.sync().unwrap();
    }
    let paths = wal.segment_paths();
    drop(wal);
    disk.remove_file(&paths[2]).unwrap();
    assert!(matches!(open(&disk, 1024), Err(WalError::Corrupt { .. })));
}

#[test]
fn a_failed_sync_stops_the_wal_and_loses_only_unsynced_data() {
    let disk = SimDisk::new(8);
    let mut wal = written(&disk, &[(1, 5)]);
    wal.append_entries(&[entry(5, 1, 40)]).unwrap();
    disk.fail_next_syncs(1);
    assert!(matches!(wal.sync(), Err(WalError::FailStopped(_))));
    // The next sync would "succeed" on Linux; the WAL must not try.
    assert!(matches!(wal.sync(), Err(WalError::FailStopped(_))));
    assert!(matches!(
        wal.set_hard_state(HardState::default()),
        Err(WalError::FailStopped(_))
    ));
    drop(wal);
    disk.crash();
    let (wal, _) = open(&disk, 1 << 20).unwrap();
    assert!(wal.last_index() >= 4);
    assert_eq!(wal.entries(1, 5, None).unwrap().len(), 4);
}

#[test]
fn a_full_disk_fails_segment_creation_cleanly() {
    let disk = SimDisk::new(9);
    let (mut wal, _) = open(&disk, 4096).unwrap();
    disk.set_faults(SimDiskFaults {
        capacity_bytes: Some(disk.used_bytes() + 100),
        ..SimDiskFaults::default()
    });
    let big: Vec<WalEntry> = (1..20).map(|i| entry(i, 1, 400)).collect();
    wal.append_entries(&big).unwrap();
    assert!(matches!(wal.sync(), Err(WalError::NoSpace(_))));
    let leftovers: Vec<String> = disk
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no half-made segment: {leftovers:?}");
    disk.set_faults(SimDiskFaults::default());
    wal.sync().unwrap();
    drop(wal);
    let (wal, _) = open(&disk, 4096).unwrap();
    assert_eq!(wal.last_index(), 19);
}

#[test]
fn contract_violations_are_typed_errors() {
    let disk = SimDisk::new(10);
    let mut wal = written(&disk, &[(1, 4)]);
    assert!(matches!(
        wal.append_entries(&[entry(9, 1, 1)]),
        Err(WalError::Contract(_))
    ));
    assert!(matches!(
        wal.append_entries(&[entry(2, 1, 1), entry(4, 1, 1)]),
        Err(WalError::Contract(_))
    ));
    assert!(matches!(
        wal.entries(0, 2, None),
        Err(WalError::Contract(_))
    ));
    assert!(matches!(
        wal.entries(1, 9, None),
        Err(WalError::Contract(_))
    ));
    let limited = wal.entries(1, 4, Some(1)).unwrap();
    assert_eq!(limited.len(), 1, "at least one entry even over the limit");
}

#[test]
fn an_entry_larger_than_a_segment_gets_its_own() {
    let disk = SimDisk::new(11);
    let (mut wal, _) = open(&disk, 1024).unwrap();
    wal.append_entries(&[entry(1, 1, 10), entry(2, 1, 5000), entry(3, 1, 10)])
        .unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (wal, _) = open(&disk, 1024).unwrap();
    assert_eq!(wal.entries(2, 3, None).unwrap()[0].payload.len(), 5000);
    assert_eq!(wal.last_index(), 3);
}

#[test]
fn stale_records_from_an_older_file_never_validate() {
    // Copy a whole segment over a newer one's name: its records carry the
    // old sequence number in their checksums, so none is accepted.
    let disk = SimDisk::new(12);
    let (mut wal, _) = open(&disk, 2048).unwrap();
    for i in 1..12 {
        wal.append_entries(&[entry(i, 1, 300)]).unwrap();
        wal.sync().unwrap();
    }
    let paths = wal.segment_paths();
    drop(wal);
    let old = disk.durable_contents(&paths[0]).unwrap();
    let newest = paths.last().unwrap();
    let file = disk.open(newest).unwrap();
    // Keep the newest header, put the old segment's records after it.
    file.write_all_at(&old[64..], 64).unwrap();
    file.sync_data().unwrap();
    let result = open(&disk, 2048);
    match result {
        Ok((wal, recovered)) => {
            assert!(
                recovered.repaired_torn_tail,
                "foreign records are cut off, never replayed"
            );
            assert!(wal.last_index() < 12);
        }
        Err(WalError::Corrupt { .. }) => {}
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn compacted_segments_are_recycled_and_their_stale_bytes_never_replay() {
    let disk = SimDisk::new(13);
    let (mut wal, _) = open(&disk, 2048).unwrap();
    let mut files_seen = std::collections::BTreeSet::new();
    for round in 0..30u64 {
        let base = round * 10 + 1;
        let entries: Vec<WalEntry> = (base..base + 10).map(|i| entry(i, 1, 150)).collect();
        wal.append_entries(&entries).unwrap();
        wal.sync().unwrap();
        wal.compact(base + 8).unwrap();
        let names = disk.list(Path::new(DIR)).unwrap();
        files_seen.extend(names.iter().filter(|n| n.ends_with(".wal")).cloned());
        let files = names
            .iter()
            .filter(|n| n.ends_with(".wal") || n.ends_with(".spare"))
            .count();
        assert!(files <= 5, "segments and spares stay bounded: {names:?}");
    }
    assert!(
        files_seen.len() > 20,
        "many segments were used: {}",
        files_seen.len()
    );
    // Only the first few segments were created; the rest were recycled.
    assert!(
        disk.stats().files_created <= 4,
        "{} files created",
        disk.stats().files_created
    );
    let spares = disk
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".spare"))
        .count();
    assert!((1..=2).contains(&spares), "{spares} spares");
    assert_eq!(disk.stats().crashes, 0);
    let last = wal.last_index();
    drop(wal);
    let (wal, recovered) = open(&disk, 2048).unwrap();
    assert!(
        !recovered.repaired_torn_tail,
        "stale bytes of a recycled file read as the end"
    );
    assert_eq!(wal.last_index(), last);
    assert_eq!(
        wal.entries(last, last + 1, None).unwrap()[0],
        entry(last, 1, 150)
    );
}
