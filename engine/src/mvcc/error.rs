//! Errors of the key-value state machine.

use crate::api::ApiError;
use crate::storage::btree::BTreeError;

/// A request the store refused ([`KvError::Api`], sent back to the client), or
/// a store that can no longer be trusted ([`KvError::Corrupt`],
/// [`KvError::Storage`]: fatal for the member).
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The request was refused with an etcd-compatible error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Stored data does not decode or contradicts the index.
    #[error("kv store is corrupt: {0}")]
    Corrupt(String),
    /// The backend file failed (corruption, a failed sync, no space).
    #[error(transparent)]
    Storage(#[from] BTreeError),
}
