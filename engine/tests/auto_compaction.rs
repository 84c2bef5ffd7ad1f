//! Auto-compaction on a cluster in one process (paused time): the leader's
//! compactor keeps the configured history and followers' compactors stay
//! quiet.

mod support;

use keel_engine::api::*;
use keel_engine::compactor::{self, AutoCompaction};
use std::time::Duration;
use support::*;

async fn compact_revision(cluster: &Cluster, via: u64) -> i64 {
    // A read at revision 1 is refused with the compact revision once any
    // compaction happened.
    let request = Request::Range(RangeRequest {
        key: b("k"),
        revision: 1,
        serializable: true,
        ..RangeRequest::default()
    });
    match cluster.request(via, request).await {
        Err(ApiError::Compacted { compact_revision }) => compact_revision,
        Ok(_) => 0,
        other => panic!("range at 1 via {via:x}: {other:?}"),
    }
}

fn start_compactors(cluster: &Cluster, policy: AutoCompaction, interval: Duration) {
    for id in cluster.ids() {
        tokio::spawn(compactor::run(cluster.handle(id).clone(), policy, interval));
    }
}

#[tokio::test(start_paused = true)]
async fn revision_mode_keeps_the_last_n_revisions() {
    let cluster = Cluster::new(3, 41);
    let leader = cluster.leader().await;
    let interval = Duration::from_secs(300);
    start_compactors(&cluster, AutoCompaction::Revision(10), interval);
    for i in 0..30 {
        cluster.put(leader, "k", &format!("v{i}")).await;
    }
    let revision = cluster.put(leader, "k", "last").await.header.revision;
    assert_eq!(
        compact_revision(&cluster, leader).await,
        0,
        "nothing before the first check"
    );
    tokio::time::sleep(interval + Duration::from_secs(1)).await;
    cluster.assert_converged().await;
    for id in cluster.ids() {
        assert_eq!(compact_revision(&cluster, id).await, revision - 10);
    }
}

#[tokio::test(start_paused = true)]
async fn periodic_mode_compacts_to_the_revision_a_window_ago() {
    let cluster = Cluster::new(3, 42);
    let leader = cluster.leader().await;
    let window = Duration::from_secs(10);
    start_compactors(&cluster, AutoCompaction::Periodic(window), Duration::MAX);
    // One put per second. As etcd's, the compactor compacts once per window
    // to the revision sampled a window before: what is kept is between one
    // and two windows of history (10 to 20 revisions here).
    let mut revisions = Vec::new();
    for i in 0..25 {
        revisions.push(
            cluster
                .put(leader, "k", &format!("v{i}"))
                .await
                .header
                .revision,
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let compacted = compact_revision(&cluster, leader).await;
    let newest = *revisions.last().unwrap_or(&0);
    assert!(
        compacted > 0 && compacted <= newest - 9 && compacted >= newest - 21,
        "compacted to {compacted}, newest revision {newest}"
    );
}
