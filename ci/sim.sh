#!/usr/bin/env bash
# Simulation campaigns: whole Keel clusters under madsim, one process per seed.
#   ci/sim.sh [keel-sim run flags...]     e.g. --seeds 1..1001 --nodes 5 --faults kill,partition
#   ci/sim.sh --replay SEED [flags...]    one seed with its timeline (keel-sim replay)
#   ci/sim.sh --broken KIND [flags...]    the same campaign against a deliberately
#                                          broken build; it must FAIL, or the harness is
#                                          blind. KIND: stale-reads (linearizable reads
#                                          served locally), watch-resume (a resumed
#                                          watch skips a revision) or local-keepalive
#                                          (lease keep-alives acknowledged without raft)
# Defaults: seeds 1..101, 60 simulated seconds each, every fault, jobs = cores.
# The simulator build lives in target/sim so it never rebuilds the normal
# target dir; the broken builds share target/sim-broken (their dependencies are
# built once; only the keel crates differ per feature), which keeps a CI run's
# disk use bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

mode=run
case "${1:-}" in
  --replay) mode=replay; seed="${2:?--replay needs a SEED}"; shift 2 ;;
  --broken) mode=broken; kind="${2:?--broken needs stale-reads, watch-resume or local-keepalive}"; shift 2 ;;
esac

target=target/sim
features=()
if [ "$mode" = broken ]; then
  case "$kind" in
    stale-reads|watch-resume|local-keepalive) ;;
    *) echo "ci/sim.sh: unknown broken build $kind (stale-reads, watch-resume, local-keepalive)" >&2; exit 2 ;;
  esac
  target="target/sim-broken"
  features=(--features "broken-$kind")
fi
echo "== building keel-sim under madsim ($target)"
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$target" \
  cargo build --release --locked -p keel-sim "${features[@]}"
sim="$target/release/keel-sim"

defaults=(--seeds 1..101)
for arg in "$@"; do [ "$arg" = --seeds ] && defaults=(); done

case "$mode" in
  replay) exec "$sim" replay --seed "$seed" "$@" ;;
  run) exec "$sim" run "${defaults[@]}" "$@" ;;
  broken)
    set +e
    out=$("$sim" run "${defaults[@]}" "$@" 2>&1)
    status=$?
    set -e
    echo "$out" | grep -v '^    replay' | cut -c1-200 | tail -5
    first=$(echo "$out" | sed -n 's/^seed \([0-9]*\) FAILED.*/\1/p' | sort -n | head -1)
    if [ $status -eq 0 ] || [ -z "$first" ]; then
      echo "!! the campaign did not catch the broken build ($kind)" >&2
      exit 1
    fi
    echo "== the broken build ($kind) was caught; first failing seed: $first"
    ;;
esac
