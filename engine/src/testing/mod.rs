//! Support for tests of whole clusters inside one process: an in-memory
//! network with faults. Used by the engine's cluster tests; never by the
//! server, which talks TCP.

mod mem_network;

pub use mem_network::{LinkFaults, MemNetwork};
