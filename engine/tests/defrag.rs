//! Defragmentation across a cluster in one process (paused time): one
//! member rewrites its state file compactly while writes go on, loses
//! nothing, and restarts from the compact file.

mod support;

use keel_engine::api::*;
use support::*;

async fn status(cluster: &Cluster, via: u64) -> StatusResponse {
    match cluster.request(via, Request::Status).await {
        Ok(Response::Status(s)) => s,
        other => panic!("status via {via:x}: {other:?}"),
    }
}

async fn defragment(cluster: &Cluster, via: u64) -> Result<Response, ApiError> {
    cluster.request(via, Request::Defragment).await
}

/// Fills the store with `keys` keys, deletes nine in ten and compacts the
/// history away, so most of the file's pages are free.
async fn fill_and_thin(cluster: &Cluster, via: u64, keys: u32) {
    let value = "v".repeat(1500);
    for i in 0..keys {
        cluster.put(via, &format!("k{i:05}"), &value).await;
    }
    for i in (0..keys).filter(|i| i % 10 != 0) {
        let request = Request::DeleteRange(DeleteRangeRequest {
            key: b(&format!("k{i:05}")),
            ..DeleteRangeRequest::default()
        });
        cluster.request(via, request).await.expect("delete");
    }
    let revision = status(cluster, via).await.header.revision;
    let compact = Request::Compact(CompactionRequest {
        revision,
        physical: true,
    });
    cluster.request(via, compact).await.expect("compact");
    // Every member applied the compaction (the copy holds what is applied).
    cluster.assert_converged().await;
}

#[tokio::test(start_paused = true)]
async fn defragment_shrinks_the_file_and_keeps_every_key_while_writes_go_on() {
    let mut cluster = Cluster::with_settings(3, 31, 100, 50, 2 << 30);
    let leader = cluster.leader().await;
    let member = cluster.other_than(leader);
    fill_and_thin(&cluster, leader, 600).await;
    // One defragmentation first: the checkpoints of the fill are behind it.
    defragment(&cluster, member)
        .await
        .expect("first defragment");
    let before = status(&cluster, member).await;

    // More churn, then a defragmentation with puts in flight.
    fill_and_thin(&cluster, leader, 600).await;
    let grown = status(&cluster, member).await;
    assert!(grown.db_size > before.db_size, "{grown:?} vs {before:?}");
    let (answer, ()) = tokio::join!(defragment(&cluster, member), async {
        for i in 0..30 {
            cluster.put(leader, &format!("during{i}"), "x").await;
        }
    });
    match answer {
        Ok(Response::Defragment(d)) => assert_eq!(d.header.member_id, member),
        other => panic!("defragment: {other:?}"),
    }
    let after = status(&cluster, member).await;
    assert!(
        after.db_size * 2 < grown.db_size,
        "file {} bytes after defragmenting, {} before",
        after.db_size,
        grown.db_size
    );
    cluster.assert_converged().await;
    for i in (0..600).step_by(10) {
        let got = cluster.get(member, &format!("k{i:05}"), true).await;
        assert_eq!(got.map(|v| v.len()), Some(1500), "k{i:05}");
    }
    assert_eq!(cluster.get(member, "k00001", true).await, None);
    assert_eq!(cluster.get(member, "during29", false).await, Some(b("x")));

    // The compact file is the member's state after a power loss too.
    cluster.crash(member).await;
    cluster.start(member, false);
    cluster.put(leader, "after", "restart").await;
    cluster.assert_converged().await;
    assert_eq!(cluster.get(member, "during0", true).await, Some(b("x")));
    assert_eq!(
        cluster.get(member, "k00590", true).await.map(|v| v.len()),
        Some(1500)
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_defragment_requests_share_one_copy_and_a_stopped_member_refuses() {
    let mut cluster = Cluster::with_settings(1, 32, 100, 50, 2 << 30);
    let only = cluster.leader().await;
    fill_and_thin(&cluster, only, 200).await;
    let (a, b_) = tokio::join!(defragment(&cluster, only), defragment(&cluster, only));
    assert!(matches!(a, Ok(Response::Defragment(_))), "{a:?}");
    assert!(matches!(b_, Ok(Response::Defragment(_))), "{b_:?}");
    let handle = cluster.handle(only).clone();
    cluster.stop(only).await;
    let refused = handle.request(Request::Defragment).await;
    assert!(refused.is_err(), "{refused:?}");
}
