//! Support for testing: an in-memory network with faults, used by the
//! engine's cluster tests (never by the server, which talks TCP); and the
//! deliberately broken behaviours the simulator must catch ([`broken`]),
//! compiled only into simulator builds and off unless keel-sim switches one
//! on.

pub mod broken;
mod mem_network;

pub use mem_network::{LinkFaults, MemNetwork};
