//! The node's metrics under etcd's names, read from what the node
//! publishes (its status and [`NodeMetrics`]) at scrape time.

use super::MemberFacts;
use keel_engine::node::metrics::{DURATION_BUCKET_BOUNDS_NANOS, HistogramSnapshot};
use keel_engine::node::{NodeHandle, NodeMetrics};
use keel_engine::version::{ETCD_VERSION, etcd_api_version};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

/// Collects the node's metrics when the registry is gathered.
pub(super) struct EngineCollector {
    node: NodeHandle,
    facts: MemberFacts,
    /// The registry checks names against these.
    descs: Vec<Desc>,
}

/// Every family [`EngineCollector`] reports: name, help, type.
const FAMILIES: &[(&str, &str, MetricType)] = &[
    (
        "etcd_server_has_leader",
        "Whether or not a leader exists. 1 is existence, 0 is not.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_is_leader",
        "Whether or not this member is a leader. 1 if is, 0 otherwise.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_leader_changes_seen_total",
        "The number of leader changes seen.",
        MetricType::COUNTER,
    ),
    (
        "etcd_server_proposals_committed_total",
        "The total number of consensus proposals committed.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_proposals_applied_total",
        "The total number of consensus proposals applied.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_proposals_pending",
        "The current number of pending proposals to commit.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_proposals_failed_total",
        "The total number of failed proposals seen.",
        MetricType::COUNTER,
    ),
    (
        "etcd_server_slow_apply_total",
        "The total number of slow apply requests (likely overloaded from slow disk).",
        MetricType::COUNTER,
    ),
    (
        "etcd_server_quota_backend_bytes",
        "Current backend storage quota size in bytes.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_id",
        "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
        MetricType::GAUGE,
    ),
    (
        "etcd_server_version",
        "Which version is running. 1 for 'server_version' label with current version.",
        MetricType::GAUGE,
    ),
    (
        "etcd_cluster_version",
        "Which version is running. 1 for 'cluster_version' label with current cluster version",
        MetricType::GAUGE,
    ),
    (
        "etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.",
        MetricType::HISTOGRAM,
    ),
    (
        "etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.",
        MetricType::HISTOGRAM,
    ),
    (
        "etcd_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.",
        MetricType::GAUGE,
    ),
    (
        "etcd_debugging_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.",
        MetricType::GAUGE,
    ),
    (
        "etcd_mvcc_db_total_size_in_use_in_bytes",
        "Total size of the underlying database logically in use in bytes.",
        MetricType::GAUGE,
    ),
    (
        "etcd_debugging_mvcc_keys_total",
        "Total number of keys.",
        MetricType::GAUGE,
    ),
    (
        "etcd_debugging_mvcc_current_revision",
        "The current revision of store.",
        MetricType::GAUGE,
    ),
    (
        "etcd_mvcc_put_total",
        "Total number of puts seen by this member.",
        MetricType::COUNTER,
    ),
    (
        "etcd_mvcc_delete_total",
        "Total number of deletes seen by this member.",
        MetricType::COUNTER,
    ),
    (
        "keel_checkpoints_total",
        "B-tree checkpoints written by this member since it started (each is also its raft snapshot).",
        MetricType::COUNTER,
    ),
    (
        "keel_checkpoint_pages_written_total",
        "B-tree pages written by this member's checkpoints since it started.",
        MetricType::COUNTER,
    ),
    (
        "keel_wal_segments_recycled_total",
        "WAL segments made from recycled segment files since this member started.",
        MetricType::COUNTER,
    ),
    (
        "keel_snapshots_installed_total",
        "Snapshots received from a leader and installed since this member started.",
        MetricType::COUNTER,
    ),
];

impl EngineCollector {
    pub(super) fn new(node: NodeHandle, facts: MemberFacts) -> EngineCollector {
        let descs = FAMILIES
            .iter()
            .filter_map(|(name, help, _)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    Vec::new(),
                    Default::default(),
                )
                .ok()
            })
            .collect();
        EngineCollector { node, facts, descs }
    }
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.node.status();
        let counted: &NodeMetrics = self.node.metrics();
        let has_leader = status.leader_id != 0 && !status.stopped;
        let is_leader = has_leader && status.leader_id == status.member_id;
        let mut families = Vec::new();
        for (name, help, kind) in FAMILIES {
            let metric = match *name {
                "etcd_server_has_leader" => plain(*kind, f64::from(u8::from(has_leader))),
                "etcd_server_is_leader" => plain(*kind, f64::from(u8::from(is_leader))),
                "etcd_server_leader_changes_seen_total" => {
                    plain(*kind, counted.leader_changes_seen.get() as f64)
                }
                "etcd_server_proposals_committed_total" => {
                    plain(*kind, counted.proposals_committed.get() as f64)
                }
                "etcd_server_proposals_applied_total" => {
                    plain(*kind, counted.proposals_applied.get() as f64)
                }
                "etcd_server_proposals_pending" => {
                    plain(*kind, counted.proposals_pending.get() as f64)
                }
                "etcd_server_proposals_failed_total" => {
                    plain(*kind, counted.proposals_failed.get() as f64)
                }
                "etcd_server_slow_apply_total" => plain(*kind, counted.slow_applies.get() as f64),
                "etcd_server_quota_backend_bytes" => {
                    plain(*kind, self.facts.quota_backend_bytes as f64)
                }
                "etcd_server_id" => labelled("server_id", format!("{:x}", status.member_id)),
                "etcd_server_version" => labelled("server_version", ETCD_VERSION.to_string()),
                // etcd sets it once the cluster version is decided, as major.minor.
                "etcd_cluster_version" if status.cluster_formed() => {
                    labelled("cluster_version", etcd_api_version())
                }
                "etcd_cluster_version" => continue,
                "etcd_disk_wal_fsync_duration_seconds" => histogram(&counted.wal_fsync.snapshot()),
                "etcd_disk_backend_commit_duration_seconds" => {
                    histogram(&counted.backend_commit.snapshot())
                }
                "etcd_mvcc_db_total_size_in_bytes"
                | "etcd_debugging_mvcc_db_total_size_in_bytes" => {
                    plain(*kind, counted.db_size_bytes.get() as f64)
                }
                "etcd_mvcc_db_total_size_in_use_in_bytes" => {
                    plain(*kind, counted.db_size_in_use_bytes.get() as f64)
                }
                "etcd_debugging_mvcc_keys_total" => plain(*kind, counted.keys.get() as f64),
                "etcd_debugging_mvcc_current_revision" => plain(*kind, status.revision as f64),
                "etcd_mvcc_put_total" => plain(*kind, counted.puts.get() as f64),
                "etcd_mvcc_delete_total" => plain(*kind, counted.deletes.get() as f64),
                "keel_checkpoints_total" => plain(*kind, counted.checkpoints.get() as f64),
                "keel_checkpoint_pages_written_total" => {
                    plain(*kind, counted.checkpoint_pages_written.get() as f64)
                }
                "keel_wal_segments_recycled_total" => {
                    plain(*kind, counted.wal_segments_recycled.get() as f64)
                }
                "keel_snapshots_installed_total" => plain(*kind, status.snapshots_installed as f64),
                _ => continue,
            };
            families.push(family(name, help, *kind, vec![metric]));
        }
        families
    }
}

/// A family of `kind` holding `metrics`.
pub(super) fn family(
    name: &str,
    help: &str,
    kind: MetricType,
    metrics: Vec<Metric>,
) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.to_string());
    family.set_help(help.to_string());
    family.set_field_type(kind);
    family.set_metric(metrics);
    family
}

/// A counter or gauge without labels.
pub(super) fn plain(kind: MetricType, value: f64) -> Metric {
    let mut metric = Metric::default();
    if kind == MetricType::COUNTER {
        let mut counter = Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
    metric
}

/// etcd's "1 for the label with the current value" gauges.
fn labelled(label: &str, value: String) -> Metric {
    let mut metric = plain(MetricType::GAUGE, 1.0);
    let mut pair = LabelPair::default();
    pair.set_name(label.to_string());
    pair.set_value(value);
    metric.set_label(vec![pair]);
    metric
}

/// A duration histogram in seconds, on etcd's buckets.
fn histogram(snapshot: &HistogramSnapshot) -> Metric {
    let buckets = DURATION_BUCKET_BOUNDS_NANOS
        .iter()
        .zip(snapshot.cumulative_counts)
        .map(|(bound, count)| {
            let mut bucket = Bucket::default();
            bucket.set_upper_bound(*bound as f64 / 1e9);
            bucket.set_cumulative_count(count);
            bucket
        })
        .collect();
    let mut histogram = Histogram::default();
    histogram.set_bucket(buckets);
    histogram.set_sample_count(snapshot.count);
    histogram.set_sample_sum(snapshot.sum_nanos as f64 / 1e9);
    let mut metric = Metric::default();
    metric.set_histogram(histogram);
    metric
}
