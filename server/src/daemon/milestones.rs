//! The start-up milestones etcd logs, logged at the same moments.
//!
//! Operators' scripts and etcd's own e2e harness wait for etcd's lines
//! (the harness waits for a line containing `enabled capabilities for
//! version` and one containing `published`, in the process's merged
//! output), so a member logs them, on stderr at the default `info` level,
//! with etcd 3.4's words:
//!
//! - `enabled capabilities for version 3.4` once the cluster has formed
//!   (etcd's cluster version is decided);
//! - `published {Name:NAME ClientURLs:[URL ...]} to cluster ID` once the
//!   member list shows this member's name and client URLs and the member
//!   can serve (`NodeStatus::ready_for_clients`);
//! - then `ready to serve client requests`, and for each client listener
//!   `serving insecure client requests on ADDRESS, this is strongly
//!   discouraged!` (plain) or `serving client requests on ADDRESS` (TLS).
//!
//! No other log line of a member contains `published` or `enabled
//! capabilities for version`, so a waiter that counts such lines is not
//! released before the member can serve.

use keel_engine::node::{NodeHandle, NodeStatus};
use keel_engine::version::etcd_api_version;

/// What the milestone lines name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneFacts {
    /// `--name`.
    pub name: String,
    /// `--advertise-client-urls`.
    pub client_urls: Vec<String>,
    /// The cluster's id.
    pub cluster_id: u64,
    /// Each client listener's bound address and whether it serves TLS.
    pub client_listeners: Vec<(String, bool)>,
}

/// Which milestones a member has logged so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestones {
    facts: MilestoneFacts,
    capabilities_logged: bool,
    ready_logged: bool,
}

impl Milestones {
    /// Nothing logged yet.
    pub fn new(facts: MilestoneFacts) -> Milestones {
        Milestones {
            facts,
            capabilities_logged: false,
            ready_logged: false,
        }
    }

    /// The lines `status` makes due, in order (each milestone once).
    pub fn lines(&mut self, status: &NodeStatus) -> Vec<String> {
        let mut lines = Vec::new();
        if status.stopped {
            return lines;
        }
        if !self.capabilities_logged && status.cluster_formed() {
            self.capabilities_logged = true;
            lines.push(format!(
                "enabled capabilities for version {}",
                etcd_api_version()
            ));
        }
        if !self.ready_logged && status.ready_for_clients() {
            self.ready_logged = true;
            lines.push(format!(
                "published {{Name:{} ClientURLs:[{}]}} to cluster {:x}",
                self.facts.name,
                self.facts.client_urls.join(" "),
                self.facts.cluster_id
            ));
            lines.push("ready to serve client requests".to_string());
            for (address, tls) in &self.facts.client_listeners {
                lines.push(if *tls {
                    format!("serving client requests on {address}")
                } else {
                    format!(
                        "serving insecure client requests on {address}, this is strongly \
                         discouraged!"
                    )
                });
            }
        }
        lines
    }

    /// Whether every milestone has been logged.
    pub fn done(&self) -> bool {
        self.capabilities_logged && self.ready_logged
    }
}

/// Logs the milestones as `node`'s status reaches them; ends once all are
/// logged or the node stops.
pub async fn log_milestones(node: NodeHandle, facts: MilestoneFacts) {
    let mut milestones = Milestones::new(facts);
    let mut status = node.watch_status();
    loop {
        let now = status.borrow_and_update().clone();
        for line in milestones.lines(&now) {
            tracing::info!("{line}");
        }
        if milestones.done() || now.stopped || status.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> MilestoneFacts {
        MilestoneFacts {
            name: "infra1".into(),
            client_urls: vec![
                "http://127.0.0.1:2379".into(),
                "https://10.0.0.1:2379".into(),
            ],
            cluster_id: 0x4d66f94d8911582d,
            client_listeners: vec![
                ("127.0.0.1:2379".into(), false),
                ("10.0.0.1:2379".into(), true),
            ],
        }
    }

    #[test]
    fn each_milestone_is_logged_once_in_etcds_order_and_words() {
        let mut milestones = Milestones::new(facts());
        let booting = NodeStatus {
            member_id: 7,
            applied_index: 1,
            ..NodeStatus::default()
        };
        assert!(milestones.lines(&booting).is_empty());
        let elected = NodeStatus {
            leader_id: 7,
            ..booting.clone()
        };
        assert_eq!(
            milestones.lines(&elected),
            ["enabled capabilities for version 3.4"]
        );
        // Published in the member list, but no leader right now: not yet.
        let published_without_leader = NodeStatus {
            leader_id: 0,
            applied_index: 3,
            published: true,
            ..booting.clone()
        };
        assert!(milestones.lines(&published_without_leader).is_empty());
        let ready = NodeStatus {
            leader_id: 9,
            ..published_without_leader
        };
        assert_eq!(
            milestones.lines(&ready),
            [
                "published {Name:infra1 ClientURLs:[http://127.0.0.1:2379 https://10.0.0.1:2379]} \
                 to cluster 4d66f94d8911582d",
                "ready to serve client requests",
                "serving insecure client requests on 127.0.0.1:2379, this is strongly discouraged!",
                "serving client requests on 10.0.0.1:2379",
            ]
        );
        assert!(milestones.done());
        assert!(milestones.lines(&ready).is_empty(), "never twice");
    }

    #[test]
    fn a_member_ready_at_once_logs_capabilities_before_published() {
        let mut milestones = Milestones::new(facts());
        let ready = NodeStatus {
            leader_id: 1,
            applied_index: 2,
            published: true,
            ..NodeStatus::default()
        };
        let lines = milestones.lines(&ready);
        assert_eq!(lines[0], "enabled capabilities for version 3.4");
        assert!(lines[1].starts_with("published {Name:infra1 "));
        // A stopped member logs nothing more.
        let mut stopped = Milestones::new(facts());
        let gone = NodeStatus {
            stopped: true,
            ..ready
        };
        assert!(stopped.lines(&gone).is_empty());
    }
}
