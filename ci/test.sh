#!/usr/bin/env bash
# Runs every test Keel has: formatting, lints, unit/property/integration tests.
# This is the README's test command; CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Property tests: enough cases to matter, bounded so CI stays well under budget.
export PROPTEST_CASES="${PROPTEST_CASES:-64}"

step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

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

step "engine under the simulator (--cfg madsim, own target dir)"
# The same engine code on madsim's runtime: cluster tests and the
# determinism check (same seed, same trace) run here.
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/sim \
  cargo test -p keel-engine --locked --no-fail-fast

step "benchmarks compile and run once (small data sets)"
# KEEL_BENCH_SMALL shrinks benchmark fixtures (1M keys -> 10k) so this only
# proves the benchmarks still work; real figures come from ci/bench.sh.
KEEL_BENCH_SMALL=1 cargo test --workspace --locked --benches -- --test

step "all passed"
