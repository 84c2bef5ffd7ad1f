//! `keelctl check perf`: etcdctl 3.4's performance check.
//!
//! For a fixed time ([`CHECK_DURATION`]) a rate-limited stream of puts
//! (256-byte random keys under `--prefix`, 1 KiB values) is spread over
//! the load's clients, each with its own connection; then the keys are
//! deleted, optionally the store is compacted and defragmented, and the
//! latencies are judged by [`verdict`]: throughput above 90% of the
//! load's rate, no request slower than 0.5 s, a standard deviation of at
//! most 0.1 s, and no errors. `FAIL` exits 1, as etcdctl does.
//!
//! The judgement is a pure function of [`PerfStats`], unit-tested on both
//! sides of each threshold; the command itself runs for the full minute
//! unless the test-only variable [`TEST_DURATION_VARIABLE`] shortens it.

use super::error::{CtlError, ExitCode};
use super::output::Output;
use super::output::go_format::go_quote;
use super::run::{Session, request_error, unexpected};
use crate::client::{Client, ClientError};
use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::mvcc::KeyRange;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

/// How long the check writes: etcdctl's 60 s, for every load.
pub const CHECK_DURATION: Duration = Duration::from_secs(60);

/// Test-only: whole seconds that replace [`CHECK_DURATION`], so the
/// integration test does not take a minute. Not documented for users and
/// not a `KEELCTL_*` variable (those stand in for flags).
pub const TEST_DURATION_VARIABLE: &str = "KEEL_TEST_CHECK_PERF_SECONDS";

/// The size of each key after the prefix, as etcdctl's.
pub const KEY_SIZE: usize = 256;

/// The size of each value, as etcdctl's.
pub const VALUE_SIZE: usize = 1024;

/// Throughput must be above this share of the load's rate.
pub const MIN_THROUGHPUT_RATIO: f64 = 0.9;

/// The slowest request may take at most this many seconds.
pub const MAX_SLOWEST_SECONDS: f64 = 0.5;

/// The latencies' standard deviation may be at most this many seconds.
pub const MAX_STDDEV_SECONDS: f64 = 0.1;

/// One of etcdctl's workload models (`--load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// `s`, `small`: 150 writes/s from 50 clients.
    Small,
    /// `m`, `medium`: 1000 writes/s from 200 clients.
    Medium,
    /// `l`, `large`: 8000 writes/s from 500 clients.
    Large,
    /// `xl`, `xLarge`: 15000 writes/s from 1000 clients.
    XLarge,
}

/// What a load asks of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadShape {
    /// Puts per second (the rate limit, with a burst of one).
    pub writes_per_second: u32,
    /// Clients, each with its own connection.
    pub clients: usize,
}

impl Load {
    /// The load `--load` names (etcdctl's names and aliases, case
    /// sensitive), or `None`.
    pub fn parse(name: &str) -> Option<Load> {
        match name {
            "s" | "small" => Some(Load::Small),
            "m" | "medium" => Some(Load::Medium),
            "l" | "large" => Some(Load::Large),
            "xl" | "xLarge" => Some(Load::XLarge),
            _ => None,
        }
    }

    /// The load's rate and clients, as etcdctl 3.4's table.
    pub fn shape(self) -> LoadShape {
        let (writes_per_second, clients) = match self {
            Load::Small => (150, 50),
            Load::Medium => (1000, 200),
            Load::Large => (8000, 500),
            Load::XLarge => (15000, 1000),
        };
        LoadShape {
            writes_per_second,
            clients,
        }
    }
}

/// What the check measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerfStats {
    /// Requests per second over the whole run.
    pub rps: f64,
    /// The slowest request, in seconds.
    pub slowest: f64,
    /// The population standard deviation of the latencies, in seconds.
    pub stddev: f64,
    /// Failed requests by error message.
    pub errors: BTreeMap<String, u64>,
}

impl PerfStats {
    /// The statistics of successful requests' `latencies` (seconds) over
    /// `total`, the whole run, as etcd's report computes them (failed
    /// requests count towards neither the rate nor the latencies).
    pub fn from_latencies(
        latencies: &[f64],
        total: Duration,
        errors: BTreeMap<String, u64>,
    ) -> PerfStats {
        let count = latencies.len() as f64;
        let seconds = total.as_secs_f64();
        let rps = if seconds > 0.0 { count / seconds } else { 0.0 };
        let (slowest, stddev) = if latencies.is_empty() {
            (0.0, 0.0)
        } else {
            let average = latencies.iter().sum::<f64>() / count;
            let variance = latencies
                .iter()
                .map(|latency| (latency - average) * (latency - average))
                .sum::<f64>()
                / count;
            (
                latencies.iter().copied().fold(0.0, f64::max),
                variance.sqrt(),
            )
        };
        PerfStats {
            rps,
            slowest,
            stddev,
            errors,
        }
    }
}

/// The check's judgement: the lines to print and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// etcdctl's lines, in its order, the last `PASS` or `FAIL`.
    pub lines: Vec<String>,
    /// Whether every criterion held.
    pub pass: bool,
}

/// Judges `stats` for `load` with etcdctl 3.4's thresholds and wording
/// (errors are listed sorted by message; etcdctl lists them in map order).
pub fn verdict(load: Load, stats: &PerfStats) -> Verdict {
    let mut lines = Vec::new();
    let mut pass = true;
    if !stats.errors.is_empty() {
        lines.push("FAIL: too many errors".to_string());
        for (error, count) in &stats.errors {
            lines.push(format!("FAIL: ERROR({error}) -> {count}"));
        }
        pass = false;
    }
    // etcdctl prints int(RPS)+1.
    let shown = stats.rps as i64 + 1;
    if stats.rps / f64::from(load.shape().writes_per_second) <= MIN_THROUGHPUT_RATIO {
        lines.push(format!("FAIL: Throughput too low: {shown} writes/s"));
        pass = false;
    } else {
        lines.push(format!("PASS: Throughput is {shown} writes/s"));
    }
    if stats.slowest > MAX_SLOWEST_SECONDS {
        lines.push(format!(
            "Slowest request took too long: {:.6}s",
            stats.slowest
        ));
        pass = false;
    } else {
        lines.push(format!("PASS: Slowest request took {:.6}s", stats.slowest));
    }
    if stats.stddev > MAX_STDDEV_SECONDS {
        lines.push(format!("Stddev too high: {:.6}s", stats.stddev));
        pass = false;
    } else {
        lines.push(format!("PASS: Stddev is {:.6}s", stats.stddev));
    }
    lines.push(if pass { "PASS" } else { "FAIL" }.to_string());
    Verdict { lines, pass }
}

/// The check's duration: [`CHECK_DURATION`], or the whole seconds in
/// [`TEST_DURATION_VARIABLE`] (tests only).
pub fn check_duration(env: &BTreeMap<String, String>) -> Duration {
    env.get(TEST_DURATION_VARIABLE)
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|seconds| *seconds > 0)
        .map_or(CHECK_DURATION, Duration::from_secs)
}

/// A key of the check: `prefix` and [`KEY_SIZE`] bytes holding the varint
/// (zig-zag, as Go's `binary.PutVarint`) of a random non-negative number.
pub fn perf_key(prefix: &[u8], random: i64) -> Bytes {
    let mut key = Vec::with_capacity(prefix.len() + KEY_SIZE);
    key.extend_from_slice(prefix);
    let mut suffix = [0u8; KEY_SIZE];
    let mut zigzag = ((random << 1) ^ (random >> 63)) as u64;
    let mut at = 0;
    while zigzag >= 0x80 {
        suffix[at] = (zigzag as u8) | 0x80;
        zigzag >>= 7;
        at += 1;
    }
    suffix[at] = zigzag as u8;
    key.extend_from_slice(&suffix);
    Bytes::from(key)
}

/// The key and range end that select every key under `prefix` (an empty
/// prefix: every key), as clientv3's `WithPrefix`.
fn prefix_range(prefix: &[u8]) -> (Bytes, Bytes) {
    if prefix.is_empty() {
        (Bytes::from_static(&[0]), Bytes::from_static(&[0]))
    } else {
        (Bytes::copy_from_slice(prefix), KeyRange::prefix_end(prefix))
    }
}

/// One request's outcome: its latency in seconds, or its error.
type Outcome = Result<f64, String>;

/// `check perf`'s flags, as parsed.
pub(super) struct PerfCheck {
    pub(super) load: String,
    pub(super) prefix: String,
    pub(super) auto_compact: bool,
    pub(super) auto_defrag: bool,
    pub(super) duration: Duration,
}

/// A progress bar over `seconds`, on stdout as etcdctl's, drawn only when
/// stdout is a terminal.
fn progress(seconds: u64) -> indicatif::ProgressBar {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(seconds),
            indicatif::ProgressDrawTarget::stdout(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{pos} / {len} [{bar:40}] {percent:>3}% {eta_precise}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

impl Session<'_> {
    /// `check perf`: see the module docs.
    pub(super) async fn check_perf(self, check: PerfCheck) -> Result<Output, CtlError> {
        let Some(load) = Load::parse(&check.load) else {
            return Err(CtlError::bad_feature(format!(
                "unknown load option {}",
                check.load
            )));
        };
        let shape = load.shape();
        let mut clients = Vec::with_capacity(shape.clients);
        for _ in 0..shape.clients {
            clients.push(Arc::new(self.client_for(self.globals.endpoints.clone())?));
        }
        let first = Arc::clone(&clients[0]);
        let (key, range_end) = prefix_range(check.prefix.as_bytes());
        let existing = Request::Range(RangeRequest {
            key: key.clone(),
            range_end: range_end.clone(),
            limit: 1,
            ..RangeRequest::default()
        });
        let found = match first
            .request_until(existing, Instant::now() + check.duration)
            .await
            .map_err(request_error)?
        {
            Response::Range(response) => !response.kvs.is_empty(),
            other => return Err(unexpected(&other)),
        };
        if found {
            return Err(CtlError::new(
                ExitCode::InvalidInput,
                format!(
                    "prefix {} has keys. Delete with etcdctl del --prefix {} first",
                    go_quote(&check.prefix),
                    check.prefix
                ),
            ));
        }

        let stats = run_load(&clients, &check, shape).await;

        let mut stdout = String::new();
        let delete = Request::DeleteRange(DeleteRangeRequest {
            key,
            range_end,
            prev_kv: false,
        });
        let revision = match first
            .request_until(delete, Instant::now() + Duration::from_secs(30))
            .await
        {
            Ok(Response::DeleteRange(response)) => response.header.revision,
            Ok(other) => return Err(unexpected(&other)),
            Err(error) => return Ok(failed(stdout, request_error(error))),
        };
        if check.auto_compact {
            stdout.push_str(&format!("Compacting with revision {revision}\n"));
            let compact = Request::Compact(CompactionRequest {
                revision,
                physical: true,
            });
            match first
                .request_until(compact, Instant::now() + Duration::from_secs(30))
                .await
            {
                Ok(Response::Compact(_)) => {}
                Ok(other) => return Err(unexpected(&other)),
                Err(error) => return Ok(failed(stdout, request_error(error))),
            }
            stdout.push_str(&format!("Compacted with revision {revision}\n"));
        }
        if check.auto_defrag {
            for endpoint in &self.globals.endpoints {
                stdout.push_str(&format!("Defragmenting {}\n", go_quote(endpoint)));
                let result = match self.client_for(vec![endpoint.clone()]) {
                    Ok(client) => client
                        .request_until(
                            Request::Defragment,
                            Instant::now() + Duration::from_secs(30),
                        )
                        .await
                        .map_err(request_error),
                    Err(error) => Err(error),
                };
                match result {
                    Ok(Response::Defragment(_)) => {}
                    Ok(other) => return Err(unexpected(&other)),
                    Err(error) => return Ok(failed(stdout, error)),
                }
                stdout.push_str(&format!("Defragmented {}\n", go_quote(endpoint)));
            }
        }
        let verdict = verdict(load, &stats);
        for line in &verdict.lines {
            stdout.push_str(line);
            stdout.push('\n');
        }
        let mut output = Output::stdout(stdout);
        if !verdict.pass {
            output.exit_code = ExitCode::Error.code();
        }
        Ok(output)
    }
}

/// What was printed before `error`, then the error.
fn failed(stdout: String, error: CtlError) -> Output {
    Output::stdout(stdout).with_error(&error)
}

/// Sends the load's puts for the check's duration and measures them.
async fn run_load(clients: &[Arc<Client>], check: &PerfCheck, shape: LoadShape) -> PerfStats {
    let (requests, receiver) = mpsc::channel::<Request>(shape.clients);
    let receiver = Arc::new(Mutex::new(receiver));
    let (outcomes, mut collected) = mpsc::unbounded_channel::<Outcome>();
    let bar = progress(check.duration.as_secs());
    let started = Instant::now();
    let deadline = started + check.duration;

    let mut workers = Vec::with_capacity(clients.len());
    for client in clients {
        let client = Arc::clone(client);
        let receiver = Arc::clone(&receiver);
        let outcomes = outcomes.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(request) = next else { break };
                let sent = Instant::now();
                // No deadline of its own, as etcdctl's: a day stands in.
                let result = client
                    .request_until(request, sent + Duration::from_secs(86_400))
                    .await;
                let outcome = match result {
                    Ok(_) => Ok(sent.elapsed().as_secs_f64()),
                    Err(error) => Err(error_text(&error)),
                };
                if outcomes.send(outcome).is_err() {
                    break;
                }
            }
        }));
    }
    drop(outcomes);

    let producer = {
        let prefix = check.prefix.clone().into_bytes();
        let value = Bytes::from(vec![0u8; VALUE_SIZE]);
        let period = Duration::from_secs(1) / shape.writes_per_second.max(1);
        tokio::spawn(async move {
            // Go's rate.Limiter(limit, 1): each token is reserved when
            // asked for, one `period` after the last or at once if that is
            // past (the burst of one), so a late wake-up does not delay the
            // tokens after it; none is granted past the deadline.
            let mut next = Instant::now();
            loop {
                let granted = next.max(Instant::now());
                if granted > deadline {
                    break;
                }
                next = granted + period;
                tokio::time::sleep_until(granted).await;
                let random = rand::thread_rng().gen_range(0..i64::MAX);
                let put = Request::Put(PutRequest {
                    key: perf_key(&prefix, random),
                    value: value.clone(),
                    ..PutRequest::default()
                });
                if requests.send(put).await.is_err() {
                    break;
                }
            }
        })
    };

    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let seconds = bar.length().unwrap_or(0);
            for second in 1..=seconds {
                tokio::time::sleep_until(started + Duration::from_secs(second)).await;
                bar.inc(1);
            }
            bar.finish();
            if !bar.is_hidden() {
                // etcdctl's bar ends its line; the verdict starts the next.
                use std::io::Write;
                let mut stdout = std::io::stdout();
                let _ = stdout.write_all(b"\n").and_then(|()| stdout.flush());
            }
        })
    };

    let mut latencies = Vec::new();
    let mut errors = BTreeMap::new();
    while let Some(outcome) = collected.recv().await {
        match outcome {
            Ok(latency) => latencies.push(latency),
            Err(error) => *errors.entry(error).or_insert(0) += 1,
        }
    }
    let total = started.elapsed();
    let _ = producer.await;
    for worker in workers {
        let _ = worker.await;
    }
    let _ = ticker.await;
    PerfStats::from_latencies(&latencies, total, errors)
}

/// A failed put as etcd's report names it: the error's message.
fn error_text(error: &ClientError) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(rps: f64, slowest: f64, stddev: f64) -> PerfStats {
        PerfStats {
            rps,
            slowest,
            stddev,
            errors: BTreeMap::new(),
        }
    }

    const LOADS: [Load; 4] = [Load::Small, Load::Medium, Load::Large, Load::XLarge];

    #[test]
    fn loads_are_etcdctls() {
        assert_eq!(
            LOADS.map(|load| {
                let shape = load.shape();
                (shape.writes_per_second, shape.clients)
            }),
            [(150, 50), (1000, 200), (8000, 500), (15000, 1000)]
        );
        for (names, load) in [
            (["s", "small"], Load::Small),
            (["m", "medium"], Load::Medium),
            (["l", "large"], Load::Large),
            (["xl", "xLarge"], Load::XLarge),
        ] {
            for name in names {
                assert_eq!(Load::parse(name), Some(load));
            }
        }
        for bad in ["", "S", "xlarge", "XL", "huge"] {
            assert_eq!(Load::parse(bad), None, "{bad}");
        }
        assert_eq!(CHECK_DURATION, Duration::from_secs(60));
    }

    #[test]
    fn each_load_passes_above_ninety_percent_of_its_rate() {
        for load in LOADS {
            let rate = f64::from(load.shape().writes_per_second);
            let pass = verdict(load, &stats(rate * 0.91, 0.5, 0.1));
            assert!(pass.pass, "{load:?}: {pass:?}");
            assert_eq!(
                pass.lines,
                vec![
                    format!("PASS: Throughput is {} writes/s", (rate * 0.91) as i64 + 1),
                    "PASS: Slowest request took 0.500000s".to_string(),
                    "PASS: Stddev is 0.100000s".to_string(),
                    "PASS".to_string(),
                ]
            );
            // Exactly 90% fails, as etcdctl's `<= 0.9`.
            let fail = verdict(load, &stats(rate * 0.9, 0.01, 0.01));
            assert!(!fail.pass, "{load:?}");
            assert_eq!(
                fail.lines,
                vec![
                    format!(
                        "FAIL: Throughput too low: {} writes/s",
                        (rate * 0.9) as i64 + 1
                    ),
                    "PASS: Slowest request took 0.010000s".to_string(),
                    "PASS: Stddev is 0.010000s".to_string(),
                    "FAIL".to_string(),
                ]
            );
        }
    }

    #[test]
    fn the_small_loads_throughput_edge() {
        // 150 writes/s: 135 is 90% (fails), 135.1 passes.
        assert!(!verdict(Load::Small, &stats(135.0, 0.0, 0.0)).pass);
        assert!(verdict(Load::Small, &stats(135.1, 0.0, 0.0)).pass);
        // A rate that passes Small fails Medium.
        assert!(!verdict(Load::Medium, &stats(149.0, 0.0, 0.0)).pass);
        assert!(verdict(Load::XLarge, &stats(13_501.0, 0.0, 0.0)).pass);
        assert!(!verdict(Load::XLarge, &stats(13_500.0, 0.0, 0.0)).pass);
        assert!(verdict(Load::Large, &stats(7_201.0, 0.0, 0.0)).pass);
        assert!(!verdict(Load::Large, &stats(7_200.0, 0.0, 0.0)).pass);
    }

    #[test]
    fn slow_requests_and_spread_fail_with_etcdctls_lines() {
        for load in LOADS {
            let rate = f64::from(load.shape().writes_per_second);
            let slow = verdict(load, &stats(rate, 0.500001, 0.05));
            assert!(!slow.pass);
            assert_eq!(slow.lines[1], "Slowest request took too long: 0.500001s");
            assert_eq!(slow.lines[2], "PASS: Stddev is 0.050000s");
            assert_eq!(slow.lines.last().unwrap(), "FAIL");
            let spread = verdict(load, &stats(rate, 0.3, 0.100001));
            assert!(!spread.pass);
            assert_eq!(spread.lines[1], "PASS: Slowest request took 0.300000s");
            assert_eq!(spread.lines[2], "Stddev too high: 0.100001s");
            assert_eq!(spread.lines.last().unwrap(), "FAIL");
        }
    }

    #[test]
    fn errors_fail_the_check_and_are_listed_first() {
        let mut failing = stats(150.0, 0.01, 0.01);
        failing.errors.insert("context deadline exceeded".into(), 3);
        failing.errors.insert("b".into(), 1);
        let verdict = verdict(Load::Small, &failing);
        assert!(!verdict.pass);
        assert_eq!(
            verdict.lines,
            vec![
                "FAIL: too many errors",
                "FAIL: ERROR(b) -> 1",
                "FAIL: ERROR(context deadline exceeded) -> 3",
                "PASS: Throughput is 151 writes/s",
                "PASS: Slowest request took 0.010000s",
                "PASS: Stddev is 0.010000s",
                "FAIL",
            ]
        );
    }

    #[test]
    fn stats_follow_etcds_report() {
        let stats = PerfStats::from_latencies(
            &[0.1, 0.3, 0.2, 0.2],
            Duration::from_secs(2),
            BTreeMap::new(),
        );
        assert_eq!(stats.rps, 2.0);
        assert_eq!(stats.slowest, 0.3);
        // Population deviation: sqrt(((0.1)^2 + (0.1)^2 + 0 + 0) / 4).
        assert!((stats.stddev - 0.005f64.sqrt()).abs() < 1e-12);
        let empty = PerfStats::from_latencies(&[], Duration::from_secs(1), BTreeMap::new());
        assert_eq!((empty.rps, empty.slowest, empty.stddev), (0.0, 0.0, 0.0));
    }

    #[test]
    fn keys_are_the_prefix_and_a_varint_in_256_bytes() {
        let key = perf_key(b"/p/", 1);
        assert_eq!(key.len(), 3 + KEY_SIZE);
        assert_eq!(&key[..4], b"/p/\x02");
        assert!(key[4..].iter().all(|b| *b == 0));
        // Go's PutVarint(300) is zig-zag 600: 0xd8 0x04.
        assert_eq!(&perf_key(b"", 300)[..3], &[0xd8, 0x04, 0]);
        assert_eq!(
            prefix_range(b""),
            (Bytes::from_static(&[0]), Bytes::from_static(&[0]))
        );
        assert_eq!(
            prefix_range(b"/a/"),
            (Bytes::from_static(b"/a/"), Bytes::from_static(b"/a0"))
        );
    }

    #[test]
    fn only_the_test_variable_shortens_the_check() {
        let mut env = BTreeMap::new();
        assert_eq!(check_duration(&env), CHECK_DURATION);
        env.insert(TEST_DURATION_VARIABLE.to_string(), "3".to_string());
        assert_eq!(check_duration(&env), Duration::from_secs(3));
        env.insert(TEST_DURATION_VARIABLE.to_string(), "x".to_string());
        assert_eq!(check_duration(&env), CHECK_DURATION);
    }
}
