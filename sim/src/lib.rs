//! Keel under deterministic simulation.
//!
//! Each seed is a whole cluster of real `keel-server` members on madsim
//! hosts, each on its own simulated disk, with workload clients on their
//! own hosts using the real client library over simulated TCP, under a
//! fault schedule drawn from the seed. Every client operation is recorded;
//! after the run the checkers prove the history linearizable and that no
//! acknowledged write was lost, and that the cluster converged.
//!
//! [`history`], [`check`] and [`faults`] build in every configuration
//! (their tests run with the ordinary test suite); the cluster harness
//! needs the simulator (`RUSTFLAGS="--cfg madsim"`, see `ci/sim.sh`).

pub mod backups;
pub mod check;
pub mod faults;
pub mod history;

#[cfg(madsim)]
pub mod cluster;
#[cfg(madsim)]
pub mod etcd_watcher;
#[cfg(madsim)]
pub mod lease_user;
#[cfg(madsim)]
pub mod log_reader;
#[cfg(madsim)]
pub mod scenario;
#[cfg(madsim)]
pub mod timeline;
#[cfg(madsim)]
pub mod workload;
