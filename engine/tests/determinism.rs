//! Under the simulator (`RUSTFLAGS="--cfg madsim"`), the same seed must
//! replay the same cluster exactly: elections (raft-rs's random timeouts go
//! through the getrandom shim), message loss and delays, and every message
//! routed, hashed into one trace value.

#![cfg(madsim)]

mod support;

use keel_engine::api::*;
use keel_engine::testing::LinkFaults;
use std::time::Duration;
use support::*;

/// A busy scenario: faults, a crash and restart, a partition, writes
/// through every member. Returns a hash of everything that happened.
async fn scenario() -> (u64, u64, u32) {
    let seed: u64 = rand::random();
    let mut cluster = Cluster::with_settings(3, seed, 25, 5, 2 << 30);
    cluster.net.set_faults(LinkFaults {
        drop_probability: 0.05,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(30),
    });
    let leader = cluster.leader().await;
    for i in 0..30 {
        let via = cluster.ids()[i % 3];
        cluster
            .put(via, &format!("k{}", i % 5), &i.to_string())
            .await;
    }
    let follower = cluster.other_than(leader);
    cluster.crash(follower).await;
    for i in 30..50 {
        cluster
            .put(leader, &format!("k{}", i % 5), &i.to_string())
            .await;
    }
    cluster.start(follower, false);
    let ids = cluster.ids();
    cluster.net.isolate(leader, &ids);
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.net.heal();
    cluster.net.set_faults(LinkFaults::default());
    let leader = cluster.leader().await;
    cluster.put(leader, "final", "x").await;
    cluster.assert_converged().await;
    let hash = match cluster
        .handle(leader)
        .request(Request::HashKv(HashKvRequest::default()))
        .await
    {
        Ok(Response::HashKv(h)) => h.hash,
        other => panic!("{other:?}"),
    };
    (cluster.net.trace_hash(), leader, hash)
}

/// Runs the scenario for `seed` in a fresh runtime on a fresh thread (the
/// thread-local RNG must not carry over between runs).
fn run(seed: u64) -> (u64, u64, u32) {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(scenario())
    })
    .join()
    .expect("scenario panicked")
}

#[test]
fn the_same_seed_replays_the_same_trace() {
    let first = run(7);
    let second = run(7);
    assert_eq!(first, second, "seed 7 diverged between runs");
    let other = run(8);
    assert_ne!(
        first.0, other.0,
        "different seeds should take different paths"
    );
}
