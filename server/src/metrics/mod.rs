//! `/metrics`: the member's metrics in Prometheus's text format (0.0.4),
//! named as etcd 3.4 names them where Keel has the same thing, so etcd's
//! dashboards and alerts work unchanged; `keel_*` for what is Keel's own.
//! Nothing is reported that Keel does not measure.
//!
//! The engine counts in plain atomics ([`keel_engine::node::NodeMetrics`]);
//! they are read at scrape time by [`engine::EngineCollector`]. The server's
//! own counters (gRPC calls, watchers) are Prometheus metrics kept here,
//! the peer transport's bytes are read from [`PeerTraffic`];
//! the process's come from `/proc/self` ([`process`]). Encoding is the
//! `prometheus` crate's text encoder.

mod engine;
mod grpc;
mod peers;
mod process;

pub use grpc::CallRecord;

use crate::peer::PeerTraffic;
use crate::url::Url;
use keel_engine::node::NodeHandle;
use prometheus::{Encoder, IntGauge, Registry, TextEncoder};
use std::sync::Arc;

/// The content type of `/metrics` answers (Prometheus's text format).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How much is reported (`--metrics`, etcd's flag).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsLevel {
    /// etcd's default: everything but per-method latency histograms.
    #[default]
    Basic,
    /// Adds `grpc_server_handling_seconds`, per gRPC method.
    Extensive,
}

impl MetricsLevel {
    /// `basic` or `extensive`, as etcd takes them.
    pub fn parse(text: &str) -> Option<MetricsLevel> {
        match text {
            "basic" => Some(MetricsLevel::Basic),
            "extensive" => Some(MetricsLevel::Extensive),
            _ => None,
        }
    }
}

/// Where and how much the member reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// `--listen-metrics-urls`: extra listeners serving only `/metrics`
    /// and `/health` (`https://` ones with the client TLS settings).
    pub listen_urls: Vec<Url>,
    /// `--metrics`.
    pub level: MetricsLevel,
}

/// What a member's metrics need to know about it beyond its node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberFacts {
    /// `--quota-backend-bytes` as in force.
    pub quota_backend_bytes: u64,
}

/// One member's metrics: shared by its listeners, rendered per scrape.
pub struct Metrics {
    registry: Registry,
    grpc: grpc::GrpcMetrics,
    watchers: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of the member whose node is `node`.
    pub fn new(
        node: NodeHandle,
        facts: MemberFacts,
        traffic: Arc<PeerTraffic>,
        level: MetricsLevel,
    ) -> Arc<Metrics> {
        let registry = Registry::new();
        let grpc = grpc::GrpcMetrics::new(level);
        let watchers = IntGauge::new(
            "etcd_debugging_mvcc_watcher_total",
            "Total number of watchers.",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(engine::EngineCollector::new(node, facts)),
            Box::new(peers::PeerCollector::new(traffic)),
            Box::new(process::ProcessCollector::new()),
            Box::new(grpc.clone()),
            Box::new(watchers.clone()),
        ];
        for collector in collectors {
            if let Err(err) = registry.register(collector) {
                tracing::error!("metrics: {err}");
            }
        }
        Arc::new(Metrics {
            registry,
            grpc,
            watchers,
        })
    }

    /// Every metric, in Prometheus's text format.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut text = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&families, &mut text) {
            tracing::error!("metrics: encoding failed: {err}");
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// Starts counting a gRPC call to `path` (`/service/method`); `None`
    /// for a path that names no method Keel serves (grpc-go counts only
    /// registered methods).
    pub fn grpc_call(&self, path: &str) -> Option<CallRecord> {
        self.grpc.start(path)
    }

    /// Counts a watch as open until the returned guard is dropped.
    pub fn watcher(&self) -> WatcherGuard {
        self.watchers.inc();
        WatcherGuard(self.watchers.clone())
    }
}

/// One open watch, counted in `etcd_debugging_mvcc_watcher_total`.
#[derive(Debug)]
pub struct WatcherGuard(IntGauge);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Metric names and help texts are constants here; a bad one is a bug
/// caught by the tests, never input.
fn unreachable_metric() -> ! {
    panic!("metrics: a constant metric definition was refused")
}

#[cfg(test)]
mod tests;
