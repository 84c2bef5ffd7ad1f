#!/usr/bin/env bash
# etcd 3.4's own end-to-end suite (tests/e2e from Debian's golang-etcd-server-dev)
# run against etcd itself and against Keel. See docs/COMPATIBILITY.md.
#
# The suite takes a directory holding `etcd` and `etcdctl` (-bin-dir); it is
# run three ways, each a directory of symlinks under target/etcd-e2e/bin/:
#   etcd          real etcd + real etcdctl (the baseline)
#   keel-etcdctl  keel as etcd + real etcdctl
#   keel-keelctl  keel as etcd + keelctl as etcdctl
# Each test runs alone in its own e2e.test process, with a time limit.
#
# usage: ci/etcd-e2e.sh [--full | --ci] [--ways W,...] [--run REGEX]
#                       [--timeout SECONDS] [--run-known] [--no-build]
#                       [--profile release|debug]
#                       [--gen-certs] [--update-known] [--update-baseline]
#   --full           every test of the suite (243), the three ways (default)
#   --ci             the tests in ci/etcd-e2e/ci-tests.txt, the two Keel ways;
#                    tests ci/etcd-e2e/known-failures.txt lists for a way are
#                    not run that way (bounded: about 7 minutes when all run)
#   --ways W,...     which ways to run (etcd, keel-etcdctl, keel-keelctl)
#   --run REGEX      only the tests whose names match REGEX (grep -E)
#   --timeout S      the longest any test may take (default 120, --ci 60);
#                    each test gets 4 x its baseline time + 20 s, at least
#                    30 s, at most S (ci/etcd-e2e/baseline.tsv)
#   --run-known      with --ci, run the known failures too
#   --no-build       no cargo build; use target/PROFILE/keel and keelctl
#   --profile P      which build of keel and keelctl: release (default) or
#                    debug (ci/test.sh: the test step built it already)
#   --gen-certs      certificates from ci/etcd-e2e/gencerts.sh even when
#                    Debian ships the suite's integration/fixtures
#   --update-known   rewrite known-failures.txt's lines for the ways and
#                    tests that ran, from this run (reasons kept)
#   --update-baseline  rewrite ci/etcd-e2e/baseline.tsv from the etcd way
#
# Prints one line per test and way: PASS, FAIL, SKIP, FAIL* (a failure that
# known-failures.txt lists) or KNOWN (listed, not run), and the seconds; with
# --ci a test that fails and is not listed runs once more (PASS2 when the
# second try passes; its first log is printed and kept as TEST.first.log);
# then per way and for the Keel ways together `N passed, N failed`. Exit status 1
# when a test fails that known-failures.txt does not list for its way (a
# regression); listed tests that passed are named so the list can be
# trimmed. Logs (each spawned process's output too): target/etcd-e2e/logs/;
# ci/etcd-e2e/why.sh WAY says why each failed test of the last run failed.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# --- options ------------------------------------------------------------------
parse_args() {
  mode=full ways="" run_re="" max_timeout="" build=1 update_known=0 gen_certs=0
  run_known=0 update_baseline=0 profile=release
  while [ $# -gt 0 ]; do
    case "$1" in
      --full) mode=full ;;
      --ci) mode=ci ;;
      --ways) ways="$2"; shift ;;
      --ways=*) ways="${1#*=}" ;;
      --run) run_re="$2"; shift ;;
      --run=*) run_re="${1#*=}" ;;
      --timeout) max_timeout="$2"; shift ;;
      --timeout=*) max_timeout="${1#*=}" ;;
      --run-known) run_known=1 ;;
      --no-build) build=0 ;;
      --profile) profile="$2"; shift ;;
      --profile=*) profile="${1#*=}" ;;
      --gen-certs) gen_certs=1 ;;
      --update-known) update_known=1 ;;
      --update-baseline) update_baseline=1 ;;
      -h|--help) usage; exit 0 ;;
      *) echo "etcd-e2e.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
  if [ -z "$ways" ]; then
    if [ "$mode" = ci ]; then ways="keel-etcdctl,keel-keelctl"; else ways="etcd,keel-etcdctl,keel-keelctl"; fi
  fi
  if [ -z "$max_timeout" ]; then
    if [ "$mode" = ci ]; then max_timeout=60; else max_timeout=120; fi
  fi
  case "$profile" in release|debug) ;; *) echo "etcd-e2e.sh: unknown profile $profile" >&2; exit 2 ;; esac
  IFS=, read -r -a way_list <<<"$ways"
  local w
  for w in "${way_list[@]}"; do
    case "$w" in etcd|keel-etcdctl|keel-keelctl) ;; *) echo "etcd-e2e.sh: unknown way $w" >&2; exit 2 ;; esac
  done
}

keel_ways() { printf '%s\n' "${way_list[@]}" | grep -q '^keel'; }

# --- tools, like a fresh CI machine ---------------------------------------------
install_tools() {
  local need=()
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v etcdctl >/dev/null || need+=(etcd-client)
  command -v go >/dev/null || need+=(golang-go)
  [ -d "$gosrc/tests/e2e" ] || need+=(golang-etcd-server-dev)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl) # the suite's v2/v3 HTTP tests run curl
  if [ ${#need[@]} -gt 0 ]; then
    echo "== apt-get install ${need[*]}"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"; } >"$work/apt.log" 2>&1; then
      echo "etcd-e2e.sh: apt-get install failed, see $work/apt.log" >&2; exit 2
    fi
  fi
}

# --- the suite's test binary (built once; delete it to rebuild) -----------------
build_suite() {
  e2e_bin="$work/e2e.test"
  [ -x "$e2e_bin" ] && return
  echo "== building etcd's tests/e2e (GOPATH mode over /usr/share/gocode, ~2 min)"
  # GOPATH mode: Debian's tree is a GOPATH whose src/ holds etcd and every
  # package it imports; the go.mod there is ignored with GO111MODULE=off.
  if ! (cd "$gosrc/tests/e2e" && env GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
        GOCACHE="$work/gocache" go test -c -o "$e2e_bin.tmp" .) >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2; echo "etcd-e2e.sh: building the e2e suite failed" >&2; exit 2
  fi
  mv "$e2e_bin.tmp" "$e2e_bin"
}

# --- certificates (-cert-dir) ------------------------------------------------------
pick_certs() {
  certs="$gosrc/integration/fixtures"
  local f
  for f in ca.crt server.crt server.key.insecure server2.crt server2.key.insecure \
           server3.crt server3.key.insecure server-revoked.crt server-revoked.key.insecure \
           revoke.crl client-nocn.crt client-nocn.key.insecure client-nocn.revoke.crl \
           CommonName-root.crt CommonName-root.key; do
    if [ "$gen_certs" = 1 ] || [ ! -f "$certs/$f" ]; then
      certs="$work/certs"
      if [ ! -f "$certs/CommonName-root.key" ]; then
        rm -rf "$certs"
        "$conf/gencerts.sh" "$certs" >"$work/gencerts.log" 2>&1 ||
          { cat "$work/gencerts.log" >&2; exit 2; }
      fi
      echo "== certificates made by ci/etcd-e2e/gencerts.sh ($certs)"
      return
    fi
  done
}

build_keel() {
  if [ "$build" = 1 ]; then
    local flag=()
    [ "$profile" = release ] && flag=(--release)
    echo "== cargo build ${flag[*]} --bin keel --bin keelctl"
    cargo build "${flag[@]}" --locked --bin keel --bin keelctl >&2
  fi
  local b
  for b in keel keelctl; do
    [ -x "target/$profile/$b" ] || { echo "etcd-e2e.sh: target/$profile/$b missing" >&2; exit 2; }
  done
}

select_tests() {
  local all missing
  all=$("$e2e_bin" -test.list '.*' | grep '^Test')
  if [ "$mode" = ci ]; then
    tests=$(grep -v '^[[:space:]]*\(#\|$\)' "$conf/ci-tests.txt" | awk '{print $1}')
    missing=$(comm -23 <(sort <<<"$tests") <(sort <<<"$all") || true)
    [ -z "$missing" ] || { echo "etcd-e2e.sh: ci-tests.txt names tests the suite lacks: $missing" >&2; exit 2; }
  else
    tests="$all"
  fi
  if [ -n "$run_re" ]; then tests=$(grep -E -- "$run_re" <<<"$tests" || true); fi
  [ -n "$tests" ] || { echo "etcd-e2e.sh: no test selected" >&2; exit 2; }
}

# --- processes: every etcd/etcdctl the suite starts runs from one of our bin
# dirs (argv[0] is the path the suite was given); after each test whatever is
# left of them is killed by pid.
kill_leftovers() {
  local f pid argv0
  for f in /proc/[0-9]*/cmdline; do
    argv0=""; { IFS= read -r -d '' argv0 <"$f"; } 2>/dev/null || true
    case "$argv0" in
      "$bin_root"/*) pid="${f#/proc/}"; pid="${pid%/cmdline}"; kill -9 "$pid" 2>/dev/null || true ;;
    esac
  done
}
on_exit() {
  # timeout(1) passes TERM on to the suite; the pty it gave each process
  # closes with it, and what is left is killed by pid.
  if [ -n "${test_pid:-}" ]; then kill -TERM "$test_pid" 2>/dev/null || true; sleep 1; fi
  kill_leftovers
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# known failures: "WAY TEST reason..." lines; a reason "flaky: ..." marks a
# test whose verdict does not depend on Keel
is_known() { awk -v w="$1" -v t="$2" '$1 == w && $2 == t { found = 1 } END { exit !found }' "$known_file"; }
is_flaky() { awk -v w="$1" -v t="$2" '$1 == w && $2 == t && $3 ~ /^flaky/ { found = 1 } END { exit !found }' "$known_file"; }

test_limit() { # $1 test -> seconds
  awk -F'\t' -v t="$1" -v max="$max_timeout" '
    $1 == t && $2 != "SKIP" { lim = int(4 * $3 + 20); if (lim < 30) lim = 30 }
    END { if (!lim || lim > max) lim = max; print lim }' "$conf/baseline.tsv"
}

setup_way() { # $1 way: its bin dir and the tree the suite runs in
  local way="$1" bin="$bin_root/$1" tree="$work/run/$1"
  rm -rf "$bin" "$tree"; mkdir -p "$bin" "$tree/tests/e2e" "$tree/integration" "$tree/tmp"
  case "$way" in
    etcd) ln -s "$(command -v etcd)" "$bin/etcd"; ln -s "$(command -v etcdctl)" "$bin/etcdctl" ;;
    keel-etcdctl) ln -s "$repo/target/$profile/keel" "$bin/etcd"; ln -s "$(command -v etcdctl)" "$bin/etcdctl" ;;
    keel-keelctl) ln -s "$repo/target/$profile/keel" "$bin/etcd"; ln -s "$repo/target/$profile/keelctl" "$bin/etcdctl" ;;
  esac
  # The suite reads ../../integration/fixtures and ../../etcd.conf.yml.sample
  # relative to its working directory, as in etcd's tree.
  ln -s "$certs" "$tree/integration/fixtures"
  ln -s "$conf/etcd.conf.yml" "$tree/etcd.conf.yml.sample"
}

run_test() { # $1 way, $2 test; sets res (PASS/FAIL/SKIP) and secs
  local way="$1" t="$2" bin="$bin_root/$1" tree="$work/run/$1" log="$work/logs/$1/$2.log"
  local start end rc limit
  limit=$(test_limit "$t")
  # a fresh working directory and TMPDIR (data dirs, snapshots, unix sockets)
  find "$tree/tests/e2e" -mindepth 1 -delete 2>/dev/null || true
  rm -rf "$tree/tmp"; mkdir -p "$tree/tmp"
  start=$(date +%s.%N)
  (
    cd "$tree/tests/e2e"
    # nothing of the caller's ETCD*/KEEL* environment reaches the processes
    for v in $(env | grep -oE '^(ETCD|ETCDCTL|KEEL|KEELCTL)_[A-Za-z0-9_]*' || true); do unset "$v"; done
    export TMPDIR="$tree/tmp"
    # EXPECT_DEBUG: the suite copies every line its processes print to its
    # own output (the log), prefixed with the binary's path and pid.
    export EXPECT_DEBUG=1
    exec timeout -k 10 $((limit + 15)) "$e2e_bin" -test.v -test.run "^${t}\$" \
      -test.timeout "${limit}s" -bin-dir "$bin" -cert-dir "$certs"
  ) >"$log" 2>&1 </dev/null &
  test_pid=$!
  rc=0; wait "$test_pid" || rc=$?
  test_pid=""
  end=$(date +%s.%N)
  kill_leftovers
  # not anchored: a spawned process's last, unterminated line may precede it
  res=$(grep -aoE -- "--- (PASS|FAIL|SKIP): ${t} \(" "$log" | head -1 | awk '{print $2}' | tr -d : || true)
  if [ -z "$res" ]; then
    res=FAIL
    echo "(no verdict: exit status $rc; the limit was ${limit}s)" >>"$log"
  elif [ "$res" = PASS ] && [ "$rc" != 0 ]; then
    res=FAIL # e.g. goroutines leaked after the test (TestMain's check)
  fi
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
}

show_log_tail() { # $1 way, $2 test, $3 label: the log's last lines, indented
  local log="$work/logs/$1/$2.log"
  echo "---- $1 $2 ($3): the last 60 lines of its log, goroutine dumps left out"
  awk '/^[[:space:]]*goroutine [0-9]+ \[/ { dump = 1 }
    dump && /(--- FAIL|_test\.go:[0-9]+:|testutil\.go:[0-9]+:)/ { dump = 0 }
    !dump' "$log" | tail -n 60 | sed 's/\x1b\[[0-9;]*m//g; s/^/    /'
  echo "----"
}

run_way() { # $1 way
  local way="$1" res_file="$work/results/$1.tsv" t mark way_start
  setup_way "$way"
  mkdir -p "$work/logs/$way" "$work/results"; : >"$res_file"
  n_pass[$way]=0 n_fail[$way]=0 n_skip[$way]=0 n_new[$way]=0 n_notrun[$way]=0
  echo "== $way ($(wc -l <<<"$tests") tests, at most ${max_timeout}s each, $(date -u +%H:%M:%S))"
  way_start=$(date +%s)
  for t in $tests; do
    if [ "$mode" = ci ] && [ "$run_known" = 0 ] && is_known "$way" "$t"; then
      n_notrun[$way]=$((n_notrun[$way] + 1))
      printf '%-13s %-5s %s\n' "$way" KNOWN "$t"
      continue
    fi
    run_test "$way" "$t"
    mark="$res"
    if [ "$res" = FAIL ] && [ "$mode" = ci ] && ! is_known "$way" "$t"; then
      # One more try, so that one timing accident among ~270 real-process
      # tests does not fail CI; the first log is shown and kept, and the
      # summary names every test that needed the second try.
      show_log_tail "$way" "$t" "first try"
      mv "$work/logs/$way/$t.log" "$work/logs/$way/$t.first.log"
      run_test "$way" "$t"
      if [ "$res" = PASS ]; then mark="PASS2"; retried+=("$way $t"); fi
    fi
    case "$res" in
      PASS)
        n_pass[$way]=$((n_pass[$way] + 1))
        if is_known "$way" "$t" && ! is_flaky "$way" "$t"; then fixed+=("$way $t"); fi ;;
      SKIP) n_skip[$way]=$((n_skip[$way] + 1)) ;;
      FAIL)
        n_fail[$way]=$((n_fail[$way] + 1))
        if is_known "$way" "$t"; then mark="FAIL*"
        else
          regressions+=("$way $t"); n_new[$way]=$((n_new[$way] + 1))
          show_log_tail "$way" "$t" "$([ "$mode" = ci ] && echo "second try" || echo failed)"
        fi ;;
    esac
    printf '%-13s %-5s %-52s %6ss\n' "$way" "$mark" "$t" "$secs"
    printf '%s\t%s\t%s\n' "$t" "$res" "$secs" >>"$res_file"
  done
  echo "== $way: ${n_pass[$way]} passed, ${n_fail[$way]} failed (${n_new[$way]} not in the known list), ${n_skip[$way]} skipped, ${n_notrun[$way]} known failures not run; $(( $(date +%s) - way_start ))s"
}

update_known_list() {
  local tmp="$known_file.tmp" way
  { grep -E '^[[:space:]]*(#|$)' "$known_file" || true; } >"$tmp.head"
  {
    for way in "${way_list[@]}"; do
      # the way's lines for tests that did not run, and flaky ones, stay
      awk -v w="$way" 'NR == FNR { ran[$1] = 1; next } /^[[:space:]]*(#|$)/ { next }
        $1 == w && (!($2 in ran) || $3 ~ /^flaky/)' "$work/results/$way.tsv" "$known_file"
      local t res reason
      while IFS=$'\t' read -r t res _; do
        [ "$res" = FAIL ] || continue
        if is_flaky "$way" "$t"; then continue; fi
        reason=$(awk -v w="$way" -v t="$t" '$1 == w && $2 == t { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$known_file")
        if [ -z "$reason" ]; then # another Keel way's reason, if any
          reason=$(awk -v t="$t" '$2 == t && $1 != "etcd" { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$known_file")
        fi
        printf '%-13s %-48s %s\n' "$way" "$t" "${reason:-TODO: why}"
      done <"$work/results/$way.tsv"
    done
    awk -v ws=",${ways}," '/^[[:space:]]*(#|$)/ { next } index(ws, "," $1 ",") == 0' "$known_file"
  } | sort -s -k1,1 -k2,2 >"$tmp.body"
  cat "$tmp.head" "$tmp.body" >"$known_file"; rm -f "$tmp.head" "$tmp.body"
  echo "== rewrote $known_file"
}

update_baseline_file() {
  [ -s "$work/results/etcd.tsv" ] || { echo "etcd-e2e.sh: --update-baseline needs the etcd way" >&2; return; }
  {
    printf '# etcd %s (Debian) running its own e2e suite on this machine\n' "$(etcd --version | awk 'NR == 1 {print $3}')"
    printf '# (ci/etcd-e2e.sh --ways etcd, %s, %s CPUs).\n' "$(date -u +%Y-%m-%d)" "$(nproc)"
    printf '# test\tresult\tseconds (wall, one test per e2e.test process)\n'
    # in the old order; tests that did not run keep their old line
    awk -F'\t' 'NR == FNR { now[$1] = $0; next } /^#/ { next }
      { if ($1 in now) { print now[$1]; delete now[$1] } else print }
      END { for (t in now) print now[t] }' "$work/results/etcd.tsv" "$conf/baseline.tsv"
  } >"$conf/baseline.tsv.tmp"
  mv "$conf/baseline.tsv.tmp" "$conf/baseline.tsv"
  echo "== rewrote $conf/baseline.tsv"
}

main() {
  parse_args "$@"
  cd "$(dirname "$0")/.."
  repo="$PWD"
  conf="$repo/ci/etcd-e2e"
  known_file="$conf/known-failures.txt"
  work="$repo/target/etcd-e2e"
  bin_root="$work/bin"
  gosrc=/usr/share/gocode/src/go.etcd.io/etcd
  mkdir -p "$work"

  install_tools
  build_suite
  pick_certs
  if keel_ways; then build_keel; fi
  select_tests

  test_pid=""
  trap on_exit EXIT
  trap 'exit 130' INT TERM
  if port_busy 2379; then # etcd's default client URL, which TestEtcdUnixPeers keeps
    echo "warning: 127.0.0.1:2379 is in use; TestEtcdUnixPeers will fail" >&2
  fi

  declare -gA n_pass n_fail n_skip n_new n_notrun
  regressions=() fixed=() retried=()
  local way
  for way in "${way_list[@]}"; do run_way "$way"; done

  if [ "$update_known" = 1 ]; then update_known_list; fi
  if [ "$update_baseline" = 1 ]; then update_baseline_file; fi

  local keel_pass=0 keel_fail=0
  echo
  for way in "${way_list[@]}"; do
    echo "$way: ${n_pass[$way]} passed, ${n_fail[$way]} failed, ${n_skip[$way]} skipped$(
      [ "${n_notrun[$way]}" = 0 ] || echo ", ${n_notrun[$way]} known failures not run")"
    case "$way" in keel-*) keel_pass=$((keel_pass + n_pass[$way])); keel_fail=$((keel_fail + n_fail[$way])) ;; esac
  done
  if [ ${#fixed[@]} -gt 0 ]; then
    echo "listed in ci/etcd-e2e/known-failures.txt but passed now (trim the list: --update-known):"
    printf '  %s\n' "${fixed[@]}"
  fi
  if [ ${#retried[@]} -gt 0 ]; then
    echo "failed once and passed on the second try (first logs: target/etcd-e2e/logs/WAY/TEST.first.log):"
    printf '  %s\n' "${retried[@]}"
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    echo "failed and not listed in ci/etcd-e2e/known-failures.txt (logs: target/etcd-e2e/logs/WAY/TEST.log):"
    printf '  %s\n' "${regressions[@]}"
  fi
  if keel_ways; then echo "$keel_pass passed, $keel_fail failed"; fi
  [ ${#regressions[@]} -eq 0 ]
}

main "$@"; exit $?
