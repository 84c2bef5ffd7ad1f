//! What the workload clients did and saw: one record per operation, with
//! its invoke and completion times (simulated nanoseconds since the start
//! of the seed), its result or error, and the revision the cluster gave it.

use std::fmt;

/// Simulated nanoseconds since the seed started.
pub type Nanos = u64;

/// One operation a workload client issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    /// Put `value` (unique in the whole run) at `key`.
    Put {
        /// The key.
        key: String,
        /// The value, never written by any other operation.
        value: String,
    },
    /// Read one key.
    Get {
        /// The key.
        key: String,
        /// A serializable (possibly stale) read instead of a linearizable one.
        serializable: bool,
    },
    /// Delete one key.
    Delete {
        /// The key.
        key: String,
    },
    /// Compare-and-swap: if `key` holds `expected` (`None`: is absent), put
    /// `value`.
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold, or `None` for "absent".
        expected: Option<String>,
        /// The new, unique value.
        value: String,
    },
    /// Read every key of the workload's key space.
    Range {
        /// A serializable read instead of a linearizable one.
        serializable: bool,
    },
}

impl OpKind {
    /// Whether the operation may change the store.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            OpKind::Put { .. } | OpKind::Delete { .. } | OpKind::Cas { .. }
        )
    }

    /// The single key the operation touches (`None` for a range).
    pub fn key(&self) -> Option<&str> {
        match self {
            OpKind::Put { key, .. }
            | OpKind::Get { key, .. }
            | OpKind::Delete { key }
            | OpKind::Cas { key, .. } => Some(key),
            OpKind::Range { .. } => None,
        }
    }

    /// The value the operation writes, if it writes one.
    pub fn written_value(&self) -> Option<&str> {
        match self {
            OpKind::Put { value, .. } | OpKind::Cas { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Whether the read may be stale (checked against the sequential order,
    /// not real time).
    pub fn is_serializable(&self) -> bool {
        matches!(
            self,
            OpKind::Get {
                serializable: true,
                ..
            } | OpKind::Range { serializable: true }
        )
    }
}

/// A key's value as a read saw it: the value and its mod revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The value.
    pub value: String,
    /// The revision that wrote it.
    pub mod_revision: u64,
}

/// What the cluster answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The put was applied at `revision`.
    Put {
        /// Header revision: the revision of this put.
        revision: u64,
    },
    /// The key's value at `revision` (header revision).
    Get {
        /// Header revision.
        revision: u64,
        /// The value, or `None` if the key was absent.
        value: Option<Seen>,
    },
    /// The delete removed the key (at `revision`) or found it absent (and
    /// `revision` is the store's revision then).
    Delete {
        /// Header revision.
        revision: u64,
        /// Whether a key was removed.
        deleted: bool,
    },
    /// The compare held and the put ran at `revision`, or it did not hold
    /// at `revision`.
    Cas {
        /// Header revision.
        revision: u64,
        /// Whether the compare held.
        succeeded: bool,
    },
    /// Every key of the key space at `revision`, in key order.
    Range {
        /// Header revision.
        revision: u64,
        /// (key, value, mod revision).
        kvs: Vec<(String, Seen)>,
    },
    /// The operation certainly did not take effect.
    Failed(String),
    /// The operation may or may not have taken effect (timeouts, lost
    /// connections): the checker must allow both.
    Indeterminate(String),
}

impl Outcome {
    /// The header revision of a successful answer.
    pub fn revision(&self) -> Option<u64> {
        match self {
            Outcome::Put { revision }
            | Outcome::Get { revision, .. }
            | Outcome::Delete { revision, .. }
            | Outcome::Cas { revision, .. }
            | Outcome::Range { revision, .. } => Some(*revision),
            Outcome::Failed(_) | Outcome::Indeterminate(_) => None,
        }
    }

    /// Whether the answer made a new revision (the operation's effect is
    /// at exactly that revision).
    pub fn wrote(&self) -> bool {
        matches!(
            self,
            Outcome::Put { .. }
                | Outcome::Delete { deleted: true, .. }
                | Outcome::Cas {
                    succeeded: true,
                    ..
                }
        )
    }
}

/// One operation of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Position in the history (unique).
    pub id: usize,
    /// The client that issued it (clients issue one operation at a time).
    pub client: u32,
    /// What was asked.
    pub kind: OpKind,
    /// When it was sent.
    pub invoke: Nanos,
    /// When the answer arrived (`None` for indeterminate operations: they
    /// may take effect at any time after `invoke`).
    pub complete: Option<Nanos>,
    /// What came back.
    pub outcome: Outcome,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let complete = match self.complete {
            Some(t) => format!("{:.3}s", t as f64 / 1e9),
            None => "?".into(),
        };
        write!(
            f,
            "op#{} client {} [{:.3}s..{}] {:?} -> {:?}",
            self.id,
            self.client,
            self.invoke as f64 / 1e9,
            complete,
            self.kind,
            self.outcome
        )
    }
}

/// A whole run's operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The operations, in invoke order.
    pub ops: Vec<Op>,
}

impl History {
    /// Records an operation; returns its id.
    pub fn push(
        &mut self,
        client: u32,
        kind: OpKind,
        invoke: Nanos,
        complete: Nanos,
        outcome: Outcome,
    ) -> usize {
        let id = self.ops.len();
        let complete = match outcome {
            Outcome::Indeterminate(_) => None,
            _ => Some(complete),
        };
        self.ops.push(Op {
            id,
            client,
            kind,
            invoke,
            complete,
            outcome,
        });
        id
    }
}

/// One change in the store's history: at `revision`, `key` got `value`
/// (`None`: was deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The revision.
    pub revision: u64,
    /// The key.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<String>,
}

/// The store's history of the workload's key space as the cluster
/// committed it, read back after the run (revision by revision).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreLog {
    /// Every change, in revision order.
    pub changes: Vec<Change>,
    /// The store's revision when the log was read.
    pub final_revision: u64,
}

/// One event a watcher received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// The event's revision.
    pub revision: u64,
    /// The key.
    pub key: String,
    /// The value put, or `None` for a delete.
    pub value: Option<String>,
}

/// What one watcher saw over the whole run (across reconnects).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchRecord {
    /// Which watcher.
    pub watcher: u32,
    /// The key prefix it watched.
    pub prefix: String,
    /// The first revision it was to deliver.
    pub start_revision: u64,
    /// The revision it reports having delivered everything up to.
    pub seen_through: u64,
    /// Every event, in the order received.
    pub events: Vec<WatchedEvent>,
}

/// What one lease user did with one lease it was granted: the key it
/// attached, every keep-alive, read and revoke, with their times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The lease user.
    pub user: u32,
    /// The lease's id.
    pub id: i64,
    /// The TTL it was granted with, in seconds.
    pub ttl_seconds: i64,
    /// The key put with the lease (no other client writes it).
    pub key: String,
    /// When the grant was sent.
    pub granted_at: Nanos,
    /// Completion time and revision of the put, if it was acknowledged.
    pub put: Option<(Nanos, u64)>,
    /// Everything done with the lease afterwards, in order.
    pub events: Vec<LeaseEvent>,
}

/// One operation on a lease, with its invoke and completion times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseEvent {
    /// When it was sent.
    pub invoke: Nanos,
    /// When its answer (or error) arrived.
    pub complete: Nanos,
    /// What it was and what came back.
    pub kind: LeaseEventKind,
}

/// What a lease operation was and what it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEventKind {
    /// A keep-alive: acknowledged, refused because the lease is gone, or
    /// failed (timeout, no leader: indeterminate, it may have applied).
    KeepAlive(LeaseAnswer),
    /// A read of the key: the answer's header revision, and the lease the
    /// key carried if it was there.
    Read {
        /// Header revision of the answer.
        revision: u64,
        /// The key's lease, if the key was present.
        present_with_lease: Option<i64>,
    },
    /// A revoke by the user.
    Revoke(LeaseAnswer),
}

/// How a lease operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseAnswer {
    /// It applied (with the answer's header revision).
    Acked(u64),
    /// The cluster said the lease does not exist.
    NotFound,
    /// Unknown: it may or may not have applied.
    Failed,
}
