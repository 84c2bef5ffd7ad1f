//! `watch`: watchers on a key range while putters write into it.
//!
//! Shaped like etcd benchmark's `watch` command (watchers spread over the
//! connections, a put total, an optional put rate), measured more
//! strictly: every put's value is its number, zero-padded to
//! `--val-size`, so each watcher can tell which put an event belongs to.
//! That gives
//! - the delivery latency of every event: **put sent → event received**
//!   (the send time is taken just before the put leaves; an event may
//!   arrive before its put's answer, so "acknowledged → received" would
//!   not be well defined);
//! - an exactly-once check: each watcher must see each of `--put-total`
//!   puts once — duplicates, missing and unknown events are counted.
//!
//! The watches are all created (and confirmed) before the first put, so
//! each one sees exactly the puts of the run. Put `n` writes key
//! `n mod --key-space`; the watched range is every key of that space.

use crate::bench::{
    Failure, histogram, key, latency_line, parse_duration, print_latency, progress, record,
};
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use keel_engine::api::{EventKind, PutRequest, Request, WatchCreateRequest};
use keel_server::client::Client;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Flags of `watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Watchers, spread over the `--conns` connections (the watches of one
    /// connection share it, as clientv3's share one gRPC stream).
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// Puts into the watched range (by `--clients` putters); each one is an
    /// event for every watcher.
    #[arg(long, default_value_t = 1000)]
    put_total: u64,
    /// Puts per second over all putters; 0: as fast as they go.
    #[arg(long, default_value_t = 0)]
    put_rate: u64,
    /// Key size in bytes.
    #[arg(long, default_value_t = 8)]
    key_size: usize,
    /// Value size in bytes (the put's number, zero-padded).
    #[arg(long, default_value_t = 16)]
    val_size: usize,
    /// Keys written: put `n` writes key `n mod key-space`.
    #[arg(long, default_value_t = 1000)]
    key_space: u64,
    /// How long watchers wait for missing events after the last put was
    /// answered.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    settle_timeout: Duration,
}

/// What the putters share with the watchers.
struct Shared {
    /// The clock's zero.
    epoch: Instant,
    /// Per put: nanoseconds since `epoch` when it was sent, plus one (0:
    /// not sent yet).
    sent: Vec<AtomicU64>,
}

/// What one watcher saw.
struct Seen {
    /// Distinct puts it received.
    distinct: u64,
    /// Events of a put it had already received.
    duplicates: u64,
    /// Events that are not one of this run's puts.
    unknown: u64,
    /// Delivery latencies.
    latencies: Histogram<u64>,
    /// When its last event arrived.
    last_event: Option<Instant>,
    /// Why it stopped early, if it did.
    error: Option<String>,
}

fn check(args: &WatchArgs) -> Result<(), String> {
    if args.watchers == 0 || args.put_total == 0 {
        return Err("--watchers and --put-total must be positive".into());
    }
    if args.key_size == 0 || args.key_space == 0 {
        return Err("--key-size and --key-space must be positive".into());
    }
    if args.key_size < 20 && args.key_space > 10u64.pow(args.key_size as u32) {
        return Err(format!(
            "--key-space {} does not fit in {}-digit keys",
            args.key_space, args.key_size
        ));
    }
    let digits = (args.put_total - 1).to_string().len();
    if args.val_size < digits {
        return Err(format!(
            "--val-size must be at least {digits} to hold the put numbers"
        ));
    }
    Ok(())
}

/// The put number an event's value carries.
fn put_number(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Creates the watches, runs the puts, collects and checks the events,
/// prints the summary.
pub(crate) async fn run(
    args: &WatchArgs,
    clients: usize,
    connections: Vec<Arc<Client>>,
) -> Result<(), Failure> {
    check(args).map_err(Failure::Usage)?;
    let total = args.put_total;
    let mut range_end = key(args.key_space - 1, args.key_size).to_vec();
    range_end.push(0);
    let create = WatchCreateRequest {
        key: key(0, args.key_size),
        range_end: Bytes::from(range_end),
        ..WatchCreateRequest::default()
    };
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        sent: (0..total).map(|_| AtomicU64::new(0)).collect(),
    });
    let progress = progress(total * args.watchers as u64);
    // Set to the time the last put was answered.
    let (done_tx, done_rx) = watch::channel(None::<Instant>);
    let (created_tx, mut created_rx) = mpsc::channel::<Result<(), String>>(args.watchers);
    let creating = Instant::now();
    let mut watchers = Vec::new();
    for w in 0..args.watchers {
        let client = Arc::clone(&connections[w % connections.len()]);
        let (create, shared, progress) = (create.clone(), Arc::clone(&shared), progress.clone());
        let (mut done, created, settle) =
            (done_rx.clone(), created_tx.clone(), args.settle_timeout);
        watchers.push(tokio::spawn(async move {
            let mut seen = Seen {
                distinct: 0,
                duplicates: 0,
                unknown: 0,
                latencies: histogram(),
                last_event: None,
                error: None,
            };
            let mut watcher = client.watch(create);
            match watcher.next().await {
                Some(Ok(response)) if response.created => {
                    let _ = created.send(Ok(())).await;
                }
                other => {
                    let why = format!("watch not created: {other:?}");
                    let _ = created.send(Err(why.clone())).await;
                    seen.error = Some(why);
                    return seen;
                }
            }
            let mut received = vec![0u64; (total as usize).div_ceil(64)];
            let give_up = async {
                let answered = loop {
                    if let Some(at) = *done.borrow_and_update() {
                        break at;
                    }
                    if done.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::time::sleep_until((answered + settle).into()).await;
            };
            tokio::pin!(give_up);
            while seen.distinct < total {
                let response = tokio::select! {
                    response = watcher.next() => response,
                    () = &mut give_up => break,
                };
                let response = match response {
                    Some(Ok(response)) => response,
                    Some(Err(err)) => {
                        seen.error = Some(format!("watch failed: {err}"));
                        break;
                    }
                    None => {
                        seen.error = Some("watch ended".into());
                        break;
                    }
                };
                if response.canceled {
                    seen.error = Some(format!("watch canceled: {}", response.cancel_reason));
                    break;
                }
                let now = Instant::now();
                for event in &response.events {
                    let number = put_number(&event.kv.value)
                        .filter(|&n| n < total && event.kind == EventKind::Put);
                    let Some(n) = number else {
                        seen.unknown += 1;
                        continue;
                    };
                    let (word, bit) = ((n / 64) as usize, 1u64 << (n % 64));
                    if received[word] & bit != 0 {
                        seen.duplicates += 1;
                        continue;
                    }
                    received[word] |= bit;
                    seen.distinct += 1;
                    let sent = shared.sent[n as usize].load(Ordering::Acquire);
                    if sent > 0 {
                        let sent_at = shared.epoch + Duration::from_nanos(sent - 1);
                        record(&mut seen.latencies, now.saturating_duration_since(sent_at));
                    }
                }
                if !response.events.is_empty() {
                    seen.last_event = Some(now);
                    progress.inc(response.events.len() as u64);
                }
            }
            watcher.cancel().await;
            seen
        }));
    }
    drop(created_tx);
    let mut created = 0;
    while let Some(outcome) = created_rx.recv().await {
        if let Err(err) = outcome {
            return Err(Failure::Run(err));
        }
        created += 1;
        if created == args.watchers {
            break;
        }
    }
    let creation = creating.elapsed();

    // The putters.
    let puts_started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let put_errors = Arc::new(AtomicU64::new(0));
    // Put n is due n / rate seconds after the start (None: no pacing).
    let rate = (args.put_rate > 0).then_some(args.put_rate);
    let mut putters = Vec::new();
    for i in 0..clients {
        let client = Arc::clone(&connections[i % connections.len()]);
        let (next, errors, shared) = (
            Arc::clone(&next),
            Arc::clone(&put_errors),
            Arc::clone(&shared),
        );
        let (size, space, width) = (args.key_size, args.key_space, args.val_size);
        putters.push(tokio::spawn(async move {
            let mut latencies = histogram();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                if let Some(rate) = rate {
                    let due = Duration::from_nanos(n.saturating_mul(1_000_000_000) / rate);
                    tokio::time::sleep_until((puts_started + due).into()).await;
                }
                let request = Request::Put(PutRequest {
                    key: key(n % space, size),
                    value: Bytes::from(format!("{n:0width$}")),
                    ..PutRequest::default()
                });
                let begin = Instant::now();
                let sent = begin.saturating_duration_since(shared.epoch).as_nanos() as u64;
                shared.sent[n as usize].store(sent + 1, Ordering::Release);
                if client.request(request).await.is_ok() {
                    record(&mut latencies, begin.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut puts = histogram();
    for putter in putters {
        if let Ok(h) = putter.await {
            let _ = puts.add(&h);
        }
    }
    let puts_elapsed = puts_started.elapsed().as_secs_f64();
    let _ = done_tx.send(Some(Instant::now()));

    let mut latencies = histogram();
    let (mut distinct, mut duplicates, mut unknown) = (0u64, 0u64, 0u64);
    let mut last_event = puts_started;
    let mut errors = Vec::new();
    for watcher in watchers {
        match watcher.await {
            Ok(seen) => {
                distinct += seen.distinct;
                duplicates += seen.duplicates;
                unknown += seen.unknown;
                let _ = latencies.add(&seen.latencies);
                if let Some(at) = seen.last_event {
                    last_event = last_event.max(at);
                }
                errors.extend(seen.error);
            }
            Err(err) => errors.push(format!("watcher task: {err}")),
        }
    }
    progress.finish_and_clear();
    let expected = total * args.watchers as u64;
    let missing = expected - distinct;
    let delivered = distinct + duplicates + unknown;
    let elapsed = last_event
        .saturating_duration_since(puts_started)
        .as_secs_f64()
        .max(1e-9);
    let put_failed = put_errors.load(Ordering::Relaxed);
    println!(
        "Watch creation:\t{} watchers on {} connections in {:.4} secs.",
        args.watchers,
        connections.len(),
        creation.as_secs_f64()
    );
    println!("Summary:");
    println!("  Total:\t{elapsed:.4} secs. (first put sent to last event received)");
    println!(
        "  Puts:\t{} ok, {put_failed} failed, {:.1}/sec; {}",
        puts.len(),
        puts.len() as f64 / puts_elapsed,
        latency_line(&puts)
    );
    println!(
        "  Events:\t{delivered} received, {expected} expected ({} watchers x {total} puts); \
         {duplicates} duplicates, {missing} missing, {unknown} unknown",
        args.watchers
    );
    println!(
        "  Requests/sec:\t{:.1} (events delivered per second, all watchers)",
        delivered as f64 / elapsed
    );
    print_latency(
        "Delivery latency (ms, put sent -> event received)",
        &latencies,
    );
    let mut problems = errors;
    if put_failed > 0 {
        problems.push(format!("{put_failed} puts failed"));
    }
    if duplicates + missing + unknown > 0 {
        problems.push(format!(
            "not exactly once: {duplicates} duplicates, {missing} missing, {unknown} unknown"
        ));
    }
    match problems.first() {
        None => Ok(()),
        Some(first) => Err(Failure::Run(format!(
            "{first} ({} problems in all)",
            problems.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_numbers_read_back_and_flags_are_checked() {
        assert_eq!(put_number(b"0000000000000042"), Some(42));
        assert_eq!(put_number(b"vvvv"), None);
        let mut args = WatchArgs {
            watchers: 2,
            put_total: 1000,
            put_rate: 0,
            key_size: 3,
            val_size: 3,
            key_space: 1000,
            settle_timeout: Duration::from_secs(1),
        };
        assert!(check(&args).is_ok());
        args.key_space = 1001;
        assert!(check(&args).is_err());
        args.key_space = 10;
        args.put_total = 1001;
        assert!(check(&args).is_err());
    }
}
