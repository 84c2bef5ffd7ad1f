#!/usr/bin/env bash
# Why each test failed in the last ci/etcd-e2e.sh run of a way, one line per
# test, from its log (target/etcd-e2e/logs/WAY/TEST.log):
#   ci/etcd-e2e/why.sh keel-etcdctl            every failed test
#   ci/etcd-e2e/why.sh keel-keelctl TestCtlV3Put
# The first of: the server refused its command line (which argument), the
# test's own failure message, or where it was stuck when its time ran out.
set -euo pipefail
cd "$(dirname "$0")/../.."
way="${1:?usage: why.sh WAY [TEST...]}"; shift
results="target/etcd-e2e/results/$way.tsv"
logs="target/etcd-e2e/logs/$way"
if [ $# -gt 0 ]; then tests=("$@")
else mapfile -t tests < <(awk -F'\t' '$2 == "FAIL" {print $1}' "$results"); fi

strip() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\r$//'; }
for t in "${tests[@]}"; do
  log="$logs/$t.log"
  [ -f "$log" ] || { printf '%s\tno log\n' "$t"; continue; }
  why=""
  for pat in "unexpected argument '[^']*'" "a value is required for '[^']*'" "invalid value .* for flag .*" "error verifying flags.*"; do
    why=$(strip <"$log" | grep -aoE "$pat" | head -1 || true)
    [ -z "$why" ] || break
  done
  if [ -n "$why" ]; then why="server command line: $why"
  elif grep -aq 'panic: test timed out' "$log"; then
    if grep -aq 'waitReadyExpectProc' "$log"; then
      why="time limit: still waiting for the server's ready lines (\"enabled capabilities for version\", \"published\")"
    else
      why="time limit: in $(grep -aoE 'e2e\.[A-Za-z0-9_]+\(' "$log" | grep -v 'e2e.Test' | head -1 | tr -d '(' || true)"
    fi
  else
    why=$(strip <"$log" | grep -aE '^\s+[a-z0-9_]+\.go:[0-9]+: ' | grep -avE ': (Apply|Create|Setting|Start)' | head -1 | sed 's/^\s*//' || true)
  fi
  printf '%s\t%s\n' "$t" "$(cut -c1-300 <<<"${why:-unknown (see $log)}")"
done
