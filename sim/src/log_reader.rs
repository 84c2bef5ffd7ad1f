//! The committed history of the workload's keys, read back from members
//! revision by revision. Without compaction it is read once at the end;
//! with it, [`record_while_running`] keeps reading behind the cluster's
//! revision so every revision is read before compaction removes it.

use crate::cluster::Cluster;
use crate::history::{Change, OpKind, StoreLog};
use crate::workload;
use keel_engine::api::{Request, Response};
use keel_engine::node::NodeHandle;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the recorder catches up while the seed runs.
const RECORD_INTERVAL: Duration = Duration::from_millis(100);

/// How long the recorder waits on one member before trying the next.
const MEMBER_PATIENCE: Duration = Duration::from_millis(300);

/// The store's history read so far: every change of revisions
/// `1..next`, and the keys live at `next - 1`.
#[derive(Debug, Default)]
pub struct LogReader {
    previous: BTreeMap<String, String>,
    changes: Vec<Change>,
    /// The first revision not read yet.
    next: u64,
}

impl LogReader {
    /// A reader that has read nothing.
    pub fn new() -> LogReader {
        LogReader {
            next: 1,
            ..LogReader::default()
        }
    }

    /// The last revision read (0: none).
    pub fn read_through(&self) -> u64 {
        self.next - 1
    }

    /// Reads revisions up to `through` from `node` (serializable ranges at
    /// each revision). Stops at the first revision it cannot read; what
    /// was read before it is kept.
    pub async fn advance(&mut self, node: &NodeHandle, through: u64) -> Result<(), String> {
        while self.next <= through {
            let revision = self.next;
            let request = workload::request(&OpKind::Range { serializable: true });
            let Request::Range(mut range) = request else {
                return Err("range request expected".into());
            };
            range.revision = revision as i64;
            let kvs = match node.request(Request::Range(range)).await {
                Ok(Response::Range(r)) => r.kvs,
                other => return Err(format!("range at revision {revision}: {other:?}")),
            };
            let now: BTreeMap<String, String> = kvs
                .iter()
                .map(|kv| {
                    (
                        String::from_utf8_lossy(&kv.key).into_owned(),
                        String::from_utf8_lossy(&kv.value).into_owned(),
                    )
                })
                .collect();
            for kv in &kvs {
                if kv.mod_revision == revision as i64 {
                    self.changes.push(Change {
                        revision,
                        key: String::from_utf8_lossy(&kv.key).into_owned(),
                        value: Some(String::from_utf8_lossy(&kv.value).into_owned()),
                    });
                }
            }
            for key in self.previous.keys().filter(|k| !now.contains_key(*k)) {
                self.changes.push(Change {
                    revision,
                    key: key.clone(),
                    value: None,
                });
            }
            self.previous = now;
            self.next += 1;
        }
        Ok(())
    }

    /// The history through `final_revision`, which must have been read.
    pub fn finish(self, final_revision: u64) -> Result<StoreLog, String> {
        if self.read_through() < final_revision {
            return Err(format!(
                "the log was read through revision {} only, not {final_revision}",
                self.read_through()
            ));
        }
        let changes = self
            .changes
            .into_iter()
            .filter(|c| c.revision <= final_revision)
            .collect();
        Ok(StoreLog {
            changes,
            final_revision,
        })
    }
}

/// Reads through `final_revision` from member slot `i`, continuing `reader`.
pub async fn read_log(
    cluster: &Cluster,
    i: usize,
    mut reader: LogReader,
    final_revision: u64,
) -> Result<StoreLog, String> {
    let node = cluster
        .node(i)
        .ok_or_else(|| format!("{} is not running", cluster.name(i)))?;
    reader.advance(&node, final_revision).await?;
    reader.finish(final_revision)
}

/// Keeps `reader` close behind the most advanced running member until
/// `stop` is set, then returns it. A member that does not answer within
/// [`MEMBER_PATIENCE`] (paused, stopped, its disk failing) is left for the
/// next one in line; no error is final here, because the end of the seed
/// reads whatever is left and reports.
pub async fn record_while_running(
    cluster: Arc<Cluster>,
    mut reader: LogReader,
    stop: Arc<AtomicBool>,
) -> LogReader {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(RECORD_INTERVAL).await;
        // Most advanced first; ties by slot, so the order is deterministic.
        let mut members: Vec<(usize, u64)> = cluster
            .statuses()
            .into_iter()
            .filter(|(_, s)| !s.stopped)
            .map(|(i, s)| (i, s.revision.max(0) as u64))
            .collect();
        members.sort_by_key(|&(i, revision)| (std::cmp::Reverse(revision), i));
        for (i, through) in members {
            if through <= reader.read_through() {
                break;
            }
            let Some(node) = cluster.node(i) else {
                continue;
            };
            // Dropping `advance` between revisions loses nothing: what it
            // read is kept, and it resumes at the first revision not read.
            let caught_up = tokio::time::timeout(MEMBER_PATIENCE, reader.advance(&node, through))
                .await
                .is_ok_and(|r| r.is_ok());
            if caught_up {
                break;
            }
        }
    }
    reader
}
