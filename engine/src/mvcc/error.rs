//! Errors of the key-value state machine.

use crate::api::ApiError;

/// A request the store refused ([`KvError::Api`], sent back to the client), or
/// a store that can no longer be trusted ([`KvError::Corrupt`], fatal).
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The request was refused with an etcd-compatible error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Stored data does not decode or contradicts the index.
    #[error("kv store is corrupt: {0}")]
    Corrupt(String),
}
