//! What a node counts about itself for monitoring: plain atomics the node
//! task writes and the server reads when it is scraped. The engine knows
//! nothing of Prometheus; the server names these as etcd does.
//!
//! Durations are measured with tokio's clock (simulated under madsim), so
//! counting never makes a run depend on the wall clock, and nothing here is
//! ever read back by the node: monitoring cannot change what is decided.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of [`DurationHistogram`]'s buckets: 1 ms doubling 14 times
/// (etcd's buckets for WAL fsync and backend commit durations), in
/// nanoseconds.
pub const DURATION_BUCKET_BOUNDS_NANOS: [u64; 14] = {
    let mut bounds = [0u64; 14];
    let mut i = 0;
    while i < bounds.len() {
        bounds[i] = 1_000_000u64 << i;
        i += 1;
    }
    bounds
};

/// How long an apply may take before it counts as slow (etcd warns past
/// 100 ms and counts it in `etcd_server_slow_apply_total`).
pub const SLOW_APPLY: Duration = Duration::from_millis(100);

/// A histogram of durations over [`DURATION_BUCKET_BOUNDS_NANOS`], updated
/// without locks.
#[derive(Debug, Default)]
pub struct DurationHistogram {
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; 14],
    /// Observations above the last bound.
    overflow: AtomicU64,
    /// Sum of every observation, in nanoseconds.
    sum_nanos: AtomicU64,
}

/// A point-in-time copy of a [`DurationHistogram`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Observations at or below each bound, cumulative (as Prometheus
    /// reports buckets).
    pub cumulative_counts: [u64; 14],
    /// Every observation.
    pub count: u64,
    /// Sum of every observation, in nanoseconds.
    pub sum_nanos: u64,
}

impl DurationHistogram {
    /// Records one duration.
    pub fn observe(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        match DURATION_BUCKET_BOUNDS_NANOS
            .iter()
            .position(|bound| nanos <= *bound)
        {
            Some(i) => self.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts so far. Buckets are read one by one, so a snapshot taken
    /// during an observation may count it in the sum but not yet in a
    /// bucket; the next scrape sees it whole.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut snapshot = HistogramSnapshot::default();
        let mut running = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            running += bucket.load(Ordering::Relaxed);
            snapshot.cumulative_counts[i] = running;
        }
        snapshot.count = running + self.overflow.load(Ordering::Relaxed);
        snapshot.sum_nanos = self.sum_nanos.load(Ordering::Relaxed);
        snapshot
    }
}

/// A counter or gauge the node sets.
#[derive(Debug, Default)]
pub struct Value(AtomicU64);

impl Value {
    /// Adds one.
    pub fn increment(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Replaces the value.
    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything a node counts, shared between the node task (the only
/// writer) and whoever reports it ([`super::NodeHandle::metrics`]).
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Times this member saw the leader change to a known leader.
    pub leader_changes_seen: Value,
    /// raft's commit index (etcd reports it as proposals committed).
    pub proposals_committed: Value,
    /// The applied index (etcd's proposals applied).
    pub proposals_applied: Value,
    /// Proposals of this member waiting for their entry to apply.
    pub proposals_pending: Value,
    /// Proposals of this member that timed out or whose outcome a leader
    /// change made unknown.
    pub proposals_failed: Value,
    /// Entries whose apply took longer than [`SLOW_APPLY`].
    pub slow_applies: Value,
    /// Puts applied (each put of a txn counts).
    pub puts: Value,
    /// Delete-ranges applied (each of a txn counts, whatever it deleted).
    pub deletes: Value,
    /// Keys that exist now.
    pub keys: Value,
    /// Size of the B-tree file (etcd's `dbSize`).
    pub db_size_bytes: Value,
    /// Bytes of the B-tree file in use, plus the memtable (`dbSizeInUse`).
    pub db_size_in_use_bytes: Value,
    /// B-tree pages written by checkpoints since the node started.
    pub checkpoint_pages_written: Value,
    /// Checkpoints written since the node started.
    pub checkpoints: Value,
    /// WAL segments made from recycled files since the node started.
    pub wal_segments_recycled: Value,
    /// Durations of WAL syncs that had records to make durable.
    pub wal_fsync: DurationHistogram,
    /// Durations of checkpoints (etcd's backend commit).
    pub backend_commit: DurationHistogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_etcds_and_counts_cumulate() {
        assert_eq!(DURATION_BUCKET_BOUNDS_NANOS[0], 1_000_000);
        assert_eq!(DURATION_BUCKET_BOUNDS_NANOS[13], 8_192_000_000);
        let histogram = DurationHistogram::default();
        histogram.observe(Duration::from_micros(500));
        histogram.observe(Duration::from_millis(1));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(60));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.cumulative_counts[0], 2, "<= 1 ms");
        assert_eq!(snapshot.cumulative_counts[1], 2, "<= 2 ms");
        assert_eq!(snapshot.cumulative_counts[2], 3, "<= 4 ms");
        assert_eq!(
            snapshot.cumulative_counts[13], 3,
            "60 s is past every bound"
        );
        assert_eq!(snapshot.count, 4);
        assert_eq!(
            snapshot.sum_nanos,
            500_000 + 1_000_000 + 3_000_000 + 60_000_000_000
        );
    }

    #[test]
    fn values_add_and_set() {
        let value = Value::default();
        value.increment();
        value.add(2);
        assert_eq!(value.get(), 3);
        value.set(7);
        assert_eq!(value.get(), 7);
    }
}
