//! The multi-version key-value state machine, with etcd's semantics.
//!
//! - [`revision`]: the store's logical clock.
//! - [`key_range`]: what `(key, range_end)` selects.
//! - [`key_index`]: key → revisions, in memory.
//! - [`lease`]: which leases exist and the keys attached to each.
//! - [`record`]: one stored key version.
//! - [`backend`]: the ordered trees the store persists into.
//! - [`txn`]: stateless request checks and compare evaluation.
//! - [`store`]: [`KvStore`], which executes requests.

pub mod backend;
mod error;
pub mod key_index;
pub mod key_range;
pub mod lease;
pub mod record;
pub mod revision;
pub mod store;
pub mod txn;

pub use backend::{Backend, Tree};
pub use error::KvError;
pub use key_range::KeyRange;
pub use lease::{Lease, LeaseTable};
pub use revision::Revision;
pub use store::KvStore;
