use super::sim::SECTOR_BYTES;
use super::*;
use proptest::prelude::*;
use std::path::PathBuf;

/// The contract both implementations keep, run against each.
fn contract(disk: &dyn Disk, root: &Path) {
    let dir = root.join("d");
    disk.create_dir_all(&dir).unwrap();
    assert!(disk.exists(&dir).unwrap());
    let a = dir.join("a");
    let file = disk.create(&a).unwrap();
    assert_eq!(
        disk.create(&a).unwrap_err().kind,
        DiskErrorKind::AlreadyExists
    );
    assert_eq!(file.len().unwrap(), 0);
    assert_eq!(file.map().unwrap().len(), 0);

    file.write_all_at(b"hello", 0).unwrap();
    file.write_all_at(b"world", 10).unwrap();
    assert_eq!(file.len().unwrap(), 15);
    let mut buf = [0u8; 15];
    file.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"hello\0\0\0\0\0world");
    let mut past = [0u8; 4];
    assert_eq!(
        file.read_exact_at(&mut past, 13).unwrap_err().kind,
        DiskErrorKind::UnexpectedEof
    );
    file.sync_data().unwrap();
    assert_eq!(&*file.map().unwrap(), b"hello\0\0\0\0\0world");

    file.allocate(4096).unwrap();
    assert_eq!(file.len().unwrap(), 4096);
    file.allocate(100).unwrap();
    assert_eq!(file.len().unwrap(), 4096, "allocate never shrinks");
    file.set_len(5).unwrap();
    assert_eq!(read_whole(file.as_ref()).unwrap(), b"hello");

    let b = dir.join("b");
    disk.rename(&a, &b).unwrap();
    assert!(!disk.exists(&a).unwrap());
    assert_eq!(
        read_whole(disk.open(&b).unwrap().as_ref()).unwrap(),
        b"hello"
    );
    assert_eq!(disk.open(&a).unwrap_err().kind, DiskErrorKind::NotFound);

    copy_file(disk, &b, &dir.join("c")).unwrap();
    disk.create_dir_all(&dir.join("sub")).unwrap();
    assert_eq!(disk.list(&dir).unwrap(), vec!["b", "c", "sub"]);
    disk.remove_file(&b).unwrap();
    assert_eq!(disk.list(&dir).unwrap(), vec!["c", "sub"]);
    disk.remove_dir_all(&dir).unwrap();
    assert!(!disk.exists(&dir).unwrap());
    assert_eq!(disk.list(&dir).unwrap_err().kind, DiskErrorKind::NotFound);
}

#[test]
fn os_disk_keeps_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    contract(&OsDisk::new(), tmp.path());
}

#[test]
fn os_mappings_share_one_reservation_and_stop_at_the_files_end() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = OsDisk::new();
    let file = disk.create(&tmp.path().join("f")).unwrap();
    file.write_all_at(&[1u8; 4096], 0).unwrap();
    let first = file.map().unwrap();
    file.write_all_at(&[2u8; 4096], 4096).unwrap();
    let second = file.map().unwrap();
    assert_eq!(
        first.len(),
        4096,
        "a mapping keeps the length it was made with"
    );
    assert_eq!(second.len(), 8192);
    assert!(second[4096..].iter().all(|&b| b == 2));
    assert_eq!(
        first.as_ptr(),
        second.as_ptr(),
        "both are windows on one mapping, so shared pages count once in RSS"
    );
    // Outgrowing the reservation makes a new one; old windows stay valid.
    let big = 70 << 20;
    file.write_all_at(&[3u8; 4096], big).unwrap();
    let third = file.map().unwrap();
    assert_eq!(third.len() as u64, big + 4096);
    assert_eq!(third[big as usize], 3);
    assert!(first.iter().all(|&b| b == 1));
}

#[test]
fn sim_disk_keeps_the_contract() {
    contract(&SimDisk::new(1), Path::new("/data"));
}

fn sim_file(disk: &SimDisk) -> (PathBuf, Arc<dyn DiskFile>) {
    disk.create_dir_all(Path::new("/d")).unwrap();
    let path = PathBuf::from("/d/f");
    let file = disk.create(&path).unwrap();
    (path, file)
}

#[test]
fn synced_bytes_survive_a_crash_and_old_handles_go_stale() {
    let disk = SimDisk::new(7);
    let (path, file) = sim_file(&disk);
    file.write_all_at(&[1u8; 1000], 0).unwrap();
    file.sync_data().unwrap();
    disk.crash();
    assert_eq!(
        file.write_all_at(b"x", 0).unwrap_err().kind,
        DiskErrorKind::StaleHandle
    );
    let reopened = disk.open(&path).unwrap();
    assert_eq!(read_whole(reopened.as_ref()).unwrap(), vec![1u8; 1000]);
}

#[test]
fn a_failed_sync_never_makes_its_writes_durable() {
    let disk = SimDisk::new(3);
    let (path, file) = sim_file(&disk);
    file.write_all_at(&[9u8; 4096], 0).unwrap();
    disk.fail_next_syncs(1);
    assert_eq!(
        file.sync_data().unwrap_err().kind,
        DiskErrorKind::SyncFailed
    );
    // The trap: reads still see the data and the next sync "succeeds".
    assert_eq!(read_whole(file.as_ref()).unwrap(), vec![9u8; 4096]);
    file.sync_data().unwrap();
    assert!(disk.durable_contents(&path).unwrap().is_empty());
}

#[test]
fn running_out_of_space_fails_the_write_and_changes_nothing() {
    let disk = SimDisk::new(3);
    let (_, file) = sim_file(&disk);
    disk.set_faults(SimDiskFaults {
        capacity_bytes: Some(1000),
        ..SimDiskFaults::default()
    });
    file.write_all_at(&[1u8; 600], 0).unwrap();
    let err = file.write_all_at(&[2u8; 600], 600).unwrap_err();
    assert_eq!(err.kind, DiskErrorKind::NoSpace);
    assert_eq!(
        file.allocate(2000).unwrap_err().kind,
        DiskErrorKind::NoSpace
    );
    assert_eq!(read_whole(file.as_ref()).unwrap(), vec![1u8; 600]);
    // Overwriting in place needs no new space.
    file.write_all_at(&[3u8; 600], 0).unwrap();
}

#[test]
fn bit_rot_changes_exactly_the_corrupted_byte() {
    let disk = SimDisk::new(3);
    let (path, file) = sim_file(&disk);
    file.write_all_at(&[0u8; 64], 0).unwrap();
    file.sync_data().unwrap();
    disk.corrupt(&path, 10, 0b100).unwrap();
    let bytes = read_whole(file.as_ref()).unwrap();
    let changed: Vec<usize> = (0..64).filter(|&i| bytes[i] != 0).collect();
    assert_eq!(changed, vec![10]);
    assert_eq!(bytes[10], 0b100);
}

#[test]
fn read_bit_flips_are_transient_and_seeded() {
    let flips = |seed| {
        let disk = SimDisk::new(seed);
        let (_, file) = sim_file(&disk);
        file.write_all_at(&[0u8; 256], 0).unwrap();
        disk.set_faults(SimDiskFaults {
            read_bit_flip_probability: 1.0,
            ..SimDiskFaults::default()
        });
        let mut buf = [0u8; 256];
        file.read_exact_at(&mut buf, 0).unwrap();
        let ones: u32 = buf.iter().map(|b| b.count_ones()).sum();
        assert_eq!(ones, 1, "exactly one bit flipped");
        disk.set_faults(SimDiskFaults::default());
        let mut clean = [0u8; 256];
        file.read_exact_at(&mut clean, 0).unwrap();
        assert_eq!(clean, [0u8; 256], "the medium was not changed");
        buf
    };
    assert_eq!(flips(11), flips(11));
}

/// What a crash may leave of one unsynced write over a zeroed, synced region:
/// a prefix of the write ending on a sector boundary, then at most the rest of
/// that sector as garbage, then the old bytes.
fn check_torn(after: &[u8], offset: usize, data: &[u8]) {
    let end = offset + data.len();
    let kept = (0..data.len())
        .take_while(|&i| after[offset + i] == data[i])
        .count();
    let cut = offset + kept;
    let sector = SECTOR_BYTES as usize;
    // The true cut lies at or before `cut`, at `offset` or a sector boundary;
    // garbage can coincide with data, so only bound the garbage region.
    let garbage_end = ((cut / sector) + 1) * sector;
    for (i, &byte) in after.iter().enumerate().take(end).skip(cut) {
        if i >= garbage_end {
            assert_eq!(byte, 0, "byte {i} past the torn sector changed");
        }
    }
    assert!(after[..offset].iter().all(|&b| b == 0));
    assert!(after[end..].iter().all(|&b| b == 0));
}

proptest! {
    #[test]
    fn crash_keeps_a_sector_aligned_prefix_of_an_unsynced_write(
        seed in any::<u64>(),
        offset in 0usize..3000,
        len in 1usize..3000,
    ) {
        let disk = SimDisk::new(seed);
        let (path, file) = sim_file(&disk);
        file.write_all_at(&vec![0u8; 8192], 0).unwrap();
        file.sync_data().unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
        file.write_all_at(&data, offset as u64).unwrap();
        disk.crash();
        let after = read_whole(disk.open(&path).unwrap().as_ref()).unwrap();
        prop_assert_eq!(after.len(), 8192);
        check_torn(&after, offset, &data);
    }

    #[test]
    fn the_same_seed_crashes_the_same_way(seed in any::<u64>()) {
        let run = || {
            let disk = SimDisk::new(seed);
            let (path, file) = sim_file(&disk);
            for i in 0..8u64 {
                file.write_all_at(&[i as u8 + 1; 700], i * 700).unwrap();
                if i == 3 {
                    file.sync_data().unwrap();
                }
            }
            disk.crash();
            read_whole(disk.open(&path).unwrap().as_ref()).unwrap()
        };
        let first = run();
        prop_assert_eq!(&first[..2800], &[1u8; 700].iter()
            .chain(&[2u8; 700]).chain(&[3u8; 700]).chain(&[4u8; 700])
            .copied().collect::<Vec<u8>>()[..]);
        prop_assert_eq!(first, run());
    }
}

#[test]
fn crashes_drop_keep_and_tear_unsynced_writes() {
    let (mut dropped, mut whole, mut torn) = (0, 0, 0);
    for seed in 0..200 {
        let disk = SimDisk::new(seed);
        let (path, file) = sim_file(&disk);
        file.write_all_at(&[7u8; 4096], 0).unwrap();
        disk.crash();
        let after = read_whole(disk.open(&path).unwrap().as_ref()).unwrap();
        let kept = after.iter().take_while(|&&b| b == 7).count();
        match kept {
            0 if after.is_empty() => dropped += 1,
            4096 => whole += 1,
            n => {
                // Garbage after the cut may happen to equal the data byte.
                assert!(
                    n % (SECTOR_BYTES as usize) < 16,
                    "cut off a sector boundary: {n}"
                );
                torn += 1;
            }
        }
    }
    assert!(
        dropped > 10 && whole > 10 && torn > 10,
        "{dropped} {whole} {torn}"
    );
}
