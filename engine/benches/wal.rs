//! WAL benchmarks on the OS disk (a tempdir): appends of 256-byte records in
//! batches of 1, 16 and 256 per sync, compacting as a node does (so retired
//! segments are recycled), and beside them the raw rate of the same disk —
//! the same bytes written sequentially into a zero-filled file with
//! `write_all_at` and made durable with `sync_data`, no WAL.
//!
//! Run: `cargo bench -p keel-engine --bench wal`. With `KEEL_BENCH_SMALL`
//! set, segments are small and runs short (CI checks the benchmark works).

#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keel_engine::storage::disk::{Disk, DiskFile, OsDisk};
use keel_engine::storage::wal::{Wal, WalEntry, WalOptions};
use std::sync::Arc;
use std::time::Duration;

const RECORD_BYTES: usize = 256;
/// Entries kept behind the head when the benchmark compacts (a node keeps
/// `--snapshot-count`-many; this keeps segments cycling in a short run).
const KEPT_ENTRIES: u64 = 50_000;
const BATCHES: [u64; 3] = [1, 16, 256];

fn small() -> bool {
    std::env::var_os("KEEL_BENCH_SMALL").is_some()
}

fn segment_bytes() -> u64 {
    if small() { 1 << 20 } else { 64 << 20 }
}

fn wal_appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal/append_sync");
    group.measurement_time(Duration::from_secs(if small() { 1 } else { 8 }));
    for batch in BATCHES {
        group.throughput(Throughput::Elements(batch));
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(
            Arc::new(OsDisk::new()),
            dir.path(),
            WalOptions {
                segment_bytes: segment_bytes(),
                ..WalOptions::default()
            },
        )
        .expect("open wal");
        let payload = Bytes::from(vec![7u8; RECORD_BYTES - 16]);
        let mut next = 1u64;
        group.bench_function(format!("{batch}_per_sync"), |b| {
            b.iter(|| {
                let entries: Vec<WalEntry> = (next..next + batch)
                    .map(|index| WalEntry {
                        index,
                        term: 1,
                        payload: payload.clone(),
                    })
                    .collect();
                next += batch;
                wal.append_entries(&entries).expect("append");
                wal.sync().expect("sync");
                // As a node does after its checkpoints: keep a tail, retire
                // the rest (retired segments are recycled).
                if wal.last_index() - wal.first_index() > 2 * KEPT_ENTRIES {
                    wal.compact(wal.last_index() - KEPT_ENTRIES)
                        .expect("compact");
                }
            })
        });
    }
    group.finish();
}

/// The disk's own rate: the bytes a WAL batch would write, written
/// sequentially into a zero-filled file and synced, with nothing else.
fn raw_disk(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal/raw_write_sync");
    group.measurement_time(Duration::from_secs(if small() { 1 } else { 8 }));
    for batch in BATCHES {
        group.throughput(Throughput::Elements(batch));
        let dir = tempfile::tempdir().expect("tempdir");
        let disk = OsDisk::new();
        let path = dir.path().join("raw");
        let file: Arc<dyn DiskFile> = disk.create(&path).expect("create");
        let capacity = segment_bytes();
        // Zero-filled like a WAL segment: writes land in written space.
        let zeroes = vec![0u8; 1 << 20];
        let mut at = 0;
        while at < capacity {
            file.write_all_at(&zeroes, at).expect("zero fill");
            at += zeroes.len() as u64;
        }
        file.sync_data().expect("sync");
        // A WAL record of 256 payload bytes is 280 bytes framed.
        let bytes = vec![7u8; 280 * batch as usize];
        let mut offset = 0u64;
        group.bench_function(format!("{batch}_per_sync"), |b| {
            b.iter(|| {
                if offset + bytes.len() as u64 > capacity {
                    offset = 0;
                }
                file.write_all_at(&bytes, offset).expect("write");
                file.sync_data().expect("sync");
                offset += bytes.len() as u64;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, wal_appends, raw_disk);
criterion_main!(benches);
