use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use keel_engine::api::{PutRequest, RangeRequest, Request};
use keel_server::client::{Client, ClientOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "keel-bench",
    version,
    about = "Load generator for Keel (etcd benchmark-style flags)"
)]
struct Cli {
    /// Comma-separated client endpoints.
    #[arg(
        long,
        default_value = "127.0.0.1:2379",
        value_delimiter = ',',
        global = true
    )]
    endpoints: Vec<String>,
    /// Concurrent requesters.
    #[arg(long, default_value_t = 1, global = true)]
    clients: usize,
    /// Connections they share.
    #[arg(long, default_value_t = 1, global = true)]
    conns: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration, global = true)]
    command_timeout: Duration,
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand, Debug)]
enum Workload {
    /// Writes keys.
    Put(PutArgs),
    /// Reads a key or a range.
    Range(RangeArgs),
    /// Watchers on a key range while putters write into it: events/s
    /// delivered, delivery latency (put sent → event received), and a
    /// check that every watcher saw every put exactly once.
    Watch(crate::watch::WatchArgs),
    /// Keep-alives of leases granted beforehand, one lease per client.
    LeaseKeepalive(crate::lease::LeaseArgs),
}

#[derive(Args, Debug)]
struct PutArgs {
    /// Total puts.
    #[arg(long, default_value_t = 10_000)]
    total: u64,
    /// Key size in bytes.
    #[arg(long, default_value_t = 8)]
    key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 8)]
    val_size: usize,
    /// Keys are drawn from this many (0: every put a new key).
    #[arg(long, default_value_t = 1)]
    key_space: u64,
    /// Draw keys in order instead of at random.
    #[arg(long)]
    sequential_keys: bool,
}

#[derive(Args, Debug)]
struct RangeArgs {
    /// The key (or start of the range).
    key: String,
    /// End of the range, exclusive.
    end: Option<String>,
    /// Total ranges.
    #[arg(long, default_value_t = 10_000)]
    total: u64,
    /// l: linearizable, s: serializable.
    #[arg(long, default_value = "l")]
    consistency: String,
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| text.split_at(i))
        .unwrap_or((text, "s"));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("bad duration unit in {text:?}")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// A key of `size` bytes for number `n` (big-endian digits, zero padded).
pub(crate) fn key(n: u64, size: usize) -> Bytes {
    let digits = format!("{n:0width$}", width = size.max(1));
    Bytes::from(digits.as_bytes()[digits.len() - size.min(digits.len())..].to_vec())
}

struct Run {
    total: u64,
    make: Box<dyn Fn(u64) -> Request + Send + Sync>,
}

fn workload(cli: &Cli) -> Result<Run, String> {
    match &cli.workload {
        Workload::Put(p) => {
            let value = Bytes::from(vec![b'v'; p.val_size]);
            let (size, space, sequential) = (p.key_size, p.key_space, p.sequential_keys);
            Ok(Run {
                total: p.total,
                make: Box::new(move |i| {
                    let n = if space == 0 {
                        i
                    } else if sequential {
                        i % space
                    } else {
                        rand::random::<u64>() % space
                    };
                    Request::Put(PutRequest {
                        key: key(n, size),
                        value: value.clone(),
                        ..PutRequest::default()
                    })
                }),
            })
        }
        Workload::Range(r) => {
            let serializable = match r.consistency.as_str() {
                "l" => false,
                "s" => true,
                other => return Err(format!("unknown consistency {other:?} (use l or s)")),
            };
            let request = Request::Range(RangeRequest {
                key: Bytes::from(r.key.clone()),
                range_end: Bytes::from(r.end.clone().unwrap_or_default()),
                serializable,
                ..RangeRequest::default()
            });
            Ok(Run {
                total: r.total,
                make: Box::new(move |_| request.clone()),
            })
        }
        Workload::Watch(_) | Workload::LeaseKeepalive(_) => {
            Err("not a request-loop workload".to_string())
        }
    }
}

/// Latencies in microseconds, 1 µs to 60 s, three significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|err| unreachable!("constant histogram bounds: {err}"))
}

/// Records `elapsed` (at least 1 µs) into `h`; values past the bound are
/// clamped to it rather than lost.
pub(crate) fn record(h: &mut Histogram<u64>, elapsed: Duration) {
    let micros = (elapsed.as_micros() as u64).clamp(1, 60_000_000);
    let _ = h.record(micros);
}

/// The latency block every workload prints (etcd benchmark's layout):
/// fastest/average/slowest, then the 50/90/99/99.9% quantiles.
pub(crate) fn print_latency(title: &str, all: &Histogram<u64>) {
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!("{title}:");
    println!(
        "  fastest {:.3}  average {:.3}  slowest {:.3}",
        ms(all.min()),
        all.mean() / 1000.0,
        ms(all.max())
    );
    for q in [50.0, 90.0, 99.0, 99.9] {
        println!("  {q}% in {:.3} ms", ms(all.value_at_quantile(q / 100.0)));
    }
}

/// One line of a latency distribution, for secondary figures (no `%`, so
/// scripts grepping the main block's quantiles do not pick it up).
pub(crate) fn latency_line(h: &Histogram<u64>) -> String {
    let ms = |micros: u64| micros as f64 / 1000.0;
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}

/// `--conns` clients, each with its own connection, spread over the
/// endpoints as etcd's benchmark does (each failing over to the others).
fn connect(cli: &Cli) -> Result<Vec<Arc<Client>>, String> {
    let mut connections = Vec::new();
    for c in 0..cli.conns.max(1) {
        let mut endpoints = cli.endpoints.clone();
        let len = endpoints.len().max(1);
        endpoints.rotate_left(c % len);
        let mut options = ClientOptions::new(endpoints);
        options.command_timeout = cli.command_timeout;
        connections.push(Arc::new(Client::new(options).map_err(|e| e.to_string())?));
    }
    Ok(connections)
}

/// A progress bar on a terminal, nothing otherwise.
pub(crate) fn progress(total: u64) -> indicatif::ProgressBar {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    }
}

/// Runs the workload the command line names; the exit code is 1 if any
/// request failed (or, for `watch`, any event was missing or duplicated).
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("keel-bench: {err}");
            return std::process::ExitCode::from(1);
        }
    };
    let connections = match connect(&cli) {
        Ok(connections) => connections,
        Err(err) => {
            eprintln!("keel-bench: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let outcome = match &cli.workload {
        Workload::Watch(args) => {
            runtime.block_on(crate::watch::run(args, cli.clients.max(1), connections))
        }
        Workload::LeaseKeepalive(args) => {
            runtime.block_on(crate::lease::run(args, cli.clients.max(1), connections))
        }
        Workload::Put(_) | Workload::Range(_) => match workload(&cli) {
            Ok(run) => runtime.block_on(requests(Arc::new(run), cli.clients.max(1), connections)),
            Err(err) => Err(Failure::Usage(err)),
        },
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::Usage(err)) => {
            eprintln!("keel-bench: {err}");
            std::process::ExitCode::from(2)
        }
        Err(Failure::Run(err)) => {
            eprintln!("keel-bench: {err}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Why a workload did not succeed.
pub(crate) enum Failure {
    /// Bad flags (exit code 2).
    Usage(String),
    /// Requests failed or a check did not hold (exit code 1); the summary
    /// has been printed.
    Run(String),
}

/// `put` and `range`: `clients` requesters take request numbers from one
/// counter until `run.total` have been sent.
async fn requests(
    run: Arc<Run>,
    clients: usize,
    connections: Vec<Arc<Client>>,
) -> Result<(), Failure> {
    let progress = progress(run.total);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let client = Arc::clone(&connections[i % connections.len()]);
        let (run, next, errors, progress) = (
            Arc::clone(&run),
            Arc::clone(&next),
            Arc::clone(&errors),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= run.total {
                    break;
                }
                let begin = Instant::now();
                let ok = client.request((run.make)(n)).await.is_ok();
                if ok {
                    record(&mut latencies, begin.elapsed());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
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
    let failed = errors.load(Ordering::Relaxed);
    println!("Summary:");
    println!("  Total:\t{elapsed:.4} secs.");
    println!("  Requests:\t{} ok, {failed} failed", all.len());
    println!("  Requests/sec:\t{:.1}", all.len() as f64 / elapsed);
    print_latency("Latency (ms)", &all);
    if failed > 0 {
        Err(Failure::Run(format!("{failed} requests failed")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_requested_size_and_durations_parse() {
        assert_eq!(key(42, 8), Bytes::from("00000042"));
        assert_eq!(key(123_456_789, 4).len(), 4);
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("2h").is_err());
    }
}
