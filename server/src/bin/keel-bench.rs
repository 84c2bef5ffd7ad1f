//! `keel-bench`: a load generator shaped like etcd's `benchmark` tool.
//!
//! ```text
//! keel-bench --endpoints 127.0.0.1:2379 --clients 100 --conns 10 \
//!     put --total 100000 --key-size 8 --val-size 256 --key-space 10000
//! keel-bench --clients 100 --conns 10 range foo --consistency l --total 100000
//! ```
//! `--clients` concurrent requesters share `--conns` connections. Prints
//! throughput and latency percentiles (hdrhistogram); a progress bar is
//! drawn when stderr is a terminal.

#[cfg(not(madsim))]
mod bench {
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

    fn parse_duration(text: &str) -> Result<Duration, String> {
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
    fn key(n: u64, size: usize) -> Bytes {
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
        }
    }

    pub fn main() -> std::process::ExitCode {
        let cli = Cli::parse();
        let run = match workload(&cli) {
            Ok(run) => Arc::new(run),
            Err(err) => {
                eprintln!("keel-bench: {err}");
                return std::process::ExitCode::from(2);
            }
        };
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
        runtime.block_on(async move {
            let mut connections = Vec::new();
            for c in 0..cli.conns.max(1) {
                // Spread connections over the endpoints, as etcd's
                // benchmark does, each failing over to the others.
                let mut endpoints = cli.endpoints.clone();
                let len = endpoints.len().max(1);
                endpoints.rotate_left(c % len);
                let mut options = ClientOptions::new(endpoints);
                options.command_timeout = cli.command_timeout;
                match Client::new(options) {
                    Ok(client) => connections.push(Arc::new(client)),
                    Err(err) => {
                        eprintln!("keel-bench: {err}");
                        return std::process::ExitCode::from(2);
                    }
                }
            }
            let progress = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(run.total)
            } else {
                indicatif::ProgressBar::hidden()
            };
            let next = Arc::new(AtomicU64::new(0));
            let errors = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for i in 0..cli.clients.max(1) {
                let client = Arc::clone(&connections[i % connections.len()]);
                let (run, next, errors, progress) = (
                    Arc::clone(&run),
                    Arc::clone(&next),
                    Arc::clone(&errors),
                    progress.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= run.total {
                            break;
                        }
                        let begin = Instant::now();
                        let ok = client.request((run.make)(n)).await.is_ok();
                        let micros = begin.elapsed().as_micros() as u64;
                        if ok {
                            if let Some(h) = latencies.as_mut() {
                                let _ = h.record(micros.max(1));
                            }
                        } else {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        progress.inc(1);
                    }
                    latencies
                }));
            }
            let mut all = match Histogram::<u64>::new_with_bounds(1, 60_000_000, 3) {
                Ok(h) => h,
                Err(err) => {
                    eprintln!("keel-bench: {err}");
                    return std::process::ExitCode::from(1);
                }
            };
            for task in tasks {
                if let Ok(Some(h)) = task.await {
                    let _ = all.add(&h);
                }
            }
            progress.finish_and_clear();
            let elapsed = started.elapsed().as_secs_f64();
            let ms = |micros: u64| micros as f64 / 1000.0;
            println!("Summary:");
            println!("  Total:\t{elapsed:.4} secs.");
            println!(
                "  Requests:\t{} ok, {} failed",
                all.len(),
                errors.load(Ordering::Relaxed)
            );
            println!("  Requests/sec:\t{:.1}", all.len() as f64 / elapsed);
            println!("Latency (ms):");
            println!(
                "  fastest {:.3}  average {:.3}  slowest {:.3}",
                ms(all.min()),
                all.mean() / 1000.0,
                ms(all.max())
            );
            for q in [50.0, 90.0, 99.0, 99.9] {
                println!("  {q}% in {:.3} ms", ms(all.value_at_quantile(q / 100.0)));
            }
            if errors.load(Ordering::Relaxed) > 0 {
                std::process::ExitCode::from(1)
            } else {
                std::process::ExitCode::SUCCESS
            }
        })
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
}

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    bench::main()
}

/// Not built for the simulator.
#[cfg(madsim)]
fn main() {}
