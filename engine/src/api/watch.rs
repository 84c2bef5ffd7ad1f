//! Change events, as a watch delivers them (etcd's `mvccpb.Event`).

use super::KeyValue;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key was written.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after a put; for a delete, the key with its `mod_revision`
    /// set to the delete's revision and nothing else.
    pub kv: KeyValue,
    /// The key's version just before the change, when it was asked for and
    /// is still in history.
    pub prev_kv: Option<KeyValue>,
}

/// A stretch of the store's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The events, in revision order; the events of one revision (one
    /// txn) are never split across two `Changes`.
    pub events: Vec<Event>,
    /// The revision to continue from: everything before it in the range
    /// asked for has been delivered.
    pub next_revision: i64,
}
