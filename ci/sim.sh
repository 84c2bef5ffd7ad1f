#!/usr/bin/env bash
# Simulation campaigns: whole Keel clusters under madsim, one process per seed.
#   ci/sim.sh [keel-sim run flags...]     e.g. --seeds 1..1001 --nodes 5 --faults kill,partition
#   ci/sim.sh --replay SEED [flags...]    one seed with its timeline (keel-sim replay)
#   ci/sim.sh --broken KIND [flags...]    the same campaign with one deliberately broken
#                                          behaviour switched on (keel-sim --broken KIND);
#                                          it must FAIL, with the violation that bug
#                                          causes, or the harness is blind. KIND:
#                                          stale-reads (linearizable reads served
#                                          locally: RealTimeOrder), watch-resume (a
#                                          resumed watch skips a revision: WatchMismatch)
#                                          or local-keepalive (lease keep-alives
#                                          acknowledged without raft: LeaseBroken)
# Defaults: seeds 1..101, 60 simulated seconds each, every fault, jobs = cores.
# The simulator build lives in target/sim so it never rebuilds the normal
# target dir. The broken behaviours are compiled into every simulator build
# (and into no other) but stay off unless --broken switches one on, so the
# broken campaigns use the same build as the normal ones: no build of their
# own (engine/src/testing/broken.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

mode=run
case "${1:-}" in
  --replay) mode=replay; seed="${2:?--replay needs a SEED}"; shift 2 ;;
  --broken) mode=broken; kind="${2:?--broken needs stale-reads, watch-resume or local-keepalive}"; shift 2 ;;
esac

target=target/sim
broken=()
if [ "$mode" = broken ]; then
  # The guarantee each bug breaks: the checkers must report it.
  case "$kind" in
    stale-reads) expect=RealTimeOrder ;;
    watch-resume) expect=WatchMismatch ;;
    local-keepalive) expect=LeaseBroken ;;
    *) echo "ci/sim.sh: unknown broken behaviour $kind (stale-reads, watch-resume, local-keepalive)" >&2; exit 2 ;;
  esac
  broken=(--broken "$kind")
fi
echo "== building keel-sim under madsim ($target)"
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$target" \
  cargo build --release --locked -p keel-sim
sim="$target/release/keel-sim"

defaults=(--seeds 1..101)
for arg in "$@"; do [ "$arg" = --seeds ] && defaults=(); done

case "$mode" in
  replay) exec "$sim" replay --seed "$seed" "$@" ;;
  run) exec "$sim" run "${defaults[@]}" "$@" ;;
  broken)
    set +e
    out=$("$sim" run "${defaults[@]}" "$@" "${broken[@]}" 2>&1)
    status=$?
    set -e
    echo "$out" | grep -v '^    replay' | cut -c1-200 | tail -6
    first=$(echo "$out" | sed -n 's/^seed \([0-9]*\) FAILED.*/\1/p' | sort -n | head -1)
    if [ $status -eq 0 ] || [ -z "$first" ]; then
      echo "!! the campaign did not catch the broken behaviour ($kind)" >&2
      exit 1
    fi
    # Failing is not enough: the seeds must fail the way this bug makes them
    # (e.g. not only because a process crashed).
    if ! echo "$out" | grep -Eq "^violations by kind:.* $expect=[0-9]+"; then
      echo "!! the campaign failed, but no seed reported $expect, the violation $kind causes" >&2
      exit 1
    fi
    caught=$(echo "$out" | sed -n "s/^violations by kind:.* $expect=\([0-9]*\).*/\1/p")
    echo "== the broken behaviour ($kind) was caught: $caught $expect violation(s); first failing seed: $first"
    ;;
esac
