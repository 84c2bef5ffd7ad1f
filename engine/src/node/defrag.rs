//! Defragment requests: one member rewrites its state file compactly while
//! it keeps serving (etcd's Maintenance.Defragment, which etcd 3.4 serves
//! by stopping reads and writes for the whole copy).
//!
//! The copy runs on a blocking task from a pinned checkpoint; meanwhile
//! checkpoints are held back (applied entries stay in the memtable, up to
//! [`HELD_CHECKPOINT_FACTOR`] times its usual bound), so the finished copy
//! still holds the last checkpoint and replacing the file is a rename. If a
//! checkpoint or a snapshot install got in first, the copy is stale and is
//! made again, at most [`MAX_ATTEMPTS`] times.

use super::driver::{Driver, Reply};
use crate::api::{ApiError, DefragmentResponse, Response};
use crate::state_machine::{DefragCopy, DefragOutcome};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How far past its usual bounds the memtable may grow while a copy runs
/// before a checkpoint is taken anyway (making the copy stale).
pub(crate) const HELD_CHECKPOINT_FACTOR: u64 = 4;
/// Copies made for one request before it fails.
const MAX_ATTEMPTS: u32 = 3;

/// A finished copy (or why it failed), sent back to the node task.
pub(crate) type DefragDone = Result<DefragCopy, String>;

/// The node task's defragmentation state.
pub(crate) struct Defrags {
    done: mpsc::UnboundedSender<DefragDone>,
    running: Option<Running>,
}

struct Running {
    waiters: Vec<Reply>,
    started: Instant,
    attempts: u32,
}

impl Defrags {
    /// No copy running; finished copies go to `done`.
    pub(crate) fn new(done: mpsc::UnboundedSender<DefragDone>) -> Defrags {
        Defrags {
            done,
            running: None,
        }
    }

    /// Whether a copy is running (checkpoints wait for it).
    pub(crate) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Everyone waiting, for a stopping member to answer.
    pub(crate) fn drain_waiters(&mut self) -> Vec<Reply> {
        self.running.take().map(|r| r.waiters).unwrap_or_default()
    }
}

/// Runs `work` off the node task: on tokio's blocking pool, or under the
/// simulator (which has no threads) as a task of its own.
fn run_blocking(work: impl FnOnce() + Send + 'static) {
    #[cfg(not(madsim))]
    tokio::task::spawn_blocking(work);
    #[cfg(madsim)]
    tokio::spawn(async move { work() });
}

impl Driver {
    /// A Defragment request: joins the copy running, or starts one.
    pub(crate) fn defragment(&mut self, reply: Reply) {
        match &mut self.defrags.running {
            Some(running) => running.waiters.push(reply),
            None => {
                self.defrags.running = Some(Running {
                    waiters: vec![reply],
                    started: Instant::now(),
                    attempts: 0,
                });
                self.start_copy();
            }
        }
    }

    fn start_copy(&mut self) {
        let Some(running) = &mut self.defrags.running else {
            return;
        };
        running.attempts += 1;
        // The copy should hold everything applied (deletions especially),
        // not only what the last checkpoint had.
        if self.applied_since_checkpoint > 0 {
            if let Err(err) = self.checkpoint_now() {
                tracing::error!(member = self.config.member_id, "node stopping: {err}");
                self.stop(err.to_string());
                return;
            }
        }
        let job = self.state.defrag_job();
        let done = self.defrags.done.clone();
        run_blocking(move || {
            // The node may have stopped meanwhile; the copy is then a
            // leftover its next open removes.
            let _ = done.send(job.run());
        });
    }

    /// Whether a checkpoint due now should wait for the running copy.
    pub(crate) fn checkpoint_held_for_defrag(&self) -> bool {
        self.defrags.is_running()
            && (self.state.memtable_bytes() as u64)
                < HELD_CHECKPOINT_FACTOR * self.config.memtable_max_bytes as u64
            && self.applied_since_checkpoint < HELD_CHECKPOINT_FACTOR * self.config.snapshot_count
    }

    /// A copy finished: replace the file, answer, or copy again.
    pub(crate) fn on_defrag_done(&mut self, done: DefragDone) {
        if self.defrags.running.is_none() {
            return;
        }
        let outcome = done.map_err(ApiError::Unavailable).and_then(|copy| {
            match self.state.finish_defrag(copy) {
                Ok(outcome) => Ok(outcome),
                Err(err @ crate::node::NodeError::Corrupt(_)) => {
                    tracing::error!(member = self.config.member_id, "node stopping: {err}");
                    self.stop(err.to_string());
                    Err(ApiError::Stopped)
                }
                Err(err) => Err(ApiError::Unavailable(err.to_string())),
            }
        });
        let result = match outcome {
            Ok(DefragOutcome::Stale) => {
                let attempts = self.defrags.running.as_ref().map_or(0, |r| r.attempts);
                if attempts < MAX_ATTEMPTS && self.stopped.is_none() {
                    tracing::info!(
                        member = self.config.member_id,
                        "the state changed while defragmenting; copying again"
                    );
                    self.start_copy();
                    return;
                }
                Err(ApiError::Unavailable(
                    "defragment: the state kept changing under the copy; try again".into(),
                ))
            }
            Ok(DefragOutcome::Replaced { before, after }) => {
                let took = self.defrags.running.as_ref().map(|r| r.started.elapsed());
                tracing::info!(
                    member = self.config.member_id,
                    before,
                    after,
                    ?took,
                    "defragmented the state file"
                );
                Ok(Response::Defragment(DefragmentResponse::default()))
            }
            Err(err) => Err(err),
        };
        for reply in self.defrags.drain_waiters() {
            let answer = result.clone().map(|r| self.finish_header(r));
            let _ = reply.send(answer);
        }
    }
}
