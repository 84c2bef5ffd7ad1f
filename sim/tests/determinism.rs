//! Under the simulator, a seed is a replayable experiment: the same seed
//! gives the same trace (every fault, election, client operation and its
//! timing), and a different seed a different one.
//!
//! Each run is its own process, as in a campaign: some dependencies keep
//! process-wide state seeded on first use (drawing from the simulator's
//! RNG in the first run only), so two runs in one process may differ
//! where two processes never do.

#![cfg(madsim)]

use std::process::Command;

/// The verdict line fields of one `keel-sim seed` run.
fn run(seed: u64) -> std::collections::BTreeMap<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_keel-sim"))
        .args(["seed", "--seed", &seed.to_string()])
        .args([
            "--nodes",
            "3",
            "--duration",
            "15s",
            "--clients",
            "3",
            "--faults",
            "all",
        ])
        .output()
        .expect("run keel-sim");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .unwrap_or_else(|| panic!("no verdict in {stdout}"));
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_same_seed_replays_the_same_trace() {
    let first = run(42);
    let second = run(42);
    assert_eq!(first["passed"], "true", "{first:?}");
    assert!(
        first["ops"].parse::<u64>().unwrap() > 100,
        "the workload ran: {first:?}"
    );
    assert_eq!(first["hash"], second["hash"]);
    assert_eq!(first, second);
    let other = run(43);
    assert_ne!(first["hash"], other["hash"]);
}
