//! Leases across whole clusters in one process (paused time): expiry is the
//! leader's decision applied everywhere, keep-alives hold a lease, and a
//! TTL survives a leader crash and a whole-cluster restart without being
//! reset or shortened.

mod support;

use keel_engine::api::*;
use std::time::Duration;
use support::*;
use tokio::time::{Instant, sleep};

async fn grant(cluster: &Cluster, via: u64, ttl_seconds: i64) -> LeaseGrantResponse {
    let request = Request::LeaseGrant(LeaseGrantRequest { ttl_seconds, id: 0 });
    match cluster.request(via, request).await {
        Ok(Response::LeaseGrant(g)) => g,
        other => panic!("grant via {via:x}: {other:?}"),
    }
}

async fn keep_alive(cluster: &Cluster, via: u64, id: i64) -> Result<Response, ApiError> {
    cluster
        .request(via, Request::LeaseKeepAlive(LeaseKeepAliveRequest { id }))
        .await
}

async fn time_to_live(cluster: &Cluster, via: u64, id: i64) -> LeaseTimeToLiveResponse {
    let request = Request::LeaseTimeToLive(LeaseTimeToLiveRequest { id, keys: true });
    match cluster.request(via, request).await {
        Ok(Response::LeaseTimeToLive(t)) => t,
        other => panic!("time to live via {via:x}: {other:?}"),
    }
}

async fn lease_ids(cluster: &Cluster, via: u64) -> Vec<i64> {
    match cluster.request(via, Request::LeaseLeases).await {
        Ok(Response::LeaseLeases(l)) => l.leases,
        other => panic!("lease list via {via:x}: {other:?}"),
    }
}

async fn put_leased(cluster: &Cluster, via: u64, key: &str, lease: i64) -> PutResponse {
    let request = Request::Put(PutRequest {
        key: b(key),
        value: b("v"),
        lease,
        ..PutRequest::default()
    });
    match cluster.request(via, request).await {
        Ok(Response::Put(p)) => p,
        other => panic!("put {key} via {via:x}: {other:?}"),
    }
}

/// Every member lists the same leases.
async fn assert_same_leases(cluster: &Cluster) {
    let mut lists = Vec::new();
    for id in cluster.ids() {
        lists.push(lease_ids(cluster, id).await);
    }
    assert!(lists.windows(2).all(|w| w[0] == w[1]), "{lists:?}");
}

#[tokio::test(start_paused = true)]
async fn kept_alive_leases_live_and_abandoned_ones_expire_with_their_keys_everywhere() {
    let cluster = Cluster::new(3, 11);
    let leader = cluster.leader().await;
    let follower = cluster.other_than(leader);
    let kept = grant(&cluster, follower, 5).await;
    let dropped = grant(&cluster, follower, 5).await;
    assert_eq!(kept.ttl_seconds, 5);
    assert_ne!(kept.id, dropped.id);
    put_leased(&cluster, follower, "kept", kept.id).await;
    put_leased(&cluster, leader, "dropped/a", dropped.id).await;
    put_leased(&cluster, leader, "dropped/b", dropped.id).await;
    cluster.put(leader, "plain", "v").await;
    let ttl = time_to_live(&cluster, leader, dropped.id).await;
    assert_eq!(ttl.granted_ttl_seconds, 5);
    assert!((1..=5).contains(&ttl.ttl_seconds), "{ttl:?}");
    assert_eq!(ttl.keys, vec![b("dropped/a"), b("dropped/b")]);
    // Twenty seconds of keep-alives every two seconds, through a follower.
    for _ in 0..10 {
        sleep(Duration::from_secs(2)).await;
        match keep_alive(&cluster, follower, kept.id).await {
            Ok(Response::LeaseKeepAlive(k)) => assert_eq!((k.id, k.ttl_seconds), (kept.id, 5)),
            other => panic!("keep-alive: {other:?}"),
        }
    }
    for id in cluster.ids() {
        assert_eq!(
            cluster.get(id, "kept", true).await,
            Some(b("v")),
            "on {id:x}"
        );
        assert_eq!(cluster.get(id, "dropped/a", true).await, None, "on {id:x}");
        assert_eq!(
            cluster.get(id, "plain", true).await,
            Some(b("v")),
            "on {id:x}"
        );
    }
    assert_eq!(
        time_to_live(&cluster, follower, dropped.id)
            .await
            .ttl_seconds,
        -1
    );
    assert!(matches!(
        keep_alive(&cluster, follower, dropped.id).await,
        Err(ApiError::LeaseNotFound)
    ));
    // Without keep-alives the other one goes too.
    sleep(Duration::from_secs(8)).await;
    assert_eq!(cluster.get(follower, "kept", false).await, None);
    assert!(lease_ids(&cluster, follower).await.is_empty());
    cluster.assert_converged().await;
    assert_same_leases(&cluster).await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_crash_neither_resets_nor_shortens_a_lease() {
    let mut cluster = Cluster::new(3, 12);
    let leader = cluster.leader().await;
    let granted_at = Instant::now();
    let lease = grant(&cluster, leader, 10).await;
    put_leased(&cluster, leader, "held", lease.id).await;
    sleep(Duration::from_secs(4)).await;
    cluster.crash(leader).await;
    let next = cluster.leader().await;
    assert_ne!(next, leader);
    let left = time_to_live(&cluster, next, lease.id).await.ttl_seconds;
    let elapsed = granted_at.elapsed().as_secs() as i64;
    assert!(
        left <= 10 - elapsed + 1 && left >= 1,
        "{left}s left after {elapsed}s: the TTL was reset"
    );
    // Never revoked before the TTL has passed since the grant was sent.
    let before_ttl = granted_at + Duration::from_millis(9_900);
    tokio::time::sleep_until(before_ttl).await;
    assert_eq!(cluster.get(next, "held", true).await, Some(b("v")));
    // ... and gone soon after.
    sleep(Duration::from_secs(5)).await;
    assert_eq!(cluster.get(next, "held", false).await, None);
    cluster.start(leader, false);
    cluster.assert_converged().await;
    assert_same_leases(&cluster).await;
}

#[tokio::test(start_paused = true)]
async fn a_restarted_cluster_counts_down_from_the_checkpointed_ttl() {
    let mut cluster = Cluster::new(3, 13);
    let leader = cluster.leader().await;
    let lease = grant(&cluster, leader, 120).await;
    put_leased(&cluster, leader, "held", lease.id).await;
    // Several lease checkpoints happen in these 30 seconds.
    sleep(Duration::from_secs(30)).await;
    for id in cluster.ids() {
        cluster.stop(id).await;
    }
    for id in cluster.ids() {
        cluster.start(id, false);
    }
    let leader = cluster.leader().await;
    let left = time_to_live(&cluster, leader, lease.id).await;
    assert_eq!(left.granted_ttl_seconds, 120);
    assert!(
        (80..=95).contains(&left.ttl_seconds),
        "{}s left: a restart should resume near 90s",
        left.ttl_seconds
    );
    assert_eq!(left.keys, vec![b("held")]);
    cluster.assert_converged().await;
}

#[tokio::test(start_paused = true)]
async fn revoke_grant_rules_and_minimum_ttl() {
    let cluster = Cluster::new(3, 14);
    let leader = cluster.leader().await;
    let follower = cluster.other_than(leader);
    // etcd's minimum: 1.5 election timeouts (1.5 s here), rounded up.
    assert_eq!(grant(&cluster, follower, 1).await.ttl_seconds, 2);
    let chosen = Request::LeaseGrant(LeaseGrantRequest {
        ttl_seconds: 30,
        id: 0x1234,
    });
    assert!(matches!(
        cluster.request(follower, chosen.clone()).await,
        Ok(Response::LeaseGrant(LeaseGrantResponse { id: 0x1234, .. }))
    ));
    assert_eq!(
        cluster.request(leader, chosen).await,
        Err(ApiError::LeaseExists)
    );
    let too_long = Request::LeaseGrant(LeaseGrantRequest {
        ttl_seconds: MAX_LEASE_TTL_SECONDS + 1,
        id: 0,
    });
    assert_eq!(
        cluster.request(leader, too_long).await,
        Err(ApiError::LeaseTtlTooLarge)
    );
    let a = put_leased(&cluster, follower, "a", 0x1234).await;
    let before = put_leased(&cluster, follower, "b", 0x1234).await;
    assert!(before.header.revision > a.header.revision);
    let revoke = Request::LeaseRevoke(LeaseRevokeRequest { id: 0x1234 });
    let revoked = match cluster.request(follower, revoke.clone()).await {
        Ok(Response::LeaseRevoke(r)) => r,
        other => panic!("revoke: {other:?}"),
    };
    assert_eq!(revoked.header.revision, before.header.revision + 1);
    assert_eq!(cluster.get(leader, "a", false).await, None);
    assert_eq!(cluster.get(leader, "b", false).await, None);
    assert_eq!(
        cluster.request(follower, revoke).await,
        Err(ApiError::LeaseNotFound)
    );
    let orphan = Request::Put(PutRequest {
        key: b("c"),
        lease: 0x1234,
        ..PutRequest::default()
    });
    assert_eq!(
        cluster.request(leader, orphan).await,
        Err(ApiError::LeaseNotFound)
    );
    cluster.assert_converged().await;
    assert_same_leases(&cluster).await;
}

#[tokio::test(start_paused = true)]
async fn a_member_that_catches_up_by_snapshot_knows_the_leases() {
    let cluster = Cluster::with_settings(3, 15, 20, 5, 2 << 30);
    let leader = cluster.leader().await;
    let lagging = cluster.other_than(leader);
    let ids = cluster.ids();
    cluster.net.isolate(lagging, &ids);
    let lease = grant(&cluster, leader, 60).await;
    for i in 0..60 {
        put_leased(&cluster, leader, &format!("k{i:02}"), lease.id).await;
    }
    let leader_handle = cluster.handle(leader).clone();
    wait_until(|| leader_handle.status().checkpoint_index > 40).await;
    cluster.net.heal();
    let lagging_handle = cluster.handle(lagging).clone();
    wait_until(|| lagging_handle.status().snapshots_installed > 0).await;
    let ttl = time_to_live(&cluster, lagging, lease.id).await;
    assert_eq!(ttl.keys.len(), 60);
    assert!(ttl.ttl_seconds > 0 && ttl.ttl_seconds <= 60, "{ttl:?}");
    cluster.assert_converged().await;
    assert_same_leases(&cluster).await;
}

/// Found by keel-sim: a member partitioned while a lease was kept alive
/// caught up by snapshot, kept its stale countdown, became leader and
/// expired the lease under its holder.
#[tokio::test(start_paused = true)]
async fn a_member_that_missed_keep_alives_takes_the_snapshots_countdown() {
    let cluster = Cluster::with_settings(3, 16, 20, 5, 2 << 30);
    let leader = cluster.leader().await;
    let lagging = cluster.other_than(leader);
    let lease = grant(&cluster, leader, 10).await;
    put_leased(&cluster, leader, "held", lease.id).await;
    let ids = cluster.ids();
    cluster.net.isolate(lagging, &ids);
    // Twenty seconds of keep-alives, each followed by enough writes for a
    // checkpoint (so the snapshot holds it) and log compaction, that the
    // lagging member never sees.
    let mut last_keep_alive = Instant::now();
    for round in 0..10 {
        sleep(Duration::from_secs(2)).await;
        last_keep_alive = Instant::now();
        assert!(keep_alive(&cluster, leader, lease.id).await.is_ok());
        for i in 0..30 {
            cluster.put(leader, &format!("k{round}-{i}"), "v").await;
        }
    }
    cluster.net.heal();
    let lagging_handle = cluster.handle(lagging).clone();
    wait_until(|| lagging_handle.status().snapshots_installed > 0).await;
    let moved = cluster
        .request(
            leader,
            Request::MoveLeader(MoveLeaderRequest { target_id: lagging }),
        )
        .await;
    assert!(matches!(moved, Ok(Response::MoveLeader(_))), "{moved:?}");
    wait_until(|| lagging_handle.status().leader_id == lagging).await;
    // A second before the TTL runs out (time to live is truncated to whole
    // seconds, as etcd reports it).
    tokio::time::sleep_until(last_keep_alive + Duration::from_millis(9_000)).await;
    assert_eq!(cluster.get(lagging, "held", false).await, Some(b("v")));
    assert!(time_to_live(&cluster, lagging, lease.id).await.ttl_seconds >= 1);
    cluster.assert_converged().await;
    assert_same_leases(&cluster).await;
}
