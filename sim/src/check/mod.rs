//! Checkers for a run's history.
//!
//! * [`revisions`]: the fast, complete check. The store's committed log
//!   (read back after the run) gives every write a revision; every read
//!   carries a header revision. Each operation gets a position in that total
//!   order; the check proves that acknowledged writes are in the log at the
//!   revision they were acknowledged with (no lost write), that nothing in
//!   the log was never written or written twice, that every read returned
//!   the state at its revision, and that the order respects real time
//!   (serializable reads excepted: they are checked against the sequential
//!   order only).
//! * [`leases`]: a lease is alive while acknowledged keep-alives promise
//!   it, and its key is never readable after it ends.
//! * [`watch`]: every watcher's stream against the committed log.
//! * [`wgl`]: a Wing–Gong–Lowe search per key that trusts no revision at
//!   all, only values; run on histories small enough to search.
//!
//! Both report [`Violation`]s; an empty list is a pass.

pub mod leases;
pub mod revisions;
pub mod watch;
pub mod wgl;

#[cfg(test)]
mod tests;

use crate::history::{History, StoreLog};
use std::fmt;

/// What kind of guarantee an operation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// An acknowledged write is not in the committed log at its revision.
    LostWrite,
    /// The log holds a value no client wrote, or a write reported as failed.
    PhantomWrite,
    /// A write took effect twice.
    DuplicateWrite,
    /// A read (or the read part of a CAS/delete) did not return the state
    /// at its revision.
    WrongRead,
    /// The order contradicts real time: an operation is ordered before one
    /// that completed before it started (stale reads, revisions going
    /// backwards).
    RealTimeOrder,
    /// An operation saw a revision the cluster had not reached.
    FutureRevision,
    /// No linearization exists (found by the WGL search).
    NotLinearizable,
    /// A watcher's events differ from the committed log (a gap, a
    /// duplicate, an event out of order or never committed).
    WatchMismatch,
    /// A lease ended while acknowledged keep-alives promised it, or its
    /// key was readable after it ended.
    LeaseBroken,
}

/// One broken guarantee, with the operation that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which guarantee.
    pub kind: ViolationKind,
    /// The operation (history id), when one is to blame.
    pub op: Option<usize>,
    /// What exactly was wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Some(op) => write!(f, "{:?} (op#{op}): {}", self.kind, self.detail),
            None => write!(f, "{:?}: {}", self.kind, self.detail),
        }
    }
}

/// The outcome of every checker over one history.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Everything found; empty means the history passed.
    pub violations: Vec<Violation>,
    /// Keys whose history the WGL search decided.
    pub wgl_keys_checked: usize,
    /// Keys whose history was too large or too concurrent to search.
    pub wgl_keys_skipped: usize,
}

impl CheckReport {
    /// Whether no checker found anything.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Runs every checker over `history` against the committed `log`.
pub fn check(history: &History, log: &StoreLog, wgl_budget: u64) -> CheckReport {
    let mut report = CheckReport {
        violations: revisions::check(history, log),
        ..CheckReport::default()
    };
    for outcome in wgl::check_per_key(history, wgl_budget) {
        match outcome {
            wgl::KeyOutcome::Linearizable => report.wgl_keys_checked += 1,
            wgl::KeyOutcome::Inconclusive => report.wgl_keys_skipped += 1,
            wgl::KeyOutcome::Violation(v) => {
                report.wgl_keys_checked += 1;
                report.violations.push(v);
            }
        }
    }
    report
}
