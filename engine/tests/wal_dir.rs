//! A raft log in a directory of its own (etcd's `--wal-dir`): the node
//! writes its log there and nothing under `<data-dir>/wal`, restarts from
//! it, and refuses to start when the data directory and the log directory
//! do not belong together.

mod support;

use keel_engine::node::{NodeError, WalDirError, wal_dir};
use keel_engine::storage::disk::Disk;
use keel_engine::storage::wal::Wal;
use std::path::PathBuf;
use support::*;

fn own_wal(id: u64) -> PathBuf {
    PathBuf::from(format!("/wal-disk/{id:x}/log"))
}

#[tokio::test(start_paused = true)]
async fn a_member_keeps_its_raft_log_in_its_wal_dir_and_restarts_from_it() {
    let mut cluster = Cluster::unstarted(3, 41, 100_000, 5_000, 2 << 30);
    for id in cluster.ids() {
        cluster.wal_dirs.insert(id, own_wal(id));
        cluster.start(id, false);
    }
    let leader = cluster.leader().await;
    for i in 0..40 {
        cluster
            .put(leader, &format!("k{i:02}"), &format!("v{i}"))
            .await;
    }
    cluster.assert_converged().await;
    for id in cluster.ids() {
        let disk = &cluster.disks[&id];
        assert!(
            Wal::exists(disk, &own_wal(id)).unwrap(),
            "{id:x}: no log in its wal dir"
        );
        assert!(
            !disk.exists(&wal_dir(&Cluster::data_dir(id))).unwrap(),
            "{id:x}: something under data-dir/wal"
        );
        assert!(disk.exists(&Cluster::data_dir(id).join("db")).unwrap());
    }

    // Everyone restarts from their own logs (no checkpoint was taken: the
    // writes exist only there) and still has every write.
    for id in cluster.ids() {
        cluster.stop(id).await;
    }
    for id in cluster.ids() {
        cluster.start(id, false);
    }
    let leader = cluster.leader().await;
    for i in 0..40 {
        assert_eq!(
            cluster.get(leader, &format!("k{i:02}"), false).await,
            Some(b(&format!("v{i}"))),
            "k{i:02} after the restart"
        );
    }
    cluster.assert_converged().await;

    // The same data directory without its --wal-dir, or with another one,
    // is refused: starting with an empty log would forget its votes.
    let member = cluster.other_than(leader);
    cluster.stop(member).await;
    cluster.wal_dirs.remove(&member);
    match cluster.try_start(member, false) {
        Err(NodeError::WalDir(WalDirError::Missing {
            wal_dir, dedicated, ..
        })) => {
            assert_eq!(
                wal_dir,
                keel_engine::node::wal_dir(&Cluster::data_dir(member))
            );
            assert!(!dedicated);
        }
        other => panic!("started without its wal dir: {:?}", other.map(|_| ())),
    }
    let elsewhere = PathBuf::from("/elsewhere/wal");
    cluster.wal_dirs.insert(member, elsewhere.clone());
    let refused = cluster.try_start(member, false).map(|_| ()).unwrap_err();
    assert!(
        matches!(
            &refused,
            NodeError::WalDir(WalDirError::Missing {
                dedicated: true,
                ..
            })
        ),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .contains("give the --wal-dir it was started with"),
        "{refused}"
    );
    // The refusals wrote no log where they looked.
    let disk = &cluster.disks[&member];
    assert!(!Wal::exists(disk, &elsewhere).unwrap());
    assert!(!disk.exists(&wal_dir(&Cluster::data_dir(member))).unwrap());

    // With its own directory again it rejoins with everything.
    cluster.wal_dirs.insert(member, own_wal(member));
    cluster.start(member, false);
    cluster.assert_converged().await;
    assert_eq!(cluster.get(member, "k39", true).await, Some(b("v39")));
}

#[tokio::test(start_paused = true)]
async fn a_wal_dir_is_refused_when_the_data_dir_holds_the_raft_log() {
    let mut cluster = Cluster::new(1, 42);
    let id = cluster.ids()[0];
    cluster.put(id, "k", "v").await;
    cluster.stop(id).await;

    cluster.wal_dirs.insert(id, own_wal(id));
    match cluster.try_start(id, false) {
        Err(NodeError::WalDir(WalDirError::LeftInDataDir {
            data_dir,
            found,
            wal_dir,
        })) => {
            assert_eq!(data_dir, Cluster::data_dir(id));
            assert_eq!(found, keel_engine::node::wal_dir(&Cluster::data_dir(id)));
            assert_eq!(wal_dir, own_wal(id));
        }
        other => panic!("started with its log left behind: {:?}", other.map(|_| ())),
    }
    assert!(!cluster.disks[&id].exists(&own_wal(id)).unwrap());

    // Naming the default place explicitly is the same as not naming one.
    cluster
        .wal_dirs
        .insert(id, keel_engine::node::wal_dir(&Cluster::data_dir(id)));
    cluster.start(id, false);
    assert_eq!(cluster.get(id, "k", false).await, Some(b("v")));
}
