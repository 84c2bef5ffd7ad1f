//! B-tree store benchmarks on the OS disk (a tempdir): point gets and
//! 100-key scans on a store of 1M keys (16-byte keys, 100-byte values), and
//! the cost of a checkpoint that changes 1% of it, appended in key order or
//! spread uniformly. With `KEEL_BENCH_SMALL` set the store has 10k keys.
//!
//! Run: `cargo bench -p keel-engine --bench btree`. Checkpoint byte counts
//! are printed as lines starting with `btree-figure:`.

#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keel_engine::storage::btree::{BTreeOptions, BTreeStore, WriteBatch};
use keel_engine::storage::disk::OsDisk;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const TREE: &str = "kv";
const VALUE_BYTES: usize = 100;

fn key_count() -> u64 {
    if std::env::var_os("KEEL_BENCH_SMALL").is_some() {
        10_000
    } else {
        1_000_000
    }
}

/// 16-byte keys: "k" and 15 decimal digits.
fn bench_key(i: u64) -> Bytes {
    Bytes::from(format!("k{i:015}"))
}

fn bench_value(i: u64, round: u64) -> Bytes {
    let byte = (i.wrapping_mul(31) ^ round) as u8;
    Bytes::from(vec![byte; VALUE_BYTES])
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: BTreeStore,
    keys: u64,
}

/// The store, built once per process: keys inserted in key order, 100k per
/// checkpoint.
fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bench.btree");
        let mut store = BTreeStore::open(Arc::new(OsDisk::new()), &path, BTreeOptions::default())
            .expect("open");
        let keys = key_count();
        let started = Instant::now();
        let mut next = 0;
        while next < keys {
            let mut batch = WriteBatch::new();
            batch.create_tree(TREE);
            for i in next..(next + 100_000).min(keys) {
                batch.put(TREE, bench_key(i), bench_value(i, 0));
            }
            store.checkpoint(&batch).expect("load");
            next = (next + 100_000).min(keys);
        }
        let stats = store.stats();
        println!(
            "btree-figure: loaded {keys} keys in {:.2?}: file {} bytes, in use {} bytes, {} pages",
            started.elapsed(),
            stats.file_bytes,
            stats.in_use_bytes,
            stats.page_count
        );
        Mutex::new(Fixture {
            _dir: dir,
            store,
            keys,
        })
    })
}

fn gets(c: &mut Criterion) {
    let fixture = fixture().lock().expect("fixture");
    let view = fixture.store.view();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let probes: Vec<Bytes> = (0..65_536)
        .map(|_| bench_key(rng.gen_range(0..fixture.keys)))
        .collect();
    // Touch every page once, so the one-time checksum pass is not measured.
    view.verify().expect("verify");
    let mut group = c.benchmark_group("btree");
    group.throughput(Throughput::Elements(1));
    let mut at = 0usize;
    group.bench_function(format!("get/{}_keys", fixture.keys), |b| {
        b.iter(|| {
            at = (at + 1) & 65_535;
            let value = view.get(TREE, &probes[at]).expect("get");
            assert!(value.is_some_and(|v| v.len() == VALUE_BYTES));
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function(format!("range_100/{}_keys", fixture.keys), |b| {
        b.iter(|| {
            at = (at + 1) & 65_535;
            let scan = view
                .range(
                    TREE,
                    Bound::Included(&probes[at][..]),
                    Bound::Unbounded,
                    false,
                    Some(100),
                )
                .expect("range");
            let mut count = 0;
            for entry in scan {
                let (_, value) = entry.expect("entry");
                count += value.len();
            }
            assert!(count <= 100 * VALUE_BYTES);
        })
    });
    group.finish();
}

/// Checkpoints that change 1% of the store; prints bytes written as a
/// share of the file.
fn checkpoints(c: &mut Criterion) {
    let mut fixture = fixture().lock().expect("fixture");
    let keys = fixture.keys;
    let change = (keys / 100).max(1);
    let mut group = c.benchmark_group("btree");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(change));
    // The untimed setup and the timed routine both need the store.
    let store = RefCell::new(&mut fixture.store);
    let mut round = 0u64;
    let mut samples = Vec::new();
    let mut appended = false;
    // Each timed checkpoint appends `change` keys past the end of the
    // store; the untimed setup first deletes the previous append, so every
    // measurement sees a store of `keys` keys.
    group.bench_function(format!("checkpoint_append_1pct/{keys}_keys"), |b| {
        b.iter_batched(
            || {
                if appended {
                    let mut undo = WriteBatch::new();
                    for i in keys..keys + change {
                        undo.delete(TREE, bench_key(i));
                    }
                    store.borrow_mut().checkpoint(&undo).expect("undo append");
                }
                round += 1;
                let mut batch = WriteBatch::new();
                for i in keys..keys + change {
                    batch.put(TREE, bench_key(i), bench_value(i, round));
                }
                appended = true;
                batch
            },
            |batch| samples.push(measure(&store, &batch)),
            BatchSize::PerIteration,
        )
    });
    report("append in key order", change, &samples);

    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut samples = Vec::new();
    group.bench_function(format!("checkpoint_random_1pct/{keys}_keys"), |b| {
        b.iter_batched(
            || {
                round += 1;
                let mut batch = WriteBatch::new();
                for _ in 0..change {
                    let i = rng.gen_range(0..keys);
                    batch.put(TREE, bench_key(i), bench_value(i, round));
                }
                batch
            },
            |batch| samples.push(measure(&store, &batch)),
            BatchSize::PerIteration,
        )
    });
    report("uniformly random updates", change, &samples);
    group.finish();
}

/// Runs one checkpoint; returns (bytes written, file bytes, bytes in use).
fn measure(store: &RefCell<&mut BTreeStore>, batch: &WriteBatch) -> (u64, u64, u64) {
    let mut store = store.borrow_mut();
    let stats = store.checkpoint(batch).expect("checkpoint");
    (
        stats.bytes_written,
        stats.file_bytes,
        store.stats().in_use_bytes,
    )
}

fn report(shape: &str, change: u64, samples: &[(u64, u64, u64)]) {
    let Some(&(_, file_bytes, in_use_bytes)) = samples.last() else {
        return;
    };
    let written: Vec<u64> = samples.iter().map(|s| s.0).collect();
    let mean = written.iter().sum::<u64>() as f64 / written.len() as f64;
    println!(
        "btree-figure: checkpoint of {change} keys ({shape}), {} checkpoints: mean {:.0} bytes written = {:.2}% of the file ({file_bytes} bytes), {:.2}% of the bytes in use ({in_use_bytes}); min {} max {}",
        written.len(),
        mean,
        100.0 * mean / file_bytes as f64,
        100.0 * mean / in_use_bytes as f64,
        written.iter().min().copied().unwrap_or(0),
        written.iter().max().copied().unwrap_or(0),
    );
}

criterion_group!(benches, gets, checkpoints);
criterion_main!(benches);
