//! gRPC calls counted as etcd's go-grpc-prometheus interceptors count them:
//! `grpc_server_started_total` when a call to a served method starts,
//! `grpc_server_handled_total` with its status code when it ends, and with
//! `--metrics extensive` `grpc_server_handling_seconds`.

use super::MetricsLevel;
use crate::etcd::Unary;
use crate::grpc::Code;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use tokio::time::Instant;

/// Methods that stream; every other served method is unary.
const STREAMING: &[(&str, &str)] = &[
    ("/etcdserverpb.Watch/Watch", "bidi_stream"),
    ("/etcdserverpb.Lease/LeaseKeepAlive", "bidi_stream"),
    ("/etcdserverpb.Maintenance/Snapshot", "server_stream"),
    ("/grpc.health.v1.Health/Watch", "server_stream"),
];

/// The server's gRPC counters (cheap to clone: the metrics are shared).
#[derive(Clone)]
pub(super) struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
    /// Only with `--metrics extensive`.
    handling_seconds: Option<HistogramVec>,
}

impl GrpcMetrics {
    pub(super) fn new(level: MetricsLevel) -> GrpcMetrics {
        let started = IntCounterVec::new(
            Opts::new(
                "grpc_server_started_total",
                "Total number of RPCs started on the server.",
            ),
            &["grpc_method", "grpc_service", "grpc_type"],
        )
        .unwrap_or_else(|_| super::unreachable_metric());
        let handled = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
            ),
            &["grpc_code", "grpc_method", "grpc_service", "grpc_type"],
        )
        .unwrap_or_else(|_| super::unreachable_metric());
        let handling_seconds = (level == MetricsLevel::Extensive).then(|| {
            HistogramVec::new(
                HistogramOpts::new(
                    "grpc_server_handling_seconds",
                    "Histogram of response latency (seconds) of gRPC that had been \
                     application-level handled by the server.",
                ),
                &["grpc_method", "grpc_service", "grpc_type"],
            )
            .unwrap_or_else(|_| super::unreachable_metric())
        });
        GrpcMetrics {
            started,
            handled,
            handling_seconds,
        }
    }

    /// Counts the start of a call to `path`, if it names a served method.
    pub(super) fn start(&self, path: &str) -> Option<CallRecord> {
        let kind = method_type(path)?;
        let (service, method) = path.strip_prefix('/')?.rsplit_once('/')?;
        self.started
            .with_label_values(&[method, service, kind])
            .inc();
        Some(CallRecord {
            metrics: self.clone(),
            labels: [method.to_string(), service.to_string(), kind.to_string()],
            started: Instant::now(),
        })
    }
}

/// `unary`, `bidi_stream` or `server_stream` for a served method.
fn method_type(path: &str) -> Option<&'static str> {
    if let Some((_, kind)) = STREAMING.iter().find(|(p, _)| *p == path) {
        return Some(kind);
    }
    if Unary::from_grpc_path(path).is_some() || path == "/grpc.health.v1.Health/Check" {
        return Some("unary");
    }
    None
}

impl Collector for GrpcMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.started.desc();
        descs.extend(self.handled.desc());
        if let Some(histogram) = &self.handling_seconds {
            descs.extend(histogram.desc());
        }
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.started.collect();
        families.extend(self.handled.collect());
        if let Some(histogram) = &self.handling_seconds {
            families.extend(histogram.collect());
        }
        families
    }
}

/// One call being counted; [`CallRecord::finish`] counts how it ended.
pub struct CallRecord {
    metrics: GrpcMetrics,
    /// grpc_method, grpc_service, grpc_type.
    labels: [String; 3],
    started: Instant,
}

impl std::fmt::Debug for CallRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRecord")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl CallRecord {
    /// Counts the call as handled with `code`.
    pub fn finish(self, code: Code) {
        let [method, service, kind] = &self.labels;
        self.metrics
            .handled
            .with_label_values(&[code_name(code), method, service, kind])
            .inc();
        if let Some(histogram) = &self.metrics.handling_seconds {
            histogram
                .with_label_values(&[method, service, kind])
                .observe(self.started.elapsed().as_secs_f64());
        }
    }
}

/// grpc-go's names of the codes (`codes.Code.String()`).
pub(super) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Canceled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}
