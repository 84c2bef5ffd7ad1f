#!/usr/bin/env bash
# Fuzz campaigns with cargo-fuzz (libFuzzer + AddressSanitizer).
#   ci/fuzz.sh --smoke [TARGET...]        every target (or those named) for SMOKE_SECONDS (20) each
#   ci/fuzz.sh --time SECONDS [TARGET...] a campaign of SECONDS per target, one target at a time
#   ci/fuzz.sh --list                     the targets
# Seeds: fuzz/corpus/<target>/ (checked in). Inputs libFuzzer finds go to
# fuzz/work/<target>/ (not checked in); crashes to fuzz/artifacts/<target>/,
# each printed with the command that reproduces it. Exit status 1 if any
# target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1   # cargo-fuzz needs nightly flags; stable works with this
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

mode="${1:-}"; shift || true
seconds=""
case "$mode" in
  --smoke) seconds="${SMOKE_SECONDS:-20}" ;;
  --time) seconds="${1:?--time needs SECONDS}"; shift ;;
  --list) ;;
  *) echo "usage: ci/fuzz.sh --smoke | --time SECONDS | --list [TARGET...]" >&2; exit 2 ;;
esac

all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^keel-fuzz$')
if [ "$mode" = "--list" ]; then echo "$all_targets"; exit 0; fi
targets=("$@")
named=${#targets[@]}
[ "$named" -gt 0 ] || mapfile -t targets <<<"$all_targets"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "== building ${#targets[@]} targets"
if [ "$named" -eq 0 ]; then
  (cd fuzz && cargo fuzz build -O)
else
  for target in "${targets[@]}"; do (cd fuzz && cargo fuzz build -O "$target"); done
fi

failed=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/work/$target" "fuzz/artifacts/$target"
  log="fuzz/work/$target.log"
  echo "== $target (${seconds}s)"
  set +e
  (cd fuzz && cargo fuzz run -O "$target" "work/$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 \
      -print_final_stats=1 >"../$log" 2>&1)
  status=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|cov: " "$log" | tail -4 || true
  if [ $status -ne 0 ]; then
    failed=1
    echo "!! $target crashed (exit $status); log: $log"
    for crash in fuzz/artifacts/"$target"/*; do
      [ -f "$crash" ] || continue
      echo "   reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O $target ${crash#fuzz/})"
    done
  fi
done
exit $failed
