//! Bytes exchanged with each peer, under etcd's names and labels
//! (`To`/`From`: the peer's member id in hexadecimal).

use super::engine::{family, plain};
use crate::peer::PeerTraffic;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};
use std::sync::Arc;

const SENT: (&str, &str) = (
    "etcd_network_peer_sent_bytes_total",
    "The total number of bytes sent to peers.",
);
const RECEIVED: (&str, &str) = (
    "etcd_network_peer_received_bytes_total",
    "The total number of bytes received from peers.",
);

/// Reads the peer transport's counts when the registry is gathered.
pub(super) struct PeerCollector {
    traffic: Arc<PeerTraffic>,
    descs: Vec<Desc>,
}

impl PeerCollector {
    pub(super) fn new(traffic: Arc<PeerTraffic>) -> PeerCollector {
        let descs = [(SENT, "To"), (RECEIVED, "From")]
            .into_iter()
            .filter_map(|((name, help), label)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    vec![label.to_string()],
                    Default::default(),
                )
                .ok()
            })
            .collect();
        PeerCollector { traffic, descs }
    }
}

impl Collector for PeerCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let totals = self.traffic.totals();
        let counter = |label: &str, id: u64, value: u64| {
            let mut metric: Metric = plain(MetricType::COUNTER, value as f64);
            let mut pair = LabelPair::default();
            pair.set_name(label.to_string());
            pair.set_value(format!("{id:x}"));
            metric.set_label(vec![pair]);
            metric
        };
        let sent: Vec<Metric> = totals
            .iter()
            .filter(|(_, sent, _)| *sent > 0)
            .map(|(id, sent, _)| counter("To", *id, *sent))
            .collect();
        let received: Vec<Metric> = totals
            .iter()
            .filter(|(_, _, received)| *received > 0)
            .map(|(id, _, received)| counter("From", *id, *received))
            .collect();
        let mut families = Vec::new();
        if !sent.is_empty() {
            families.push(family(SENT.0, SENT.1, MetricType::COUNTER, sent));
        }
        if !received.is_empty() {
            families.push(family(
                RECEIVED.0,
                RECEIVED.1,
                MetricType::COUNTER,
                received,
            ));
        }
        families
    }
}
