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

/// Opens a watch (etcd's `WatchCreateRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchCreateRequest {
    /// First key.
    pub key: bytes::Bytes,
    /// End of the range (etcd's `range_end` rules: empty = one key,
    /// `"\0"` = from `key` on).
    pub range_end: bytes::Bytes,
    /// First revision to deliver; 0 or less: changes after now.
    pub start_revision: i64,
    /// Deliver each event's previous version too.
    pub prev_kv: bool,
    /// Leave put events out.
    pub no_put: bool,
    /// Leave delete events out.
    pub no_delete: bool,
    /// Send an empty response now and then with the revision the watch
    /// has caught up to.
    pub progress_notify: bool,
}

/// What a watch delivers (etcd's `WatchResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchResponse {
    /// Response metadata; `revision` is the revision this watch has seen
    /// everything up to (for a progress notification, too).
    pub header: super::ResponseHeader,
    /// The watch was just created (no events).
    pub created: bool,
    /// The watch ended; no more responses follow.
    pub canceled: bool,
    /// When canceled because the start revision was compacted: the compact
    /// revision (resume from it, or later).
    pub compact_revision: i64,
    /// Why it was canceled, in etcd's words.
    pub cancel_reason: String,
    /// The events, in revision order.
    pub events: Vec<Event>,
}

impl WatchResponse {
    /// Whether this is a progress notification (no events, not a create or
    /// cancel).
    pub fn is_progress_notify(&self) -> bool {
        self.events.is_empty() && !self.created && !self.canceled
    }
}
