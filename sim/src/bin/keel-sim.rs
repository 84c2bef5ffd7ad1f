//! `keel-sim`: simulation campaigns over whole Keel clusters.
//!
//! * `keel-sim run --seeds 1..1000 [--nodes 3|5] [--duration 60s]
//!   [--faults list] [--jobs N]`: one process per seed, N at a time; one
//!   line per failing seed with the command that replays it; closes with
//!   `N passed, N failed` and the speed.
//! * `keel-sim replay --seed S [--trace FILE]`: one seed in this process,
//!   with its readable timeline.
//! * `--broken KIND` (either command): the seed runs with one deliberately
//!   broken behaviour switched on (`stale-reads`, `watch-resume`,
//!   `local-keepalive`; `keel_engine::testing::broken`), to show the
//!   checkers catch it. Off otherwise, and every seed reports which one was
//!   on: a seed that did not ask for one fails if one was.
//!
//! Needs the simulator: build with `RUSTFLAGS="--cfg madsim"` (`ci/sim.sh`).

use clap::{Args, Parser, Subcommand};
use keel_engine::testing::broken::{self, Bug};
use keel_sim::faults::{FaultKind, parse_fault_list};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "keel-sim",
    version,
    about = "Deterministic simulation campaigns for Keel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a campaign: every seed in a fresh process.
    Run {
        /// Seeds: `A..B` (B excluded), `A..=B`, `S`, or a comma list of these.
        #[arg(long, default_value = "1..101")]
        seeds: String,
        #[command(flatten)]
        seed_args: SeedArgs,
        /// Seeds run at once (default: the cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run the first N seeds twice and fail if their traces differ.
        #[arg(long, default_value_t = 0)]
        check_determinism: usize,
    },
    /// Rerun one seed here, printing its timeline.
    Replay {
        /// The seed.
        #[arg(long)]
        seed: u64,
        #[command(flatten)]
        seed_args: SeedArgs,
        /// Also write the timeline to this file.
        #[arg(long)]
        trace: Option<std::path::PathBuf>,
    },
    /// Run one seed and print a machine-readable verdict (used by `run`).
    #[command(hide = true)]
    Seed {
        /// The seed.
        #[arg(long)]
        seed: u64,
        #[command(flatten)]
        seed_args: SeedArgs,
    },
}

#[derive(Args, Clone)]
struct SeedArgs {
    /// Members: 3 or 5 (default: drawn per seed).
    #[arg(long, value_parser = parse_nodes)]
    nodes: Option<usize>,
    /// Simulated time under faults, e.g. `60s`, `1500ms`, `2m`.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Faults a seed may draw from (comma list, or `none`).
    #[arg(long, default_value = "all", value_parser = parse_faults)]
    faults: FaultList,
    /// Workload clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Switch one deliberately broken behaviour on: `stale-reads`,
    /// `watch-resume` or `local-keepalive` (the campaign must fail).
    #[arg(long)]
    broken: Option<Bug>,
}

#[derive(Clone)]
struct FaultList(Vec<FaultKind>);

fn parse_faults(s: &str) -> Result<FaultList, String> {
    if s == "all" {
        return Ok(FaultList(FaultKind::ALL.to_vec()));
    }
    parse_fault_list(s)
        .map(FaultList)
        .map_err(|e| e.to_string())
}

fn parse_nodes(s: &str) -> Result<usize, String> {
    match s {
        "3" => Ok(3),
        "5" => Ok(5),
        _ => Err(format!("--nodes must be 3 or 5, not {s:?}")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (use e.g. 60s, 1500ms, 2m)");
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |at| s.split_at(at));
    let n: u64 = number.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(bad()),
    }
}

fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let mut seeds = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("invalid seeds {part:?} (use A..B, A..=B or S)");
        if let Some((a, b)) = part.split_once("..") {
            let a: u64 = a.parse().map_err(|_| bad())?;
            let (b, inclusive) = match b.strip_prefix('=') {
                Some(b) => (b, true),
                None => (b, false),
            };
            let b: u64 = b.parse().map_err(|_| bad())?;
            let end = if inclusive {
                b.checked_add(1).ok_or_else(bad)?
            } else {
                b
            };
            seeds.extend(a..end);
        } else {
            seeds.push(part.parse().map_err(|_| bad())?);
        }
    }
    if seeds.is_empty() {
        return Err(format!("no seeds in {s:?}"));
    }
    Ok(seeds)
}

impl SeedArgs {
    /// The flags that reproduce these settings.
    fn flags(&self) -> String {
        let mut flags = format!("--duration {}ms", self.duration.as_millis());
        if let Some(n) = self.nodes {
            flags.push_str(&format!(" --nodes {n}"));
        }
        let faults = if self.faults.0.len() == FaultKind::ALL.len() {
            "all".to_string()
        } else if self.faults.0.is_empty() {
            "none".to_string()
        } else {
            self.faults
                .0
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        };
        flags.push_str(&format!(" --faults {faults} --clients {}", self.clients));
        if let Some(bug) = self.broken {
            flags.push_str(&format!(" --broken {bug}"));
        }
        flags
    }
}

/// How a seed reports the broken behaviour it ran with (`broken=` in its
/// verdict line).
fn broken_name(bug: Option<Bug>) -> &'static str {
    bug.map_or("none", Bug::name)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let seed_args = match &cli.command {
        Command::Run { seed_args, .. }
        | Command::Replay { seed_args, .. }
        | Command::Seed { seed_args, .. } => seed_args,
    };
    // Checked here for `run` too, so a build without the bugs says so once
    // instead of failing every seed.
    if seed_args.broken.is_some() && !broken::COMPILED_IN {
        eprintln!("keel-sim: {}", broken::NotCompiledIn);
        return ExitCode::from(2);
    }
    match cli.command {
        Command::Run {
            seeds,
            seed_args,
            jobs,
            check_determinism,
        } => match parse_seeds(&seeds) {
            Ok(seeds) => campaign::run(&seeds, &seed_args, jobs, check_determinism),
            Err(err) => {
                eprintln!("keel-sim: {err}");
                ExitCode::from(2)
            }
        },
        Command::Replay {
            seed,
            seed_args,
            trace,
        } => sim::replay(seed, &seed_args, trace.as_deref()),
        Command::Seed { seed, seed_args } => sim::seed(seed, &seed_args),
    }
}

/// Running seeds in child processes (works in either build; the children
/// need the simulator).
mod campaign {
    use super::{SeedArgs, broken_name};
    use indicatif::{ProgressBar, ProgressStyle};
    use std::collections::{BTreeMap, VecDeque};
    use std::process::{Child, Command, ExitCode, Stdio};
    use std::time::{Duration, Instant};

    /// What one child reported.
    pub struct Verdict {
        pub seed: u64,
        pub passed: bool,
        pub hash: String,
        pub simulated_ms: u64,
        pub wall: Duration,
        pub summary: String,
        pub violations: Vec<String>,
        /// Each violation's kind (`RealTimeOrder`, ...; `ProcessFailed` when
        /// the seed's process died), in the order of `violations`.
        pub kinds: Vec<String>,
    }

    /// The kind a `violation` line starts with (`{kind:?}` then ` (op#` or
    /// `:`).
    fn kind_of(violation: &str) -> String {
        violation
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_string()
    }

    fn parse(
        seed: u64,
        wall: Duration,
        ok: bool,
        stdout: &str,
        stderr: &str,
        args: &SeedArgs,
    ) -> Verdict {
        let mut verdict = Verdict {
            seed,
            passed: false,
            hash: String::new(),
            simulated_ms: 0,
            wall,
            summary: String::new(),
            violations: Vec::new(),
            kinds: Vec::new(),
        };
        let mut saw_result = false;
        let mut ran_broken = None;
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("result ") {
                saw_result = true;
                verdict.summary = rest.to_string();
                for field in rest.split_whitespace() {
                    match field.split_once('=') {
                        Some(("passed", v)) => verdict.passed = v == "true",
                        Some(("hash", v)) => verdict.hash = v.to_string(),
                        Some(("sim_ms", v)) => verdict.simulated_ms = v.parse().unwrap_or(0),
                        Some(("broken", v)) => ran_broken = Some(v.to_string()),
                        _ => {}
                    }
                }
            } else if let Some(v) = line.strip_prefix("violation ") {
                verdict.kinds.push(kind_of(v));
                verdict.violations.push(v.to_string());
            }
        }
        // The seed says which broken behaviour it ran with; anything but
        // what was asked for (`none` in a normal campaign) fails it.
        let asked = broken_name(args.broken);
        if saw_result && ran_broken.as_deref() != Some(asked) {
            verdict.passed = false;
            verdict.kinds.insert(0, "WrongBrokenSwitch".to_string());
            verdict.violations.insert(
                0,
                format!(
                    "WrongBrokenSwitch: the seed ran with broken={} but the campaign asked for {asked}",
                    ran_broken.as_deref().unwrap_or("(not reported)")
                ),
            );
        }
        if !saw_result || !ok {
            verdict.passed = false;
            // The panic message is the line after "panicked at".
            let lines: Vec<&str> = stderr.lines().collect();
            let why = match lines.iter().position(|l| l.contains("panicked at")) {
                Some(at) => lines[at..lines.len().min(at + 2)].join(" "),
                None => lines
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" | "),
            };
            verdict.kinds.push("ProcessFailed".to_string());
            verdict
                .violations
                .push(format!("the seed's process failed: {why}"));
        }
        verdict
    }

    fn spawn(seed: u64, args: &SeedArgs) -> std::io::Result<Child> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command.arg("seed").arg("--seed").arg(seed.to_string());
        for flag in args.flags().split_whitespace() {
            command.arg(flag);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// Runs `seeds`, `jobs` at a time; each in its own process.
    pub fn run_all(
        seeds: &[u64],
        args: &SeedArgs,
        jobs: usize,
        progress: &ProgressBar,
    ) -> Vec<Verdict> {
        let mut queue: VecDeque<u64> = seeds.iter().copied().collect();
        let mut running: Vec<(u64, Instant, Child)> = Vec::new();
        let mut verdicts = Vec::new();
        while !queue.is_empty() || !running.is_empty() {
            while running.len() < jobs {
                let Some(seed) = queue.pop_front() else { break };
                match spawn(seed, args) {
                    Ok(child) => running.push((seed, Instant::now(), child)),
                    Err(err) => {
                        let verdict =
                            parse(seed, Duration::ZERO, false, "", &err.to_string(), args);
                        progress.suspend(|| report_failure(&verdict, args));
                        progress.inc(1);
                        verdicts.push(verdict);
                    }
                }
            }
            let mut still = Vec::new();
            for (seed, started, mut child) in running.drain(..) {
                match child.try_wait() {
                    Ok(None) => still.push((seed, started, child)),
                    _ => {
                        let output = child.wait_with_output();
                        let wall = started.elapsed();
                        let verdict = match output {
                            Ok(out) => parse(
                                seed,
                                wall,
                                out.status.success(),
                                &String::from_utf8_lossy(&out.stdout),
                                &String::from_utf8_lossy(&out.stderr),
                                args,
                            ),
                            Err(err) => parse(seed, wall, false, "", &err.to_string(), args),
                        };
                        if !verdict.passed {
                            progress.suspend(|| report_failure(&verdict, args));
                        }
                        progress.inc(1);
                        verdicts.push(verdict);
                    }
                }
            }
            running = still;
            std::thread::sleep(Duration::from_millis(5));
        }
        verdicts.sort_by_key(|v| v.seed);
        verdicts
    }

    fn report_failure(verdict: &Verdict, args: &SeedArgs) {
        let first = verdict.violations.first().map_or("", String::as_str);
        println!(
            "seed {} FAILED ({} violation(s)): {first}\n    replay: keel-sim replay --seed {} {}",
            verdict.seed,
            verdict.violations.len(),
            verdict.seed,
            args.flags()
        );
    }

    /// `keel-sim run`.
    pub fn run(
        seeds: &[u64],
        args: &SeedArgs,
        jobs: Option<usize>,
        check_determinism: usize,
    ) -> ExitCode {
        let jobs = jobs
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1);
        let progress = ProgressBar::new(seeds.len() as u64);
        progress.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let started = Instant::now();
        let verdicts = run_all(seeds, args, jobs, &progress);
        let mut failed = verdicts.iter().filter(|v| !v.passed).count();
        let mut nondeterministic = 0;
        if check_determinism > 0 {
            let again: Vec<u64> = seeds.iter().copied().take(check_determinism).collect();
            for second in run_all(&again, args, jobs, &progress) {
                let first = verdicts.iter().find(|v| v.seed == second.seed);
                if let Some(first) = first {
                    if first.hash != second.hash || first.hash.is_empty() {
                        nondeterministic += 1;
                        println!(
                            "seed {} NOT DETERMINISTIC: trace {} then {}\n    replay: keel-sim replay --seed {} {}",
                            second.seed,
                            first.hash,
                            second.hash,
                            second.seed,
                            args.flags()
                        );
                    }
                }
            }
        }
        progress.finish_and_clear();
        let core_seconds: f64 = verdicts.iter().map(|v| v.wall.as_secs_f64()).sum();
        let simulated: f64 = verdicts.iter().map(|v| v.simulated_ms as f64 / 1e3).sum();
        if core_seconds > 0.0 {
            println!(
                "speed: {:.1} simulated seconds per wall second per core; {:.0} seeds per core-hour ({} jobs, {:.1}s wall)",
                simulated / core_seconds,
                verdicts.len() as f64 * 3600.0 / core_seconds,
                jobs,
                started.elapsed().as_secs_f64()
            );
        }
        if check_determinism > 0 {
            println!(
                "determinism: {} of {} seeds replayed with the same trace",
                check_determinism.min(seeds.len()) - nondeterministic,
                check_determinism.min(seeds.len())
            );
        }
        // Which guarantees the failing seeds broke (every violation a seed
        // reported, up to 20 each): `ci/sim.sh --broken` checks the bug
        // broke the one it should.
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for verdict in verdicts.iter().filter(|v| !v.passed) {
            for kind in &verdict.kinds {
                *by_kind.entry(kind).or_default() += 1;
            }
        }
        if !by_kind.is_empty() {
            let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k}={n}")).collect();
            println!("violations by kind: {}", kinds.join(" "));
        }
        failed += nondeterministic;
        println!(
            "{} passed, {} failed",
            verdicts.len() - failed.min(verdicts.len()),
            failed
        );
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

#[cfg(madsim)]
mod sim {
    use super::{SeedArgs, broken_name};
    use keel_engine::testing::broken;
    use keel_sim::scenario::{SeedOptions, SeedReport, run_seed};
    use std::process::ExitCode;

    fn options(seed: u64, args: &SeedArgs) -> SeedOptions {
        SeedOptions {
            seed,
            nodes: args.nodes,
            duration: args.duration,
            faults: args.faults.0.clone(),
            clients: args.clients,
        }
    }

    fn summary(report: &SeedReport) -> String {
        format!(
            "seed={} passed={} hash={:016x} sim_ms={} ops={} indeterminate={} nodes={} wgl={}/{} faults={} broken={}",
            report.seed,
            report.passed(),
            report.trace_hash,
            report.simulated.as_millis(),
            report.ops,
            report.indeterminate,
            report.nodes,
            report.wgl.0,
            report.wgl.0 + report.wgl.1,
            report
                .plan
                .enabled
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(","),
            broken_name(broken::active())
        )
    }

    /// Runs the seed, with the broken behaviour `--broken` names (if any)
    /// switched on for this process first.
    fn run(seed: u64, args: &SeedArgs) -> Result<SeedReport, ExitCode> {
        if let Some(bug) = args.broken {
            if let Err(err) = broken::switch_on(bug) {
                eprintln!("keel-sim: {err}");
                return Err(ExitCode::from(2));
            }
        }
        Ok(run_seed(&options(seed, args)))
    }

    /// `keel-sim seed`: one verdict line, then the violations.
    pub fn seed(seed: u64, args: &SeedArgs) -> ExitCode {
        let report = match run(seed, args) {
            Ok(report) => report,
            Err(code) => return code,
        };
        println!("result {}", summary(&report));
        for v in report.violations.iter().take(20) {
            println!("violation {v}");
        }
        ExitCode::SUCCESS
    }

    /// `keel-sim replay`: the seed's timeline, client operations merged in.
    pub fn replay(seed: u64, args: &SeedArgs, trace: Option<&std::path::Path>) -> ExitCode {
        let report = match run(seed, args) {
            Ok(report) => report,
            Err(code) => return code,
        };
        let mut lines: Vec<(u64, String)> = report
            .timeline
            .iter()
            .map(|l| {
                let at = l
                    .trim_start_matches('[')
                    .split('s')
                    .next()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .unwrap_or(0.0);
                ((at * 1e9) as u64, l.clone())
            })
            .collect();
        for op in &report.history.ops {
            let at = op.complete.unwrap_or(op.invoke);
            lines.push((at, format!("[{:>9.3}s]   {op}", at as f64 / 1e9)));
        }
        lines.sort_by_key(|(at, _)| *at);
        let mut text = String::new();
        for (_, line) in &lines {
            text.push_str(line);
            text.push('\n');
        }
        for v in &report.violations {
            text.push_str(&format!("VIOLATION {v}\n"));
        }
        text.push_str(&format!("{}\n", summary(&report)));
        print!("{text}");
        if let Some(path) = trace {
            if let Err(err) = std::fs::write(path, &text) {
                eprintln!("keel-sim: cannot write {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
        }
        if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(madsim))]
mod sim {
    use super::SeedArgs;
    use std::process::ExitCode;

    const NEEDS: &str = "keel-sim: this build has no simulator; build it with \
        RUSTFLAGS=\"--cfg madsim\" CARGO_TARGET_DIR=target/sim (see ci/sim.sh)";

    pub fn seed(_: u64, _: &SeedArgs) -> ExitCode {
        eprintln!("{NEEDS}");
        ExitCode::from(2)
    }

    pub fn replay(_: u64, _: &SeedArgs, _: Option<&std::path::Path>) -> ExitCode {
        eprintln!("{NEEDS}");
        ExitCode::from(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists_parse() {
        assert_eq!(parse_seeds("1..4").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seeds("1..=3,9").unwrap(), vec![1, 2, 3, 9]);
        assert!(parse_seeds("x..3").is_err());
        assert!(parse_seeds("").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn replay_flags_round_trip() {
        let args = SeedArgs {
            nodes: Some(5),
            duration: Duration::from_secs(3),
            faults: parse_faults("kill,pause").unwrap(),
            clients: 2,
            broken: Some(Bug::WatchResume),
        };
        let cli = Cli::try_parse_from(
            ["keel-sim", "replay", "--seed", "4"]
                .into_iter()
                .map(String::from)
                .chain(args.flags().split_whitespace().map(String::from)),
        )
        .unwrap();
        let Command::Replay { seed_args, .. } = cli.command else {
            panic!("replay expected")
        };
        assert_eq!(seed_args.flags(), args.flags());
        assert_eq!(seed_args.faults.0, vec![FaultKind::Kill, FaultKind::Pause]);
        assert_eq!(seed_args.broken, Some(Bug::WatchResume));
        assert!(Cli::try_parse_from(["keel-sim", "run", "--nodes", "4"]).is_err());
    }
}
