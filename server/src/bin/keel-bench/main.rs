//! `keel-bench`: a load generator shaped like etcd's `benchmark` tool.
//!
//! ```text
//! keel-bench --endpoints 127.0.0.1:2379 --clients 100 --conns 10 \
//!     put --total 100000 --key-size 8 --val-size 256 --key-space 10000
//! keel-bench --clients 100 --conns 10 range foo --consistency l --total 100000
//! keel-bench --clients 10 --conns 10 watch --watchers 100 --put-total 10000
//! keel-bench --clients 100 --conns 10 lease-keepalive --total 100000
//! ```
//! `--clients` concurrent requesters share `--conns` connections. Prints
//! throughput and latency percentiles (hdrhistogram); a progress bar is
//! drawn when stderr is a terminal.
//!
//! Modules: `bench` (flags, connections, the request loop of `put`,
//! `range` and the summary every workload prints), `watch` (watchers on a
//! range while putters write into it: delivery latency and an
//! exactly-once check), `lease` (keep-alives of granted leases).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(not(madsim))]
mod bench;
#[cfg(not(madsim))]
mod lease;
#[cfg(not(madsim))]
mod watch;

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    bench::main()
}

/// Not built for the simulator.
#[cfg(madsim)]
fn main() {}
