//! Crash tests: the process dies after every single mutating disk call of a
//! checkpoint (and syncs fail), the simulated power loss keeps a random torn
//! part of what was not synced, and the reopened store must hold exactly
//! the previous or the new checkpoint — then keep working.

use super::*;
use crate::storage::disk::{DiskError, DiskErrorKind, DiskResult, Mapping};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicI64, Ordering};

/// How the wrapped disk fails once its budget of mutating calls is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Every later call fails: the process died at that call.
    Die,
    /// The call is a sync and fails as `SyncFailed` (its data is lost, as
    /// on Linux); later calls work.
    FailSync,
}

/// A SimDisk that counts mutating calls (create, rename, remove, write,
/// set_len, allocate, sync) and fails at a chosen one.
#[derive(Debug, Clone)]
struct CrashDisk {
    inner: SimDisk,
    budget: Arc<AtomicI64>,
    failure: Failure,
}

impl CrashDisk {
    fn new(inner: SimDisk, budget: i64, failure: Failure) -> CrashDisk {
        CrashDisk {
            inner,
            budget: Arc::new(AtomicI64::new(budget)),
            failure,
        }
    }

    /// Counts one mutating call; Err if the process is dead by now.
    fn tick(&self, op: &'static str, path: &Path, is_sync: bool) -> DiskResult<()> {
        let left = self.budget.fetch_sub(1, Ordering::SeqCst);
        match self.failure {
            Failure::Die if left <= 0 => {
                Err(DiskError::new(DiskErrorKind::Io, op, path, "process died"))
            }
            Failure::FailSync if left == 0 && is_sync => {
                self.inner.fail_next_syncs(1);
                Ok(())
            }
            Failure::FailSync if left == 0 => {
                self.budget.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn calls(&self, start: i64) -> i64 {
        start - self.budget.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct CrashFile {
    inner: Arc<dyn DiskFile>,
    disk: CrashDisk,
}

impl Disk for CrashDisk {
    fn create_dir_all(&self, path: &Path) -> DiskResult<()> {
        self.tick("mkdir", path, false)?;
        self.inner.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        let inner = self.inner.open(path)?;
        Ok(Arc::new(CrashFile {
            inner,
            disk: self.clone(),
        }))
    }
    fn create(&self, path: &Path) -> DiskResult<Arc<dyn DiskFile>> {
        self.tick("create", path, false)?;
        let inner = self.inner.create(path)?;
        Ok(Arc::new(CrashFile {
            inner,
            disk: self.clone(),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> DiskResult<()> {
        self.tick("rename", from, false)?;
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> DiskResult<()> {
        self.tick("remove", path, false)?;
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> DiskResult<()> {
        self.tick("remove dir", path, false)?;
        self.inner.remove_dir_all(path)
    }
    fn list(&self, dir: &Path) -> DiskResult<Vec<String>> {
        self.inner.list(dir)
    }
    fn exists(&self, path: &Path) -> DiskResult<bool> {
        self.inner.exists(path)
    }
}

impl DiskFile for CrashFile {
    fn len(&self) -> DiskResult<u64> {
        self.inner.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DiskResult<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> DiskResult<()> {
        self.disk.tick("write", self.path(), false)?;
        self.inner.write_all_at(buf, offset)
    }
    fn set_len(&self, len: u64) -> DiskResult<()> {
        self.disk.tick("truncate", self.path(), false)?;
        self.inner.set_len(len)
    }
    fn allocate(&self, len: u64) -> DiskResult<()> {
        self.disk.tick("allocate", self.path(), false)?;
        self.inner.allocate(len)
    }
    fn sync_data(&self) -> DiskResult<()> {
        self.disk.tick("sync", self.path(), true)?;
        self.inner.sync_data()
    }
    fn map(&self) -> DiskResult<Mapping> {
        self.inner.map()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

/// The whole content of a view as a model.
fn model_of(view: &ReadView) -> Model {
    view.tree_names()
        .into_iter()
        .map(|tree| {
            let entries = scan_all(view, &tree)
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect();
            (tree, entries)
        })
        .collect()
}

/// A random batch over a few trees: puts (some large), deletes, drops.
fn random_batch(rng: &mut ChaCha8Rng, model: &Model) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for tree in ["a", "b", "c"] {
        if rng.gen_bool(0.1) && model.contains_key(tree) {
            batch.drop_tree(tree);
            continue;
        }
        batch.create_tree(tree);
        for _ in 0..rng.gen_range(0..150) {
            let k = key(rng.gen_range(0..600));
            if rng.gen_bool(0.3) {
                batch.delete(tree, k);
            } else {
                let len = if rng.gen_bool(0.02) {
                    rng.gen_range(5000..30_000)
                } else {
                    rng.gen_range(0..300)
                };
                batch.put(tree, k, vec![rng.r#gen::<u8>(); len]);
            }
        }
    }
    if rng.gen_bool(0.5) {
        batch.set_user_meta(rng.r#gen::<u64>().to_le_bytes().to_vec());
    }
    batch
}

/// Builds a store through `history` checkpoints of random batches on a
/// fresh disk; returns the disk and the model after each checkpoint.
fn build(seed: u64, history: usize) -> (SimDisk, Vec<(Model, Bytes)>) {
    let disk = SimDisk::new(seed);
    let path = PathBuf::from("/crash/state.btree");
    let mut store =
        BTreeStore::open(Arc::new(disk.clone()), &path, BTreeOptions::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut models = vec![(Model::new(), Bytes::new())];
    for _ in 0..history {
        let batch = random_batch(&mut rng, &models.last().unwrap().0);
        let mut model = models.last().unwrap().0.clone();
        apply_to_model(&mut model, &batch);
        store.checkpoint(&batch).unwrap();
        models.push((model, store.view().user_meta()));
    }
    (disk, models)
}

const CRASH_PATH: &str = "/crash/state.btree";

/// Runs checkpoint number `history + 1` with the process dying (or a sync
/// failing) at mutating call `at`, crashes, and checks the outcome.
/// Returns how many mutating calls the checkpoint made (when it finished).
fn crash_at(seed: u64, history: usize, at: i64, failure: Failure) -> Option<i64> {
    let (sim, models) = build(seed, history);
    let path = Path::new(CRASH_PATH);
    let (old_model, old_meta) = models.last().unwrap().clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC0FFEE);
    let batch = random_batch(&mut rng, &old_model);
    let mut new_model = old_model.clone();
    apply_to_model(&mut new_model, &batch);
    let new_meta = batch.user_meta.clone().unwrap_or_else(|| old_meta.clone());

    let budget = 1_000_000;
    let disk = CrashDisk::new(sim.clone(), if at < 0 { budget } else { at }, failure);
    let mut store =
        BTreeStore::open(Arc::new(disk.clone()), path, BTreeOptions::default()).unwrap();
    let start = disk.budget.load(Ordering::SeqCst);
    let result = store.checkpoint(&batch);
    let calls = disk.calls(start);
    if failure == Failure::FailSync && result.is_err() {
        // Fail-stop: the store refuses to go on.
        assert!(matches!(
            store.checkpoint(&WriteBatch::new()),
            Err(BTreeError::Poisoned { .. })
        ));
    }
    drop(store);
    sim.crash();

    let mut store =
        reopen(&sim, path).unwrap_or_else(|e| panic!("reopen after crash at {at}: {e}"));
    let view = store.view();
    view.verify()
        .unwrap_or_else(|e| panic!("verify after crash at {at}: {e}"));
    let found = model_of(&view);
    let is_new = found == new_model && view.user_meta() == new_meta;
    let is_old = found == old_model && view.user_meta() == old_meta;
    assert!(
        is_new || is_old,
        "crash at call {at} ({failure:?}) left a mix"
    );
    if result.is_ok() {
        assert!(is_new, "a checkpoint that returned Ok is durable");
        assert_eq!(view.txn(), history as u64 + 1);
    } else {
        assert_eq!(view.txn(), history as u64 + u64::from(is_new));
    }
    // The store keeps working after recovery.
    let mut model = found;
    let batch = random_batch(&mut rng, &model);
    apply_to_model(&mut model, &batch);
    store.checkpoint(&batch).unwrap();
    assert_matches(&store.view(), &model);
    result.ok().map(|_| calls)
}

#[test]
fn a_crash_at_any_call_of_a_checkpoint_leaves_the_old_or_the_new_state() {
    for seed in 0..3u64 {
        let history = 2 + seed as usize;
        let calls = crash_at(seed, history, -1, Failure::Die).expect("completes without a crash");
        assert!(
            calls >= 4,
            "a checkpoint writes, syncs, writes the meta, syncs"
        );
        for at in 0..=calls {
            // Several tearing patterns per crash point.
            for salt in 0..3 {
                crash_at(
                    seed * 1000 + salt * 100_000 + at as u64,
                    history,
                    at,
                    Failure::Die,
                );
            }
        }
    }
}

#[test]
fn a_failed_sync_stops_the_store_and_loses_nothing_committed() {
    for seed in 10..14u64 {
        let calls = crash_at(seed, 3, -1, Failure::Die).unwrap();
        for at in 0..calls {
            crash_at(seed, 3, at, Failure::FailSync);
        }
    }
}

#[test]
fn crashes_between_random_checkpoints_never_mix_states() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for round in 0..25u64 {
        let history = rng.gen_range(1..6);
        let at = rng.gen_range(0..40);
        crash_at(round + 500, history, at, Failure::Die);
    }
}

#[test]
fn a_crash_while_creating_the_file_leaves_no_half_made_store() {
    for at in 0..8 {
        let sim = SimDisk::new(at as u64);
        let disk = CrashDisk::new(sim.clone(), at, Failure::Die);
        let path = Path::new(CRASH_PATH);
        let created = BTreeStore::open(Arc::new(disk), path, BTreeOptions::default()).is_ok();
        sim.crash();
        let store = reopen(&sim, path).unwrap();
        assert_eq!(store.view().txn(), 0);
        if created {
            assert!(at >= 5, "create, write, set_len, sync, rename at least");
        }
        store.view().verify().unwrap();
    }
}
