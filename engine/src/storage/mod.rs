//! Durable storage: the [`disk`] seam and the structures built on it.

pub mod btree;
pub mod disk;
pub mod wal;
