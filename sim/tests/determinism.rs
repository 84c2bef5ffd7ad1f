//! Under the simulator, a seed is a replayable experiment: the same seed
//! gives the same trace (every fault, election, client operation and its
//! timing), and a different seed a different one.

#![cfg(madsim)]

use keel_sim::faults::FaultKind;
use keel_sim::scenario::{SeedOptions, SeedReport, run_seed};
use std::time::Duration;

/// Runs `seed` on a fresh thread (madsim's RNG is thread-local).
fn run(seed: u64) -> SeedReport {
    std::thread::spawn(move || {
        run_seed(&SeedOptions {
            seed,
            nodes: Some(3),
            duration: Duration::from_secs(15),
            faults: FaultKind::ALL.to_vec(),
            clients: 3,
        })
    })
    .join()
    .expect("the seed panicked")
}

#[test]
fn the_same_seed_replays_the_same_trace() {
    let first = run(42);
    let second = run(42);
    assert!(first.passed(), "{:?}", first.violations);
    assert!(first.ops > 100, "the workload ran: {} ops", first.ops);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.timeline, second.timeline);
    assert_eq!(first.history, second.history);
    let other = run(43);
    assert_ne!(first.trace_hash, other.trace_hash);
}
