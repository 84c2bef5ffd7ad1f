//! `MemberPromote` asked of a follower over etcd's gRPC API: the follower
//! hands it to the leader over the peer port (only the leader knows how
//! far the learner's log is), so a client gets etcd's answer from any
//! member: "not in sync" while the learner lags, the promotion once it
//! has caught up.

mod common;

use common::grpc::GrpcClient;
use common::{daemon_options, free_ports};
use keel_engine::storage::disk::OsDisk;
use keel_server::daemon::{ClusterState, Daemon};
use keel_server::etcd::proto::etcdserverpb as pb;
use std::sync::Arc;
use std::time::Duration;

const MEMBER_ADD: &str = "/etcdserverpb.Cluster/MemberAdd";
const MEMBER_PROMOTE: &str = "/etcdserverpb.Cluster/MemberPromote";
const MEMBER_LIST: &str = "/etcdserverpb.Cluster/MemberList";
const STATUS: &str = "/etcdserverpb.Maintenance/Status";

/// The client address of a member that is not the leader.
async fn a_follower(addresses: &[String]) -> String {
    for _ in 0..100 {
        for address in addresses {
            let mut client = GrpcClient::connect(address).await;
            let status: Result<pb::StatusResponse, _> =
                client.unary(STATUS, &pb::StatusRequest::default()).await;
            if let Ok(status) = status {
                let me = status.header.as_ref().map_or(0, |h| h.member_id);
                if status.leader != 0 && status.leader != me {
                    return address.clone();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no member reported another as leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_forwards_member_promote_to_the_leader() {
    common::task_panics();
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(8);
    let cluster: Vec<(String, String)> = (0..3)
        .map(|i| {
            (
                format!("m{i}"),
                format!("http://127.0.0.1:{}", ports[3 + i]),
            )
        })
        .collect();
    let mut daemons = Vec::new();
    for i in 0..3 {
        let options = daemon_options(
            dir.path(),
            &format!("m{i}"),
            ports[i],
            ports[3 + i],
            &cluster,
            ClusterState::New,
        );
        daemons.push(
            Daemon::start(options, Arc::new(OsDisk::new()))
                .await
                .unwrap(),
        );
    }
    for d in &daemons {
        assert!(d.wait_ready(Duration::from_secs(20)).await);
    }
    let addresses: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
    let follower = a_follower(&addresses).await;
    let mut client = GrpcClient::connect(&follower).await;

    // A learner that has not started: the leader refuses, and the
    // follower relays its refusal rather than "not leader".
    let learner_url = format!("http://127.0.0.1:{}", ports[7]);
    let added: pb::MemberAddResponse = client
        .unary(
            MEMBER_ADD,
            &pb::MemberAddRequest {
                peer_urls: vec![learner_url.clone()],
                is_learner: true,
            },
        )
        .await
        .unwrap();
    let learner_id = added.member.as_ref().unwrap().id;
    let promote = pb::MemberPromoteRequest { id: learner_id };
    let refused: Result<pb::MemberPromoteResponse, _> =
        client.unary(MEMBER_PROMOTE, &promote).await;
    assert_eq!(
        refused.unwrap_err(),
        (
            9,
            "etcdserver: can only promote a learner member which is in sync with leader".into()
        )
    );

    // Started and caught up, the learner is promoted through the follower.
    let mut joined = cluster.clone();
    joined.push(("m3".into(), learner_url));
    let options = daemon_options(
        dir.path(),
        "m3",
        ports[6],
        ports[7],
        &joined,
        ClusterState::Existing,
    );
    let learner = Daemon::start(options, Arc::new(OsDisk::new()))
        .await
        .unwrap();
    let mut promoted = None;
    for _ in 0..300 {
        match client
            .unary::<_, pb::MemberPromoteResponse>(MEMBER_PROMOTE, &promote)
            .await
        {
            Ok(answer) => {
                promoted = Some(answer);
                break;
            }
            // 9: not in sync with the leader yet; 14 and 4: an election or
            // a slow machine got in the way (the call is retried as a
            // client would).
            Err((9 | 14 | 4, _)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(other) => panic!("promote through a follower: {other:?}"),
        }
    }
    let promoted = promoted.expect("the learner caught up and was promoted");
    let members = promoted.members;
    assert_eq!(members.len(), 4);
    assert!(members.iter().all(|m| !m.is_learner), "{members:?}");
    // Every member agrees, the follower included, once it has applied the
    // promotion (the leader answered when it applied it; MemberList is
    // served from the follower's own state).
    let mut seen = Vec::new();
    for _ in 0..100 {
        let list: pb::MemberListResponse = client
            .unary(MEMBER_LIST, &pb::MemberListRequest::default())
            .await
            .unwrap();
        if list
            .members
            .iter()
            .any(|m| m.id == learner_id && !m.is_learner)
        {
            seen.clear();
            break;
        }
        seen = list.members;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.is_empty(), "the follower still lists {seen:?}");

    // Promoting a voter is refused with etcd's words, from any member.
    let again: Result<pb::MemberPromoteResponse, _> = client.unary(MEMBER_PROMOTE, &promote).await;
    assert_eq!(
        again.unwrap_err(),
        (9, "etcdserver: can only promote a learner member".into())
    );
    learner.shutdown().await;
    for d in daemons {
        d.shutdown().await;
    }
    assert_eq!(common::task_panics(), 0, "a server task panicked");
}
