#!/usr/bin/env bash
# Runs every test Keel has: formatting, lints, unit/property/integration tests.
# This is the README's test command; CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Property tests: enough cases to matter, bounded so CI stays well under budget.
export PROPTEST_CASES="${PROPTEST_CASES:-64}"

# Each step also prints the free disk space: a CI run once died of a full disk.
step() {
  printf '\n== %s (%s, %s free)\n' "$*" "$(date -u +%H:%M:%S)" \
    "$(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ')"
}

step "etcd 3.4 from Debian (etcd, etcdctl, etcd's Go sources) when missing"
# The conformance tests run the real etcdctl against Keel and compare with
# etcd; they need these packages (see docs/COMPATIBILITY.md).
ci/install-etcd.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

step "etcd 3.4's own e2e suite against Keel (the CI subset, both Keel ways)"
# etcd's tests/e2e with keel as etcd, and the real etcdctl or keelctl as
# etcdctl (docs/COMPATIBILITY.md): every TestCtlV3* test of a feature Keel
# has; the known failures (ci/etcd-e2e/known-failures.txt) are not run.
# Full runs: ci/etcd-e2e.sh (every test, three ways).
ci/etcd-e2e.sh --ci --profile debug

step "engine and simulator under madsim (--cfg madsim, own target dir)"
# The same engine code on madsim's runtime: cluster tests and the
# determinism check (same seed, same trace) run here.
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/sim \
  cargo clippy -p keel-sim --all-targets --locked -- -D warnings
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/sim \
  cargo test -p keel-engine -p keel-sim --locked --no-fail-fast

step "simulation campaign: 300 seeds x 60 simulated seconds, every fault"
# Whole clusters of real server code under partitions, kills with power
# loss, pauses, disk faults, member replacement...; every history checked.
# The first 5 seeds run twice: the same seed must give the same trace.
ci/sim.sh --seeds 1..301 --check-determinism 5

step "simulation finds deliberately broken behaviours"
# Test-only bugs, compiled into the simulator build above (and nothing else)
# and switched on at run time, so no build of their own; each campaign must
# fail with the violation its bug causes: reads answered without ReadIndex
# (RealTimeOrder), a watch that skips a revision when it resumes
# (WatchMismatch), and lease keep-alives acknowledged by any member without
# raft (LeaseBroken).
ci/sim.sh --broken stale-reads --seeds 1..21
ci/sim.sh --broken watch-resume --seeds 1..41
ci/sim.sh --broken local-keepalive --seeds 1..41

step "fuzz smoke: every target for 15 s (libFuzzer + ASan)"
# The corpora already ran through the same functions as ordinary tests
# (engine/tests/fuzz_corpus.rs, server/tests/fuzz_corpus.rs); this runs the
# real fuzzers briefly so a target that no longer builds or crashes at once
# is caught. Campaigns: ci/fuzz.sh --time SECONDS.
SMOKE_SECONDS="${SMOKE_SECONDS:-15}" ci/fuzz.sh --smoke

step "benchmarks compile and run once (small data sets)"
# KEEL_BENCH_SMALL shrinks benchmark fixtures (1M keys -> 10k) so this only
# proves the benchmarks still work; real figures come from ci/bench.sh.
KEEL_BENCH_SMALL=1 cargo test --workspace --locked --benches -- --test

step "all passed"
