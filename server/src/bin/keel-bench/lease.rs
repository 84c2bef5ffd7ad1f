//! `lease-keepalive`: the shape of etcd benchmark's command of that name.
//!
//! Each of `--clients` requesters grants one lease (`--ttl`, 100 s by
//! default, as etcd's tool does) before the clock starts, then they take
//! keep-alives from one counter until `--total` have been sent, each a
//! single `LeaseKeepAlive` request answered after the cluster applied it
//! (in Keel every keep-alive is a raft entry, group-committed; etcd's
//! leader answers from memory). The leases are revoked afterwards,
//! outside the measured time.

use crate::bench::{Failure, histogram, print_latency, progress, record};
use clap::Args;
use keel_engine::api::{
    LeaseGrantRequest, LeaseKeepAliveRequest, LeaseRevokeRequest, Request, Response,
};
use keel_server::client::Client;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Flags of `lease-keepalive`.
#[derive(Args, Debug)]
pub struct LeaseArgs {
    /// Total keep-alives, over all clients.
    #[arg(long, default_value_t = 10_000)]
    total: u64,
    /// TTL of the granted leases, in seconds.
    #[arg(long, default_value_t = 100)]
    ttl: i64,
}

/// Grants the leases, runs the keep-alives, prints the summary.
pub(crate) async fn run(
    args: &LeaseArgs,
    clients: usize,
    connections: Vec<Arc<Client>>,
) -> Result<(), Failure> {
    if args.ttl <= 0 {
        return Err(Failure::Usage(format!(
            "--ttl must be positive, got {}",
            args.ttl
        )));
    }
    let mut leases = Vec::with_capacity(clients);
    for i in 0..clients {
        let client = &connections[i % connections.len()];
        let request = Request::LeaseGrant(LeaseGrantRequest {
            ttl_seconds: args.ttl,
            id: 0,
        });
        match client.request(request).await {
            Ok(Response::LeaseGrant(granted)) => leases.push(granted.id),
            Ok(other) => {
                return Err(Failure::Run(format!("lease grant answered with {other:?}")));
            }
            Err(err) => return Err(Failure::Run(format!("lease grant: {err}"))),
        }
    }
    let total = args.total;
    let progress = progress(total);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, &id) in leases.iter().enumerate() {
        let client = Arc::clone(&connections[i % connections.len()]);
        let (next, errors, progress) = (Arc::clone(&next), Arc::clone(&errors), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let begin = Instant::now();
                let answer = client
                    .request(Request::LeaseKeepAlive(LeaseKeepAliveRequest { id }))
                    .await;
                match answer {
                    // A TTL of 0 or less means the lease is gone.
                    Ok(Response::LeaseKeepAlive(alive)) if alive.ttl_seconds > 0 => {
                        record(&mut latencies, begin.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                progress.inc(1);
            }
            latencies
        }));
    }
    let mut all = histogram();
    for task in tasks {
        if let Ok(h) = task.await {
            let _ = all.add(&h);
        }
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    for (i, &id) in leases.iter().enumerate() {
        let client = &connections[i % connections.len()];
        let _ = client
            .request(Request::LeaseRevoke(LeaseRevokeRequest { id }))
            .await;
    }
    let failed = errors.load(Ordering::Relaxed);
    println!("Summary:");
    println!("  Total:\t{elapsed:.4} secs.");
    println!("  Leases:\t{} (ttl {} s)", leases.len(), args.ttl);
    println!("  Requests:\t{} ok, {failed} failed", all.len());
    println!("  Requests/sec:\t{:.1}", all.len() as f64 / elapsed);
    print_latency("Latency (ms)", &all);
    if failed > 0 {
        Err(Failure::Run(format!("{failed} keep-alives failed")))
    } else {
        Ok(())
    }
}
