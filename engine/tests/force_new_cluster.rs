//! `--force-new-cluster`: after the rest of the cluster is lost, one
//! member restarts from its own data as a cluster of one, with every write
//! the cluster committed, and grows back with `member add`.

mod support;

use keel_engine::api::*;
use keel_engine::storage::disk::SimDisk;
use std::time::Duration;
use support::*;

#[tokio::test(start_paused = true)]
async fn a_survivor_forced_into_a_new_cluster_keeps_every_committed_write() {
    // No checkpoint meanwhile (snapshot count 10,000): when the member
    // restarts, the writes exist only in its raft log.
    let mut cluster = Cluster::with_settings(3, 21, 10_000, 5_000, 2 << 30);
    let leader = cluster.leader().await;
    for i in 0..60 {
        cluster
            .put(leader, &format!("k{i:02}"), &format!("v{i}"))
            .await;
    }
    let survivor = cluster.other_than(leader);
    // The survivor an operator picks: it has every write.
    let last = cluster.handle(leader).status().applied_index;
    let handle = cluster.handle(survivor).clone();
    wait_until(|| handle.status().applied_index >= last).await;
    // Everyone goes down; two never come back.
    for id in cluster.ids() {
        cluster.crash(id).await;
    }
    for id in cluster.ids().into_iter().filter(|&id| id != survivor) {
        cluster.members.retain(|m| m.id != id);
    }

    // Without the flag the survivor cannot elect itself.
    cluster.start(survivor, false);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(cluster.handle(survivor).status().leader_id, 0);
    cluster.stop(survivor).await;

    cluster.start_with(survivor, false, |config| config.force_new_cluster = true);
    let handle = cluster.handle(survivor).clone();
    wait_until(|| handle.status().leader_id == survivor).await;
    for i in 0..60 {
        assert_eq!(
            cluster.get(survivor, &format!("k{i:02}"), false).await,
            Some(b(&format!("v{i}"))),
            "k{i:02}"
        );
    }
    let members = cluster.member_list(survivor).await;
    assert_eq!(members.iter().map(|m| m.id).collect::<Vec<_>>(), [survivor]);
    let after = cluster.put(survivor, "after", "force").await;
    assert_eq!(after.header.revision, 62);

    // Restarting without the flag keeps the one-member cluster.
    cluster.stop(survivor).await;
    cluster.start(survivor, false);
    let handle = cluster.handle(survivor).clone();
    wait_until(|| handle.status().leader_id == survivor).await;
    assert_eq!(
        cluster.get(survivor, "after", false).await,
        Some(b("force"))
    );

    // And it grows back: a new member joins and gets everything.
    let add = MemberAddRequest {
        peer_urls: vec!["http://127.0.0.1:2999".to_string()],
        is_learner: false,
        force: false,
    };
    let added = match cluster.request(survivor, Request::MemberAdd(add)).await {
        Ok(Response::Member(r)) => r.member.expect("the added member"),
        other => panic!("{other:?}"),
    };
    let mut joining = added.clone();
    joining.name = "joining".into();
    cluster.members.push(joining);
    cluster.disks.insert(added.id, SimDisk::new(77));
    cluster.start(added.id, true);
    let joined = cluster.handle(added.id).clone();
    wait_until(|| joined.status().revision >= 62).await;
    assert_eq!(cluster.get(added.id, "k07", true).await, Some(b("v7")));
    cluster.put(survivor, "two", "members").await;
    cluster.assert_converged().await;
}
