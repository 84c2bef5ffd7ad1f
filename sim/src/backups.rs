//! Backups taken during a campaign (etcd's `snapshot save` mid-traffic,
//! under whatever faults are on), and the check run after it: each backup,
//! restored onto a fresh simulated disk (`snapshot restore`), must hold
//! exactly what the committed log says the workload's keys were at the
//! backup's revision.

use crate::history::StoreLog;
use keel_engine::api::{Request, Response};
use keel_engine::backup::{RestoreTarget, image_of, restore_image};
use keel_engine::node::{NodeHandle, db_path};
use keel_engine::state_machine::StateMachine;
use keel_engine::storage::disk::{Disk, SimDisk};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A backup as the client received it.
#[derive(Debug, Clone)]
pub struct TakenBackup {
    /// The member it came from.
    pub member: String,
    /// The whole backup file.
    pub bytes: Vec<u8>,
}

/// Reads a backup from `node` piece by piece, a few simulated milliseconds
/// apart, so checkpoints, defrags, kills and snapshot installs can happen
/// while its checkpoint is pinned.
pub async fn take(node: &NodeHandle) -> Result<Vec<u8>, String> {
    let mut stream = node.backup().await.map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    while let Some((piece, _)) = stream.next_piece(32 << 10).map_err(|e| e.to_string())? {
        bytes.extend_from_slice(&piece);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(bytes)
}

/// Restores `backup` onto a fresh disk and compares the keys `range` reads
/// in it (the workload's) with the committed log at the backup's revision.
/// Returns that revision, or what differs.
pub fn check(backup: &TakenBackup, log: &StoreLog, range: &Request) -> Result<i64, String> {
    let image = image_of(&backup.bytes).map_err(|e| format!("unreadable: {e}"))?;
    let disk: Arc<dyn Disk> = Arc::new(SimDisk::new(0));
    let target = RestoreTarget {
        data_dir: PathBuf::from("/restored"),
        wal_dir: None,
        cluster_id: 1,
        members: vec![keel_engine::api::Member {
            id: 1,
            name: "restored".into(),
            peer_urls: vec!["http://10.9.9.9:2380".into()],
            client_urls: Vec::new(),
            is_learner: false,
        }],
        skip_hash_check: false,
    };
    let report = restore_image(Arc::clone(&disk), &mut &image[..], &target)
        .map_err(|e| format!("restore failed: {e}"))?;
    let state = StateMachine::open(disk, &db_path(&target.data_dir))
        .map_err(|e| format!("restored state does not open: {e}"))?;
    let revision = report.revision;
    if revision < 1 || revision as u64 > log.final_revision {
        return Err(format!(
            "revision {revision} is outside the committed log (1..={})",
            log.final_revision
        ));
    }
    let held: BTreeMap<String, String> = match state.read(range) {
        Ok(Response::Range(r)) => r
            .kvs
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(&kv.key).into_owned(),
                    String::from_utf8_lossy(&kv.value).into_owned(),
                )
            })
            .collect(),
        other => return Err(format!("reading the restored keys: {other:?}")),
    };
    let mut committed: BTreeMap<String, String> = BTreeMap::new();
    for change in log.changes.iter().filter(|c| c.revision as i64 <= revision) {
        match &change.value {
            Some(value) => committed.insert(change.key.clone(), value.clone()),
            None => committed.remove(&change.key),
        };
    }
    if held != committed {
        let differ: Vec<&String> = held
            .keys()
            .chain(committed.keys())
            .filter(|k| held.get(*k) != committed.get(*k))
            .collect();
        return Err(format!(
            "at revision {revision} it differs from the committed log on {differ:?}"
        ));
    }
    Ok(revision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Change;
    use bytes::Bytes;
    use keel_engine::api::{Member, PutRequest};
    use keel_engine::backup::BackupStream;
    use keel_engine::node::proposal::ProposalBody;
    use std::path::Path;

    /// A backup of a state where `k1` was put twice and `k2` once
    /// (revisions 2, 3, 4).
    fn backup() -> TakenBackup {
        let disk: Arc<dyn Disk> = Arc::new(SimDisk::new(3));
        let member = Member {
            id: 5,
            name: "m".into(),
            peer_urls: vec!["http://10.0.0.1:2380".into()],
            client_urls: Vec::new(),
            is_learner: false,
        };
        let mut sm = StateMachine::bootstrap(disk, Path::new("/db"), 9, &[member]).unwrap();
        for (key, value) in [("k1", "a"), ("k2", "b"), ("k1", "c")] {
            let index = sm.applied_index() + 1;
            let put = ProposalBody::Client(Request::Put(PutRequest {
                key: Bytes::from(key),
                value: Bytes::from(value),
                ..PutRequest::default()
            }));
            sm.apply(index, &put, None).unwrap().unwrap();
            sm.set_applied(index, 2);
        }
        sm.checkpoint().unwrap();
        let image = sm.latest_checkpoint().unwrap().view.export().unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut BackupStream::new(image), &mut bytes).unwrap();
        TakenBackup {
            member: "m".into(),
            bytes,
        }
    }

    fn change(revision: u64, key: &str, value: Option<&str>) -> Change {
        Change {
            revision,
            key: key.into(),
            value: value.map(String::from),
        }
    }

    #[test]
    fn a_backup_matches_the_log_at_its_revision_only() {
        let backup = backup();
        let range = Request::Range(keel_engine::api::RangeRequest {
            key: Bytes::from("k"),
            range_end: Bytes::from("l"),
            ..Default::default()
        });
        let check = |backup: &TakenBackup, log: &StoreLog| check(backup, log, &range);
        let mut log = StoreLog {
            changes: vec![
                change(2, "k1", Some("a")),
                change(3, "k2", Some("b")),
                change(4, "k1", Some("c")),
                change(5, "k2", None),
            ],
            final_revision: 5,
        };
        assert_eq!(check(&backup, &log), Ok(4), "later changes do not count");
        log.changes[2].value = Some("lost".into());
        let err = check(&backup, &log).unwrap_err();
        assert!(err.contains("\"k1\""), "{err}");
        log.changes.truncate(2);
        log.final_revision = 3;
        let err = check(&backup, &log).unwrap_err();
        assert!(err.contains("outside the committed log"), "{err}");
        let mut torn = backup.clone();
        torn.bytes.truncate(100);
        assert!(check(&torn, &log).unwrap_err().contains("unreadable"));
    }
}
