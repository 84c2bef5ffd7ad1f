#!/usr/bin/env bash
# Defragmentation beside etcd: load MIB MiB of 64 KiB values into one member
# (random 16-digit keys), delete the nine tenths of the key space below
# 0.9 x its size, compact physically, then time `etcdctl defrag` while 10
# clients put small values, and show the file size before and after and the
# small puts' latency alone and during the defrag. One member on
# 127.0.0.1:32379, stopped by PID. Builds a release keel and the etcd-bench
# load generator (ci/etcd-bench); installs etcd 3.4 and Go when missing.
# usage: ci/measure-defrag.sh keel|etcd [MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:?keel or etcd}; mib=${2:-1024}
work=$root/target/measure-defrag; D=$work/$which
rm -rf "$D"; mkdir -p "$D"
command -v etcd >/dev/null && command -v go >/dev/null && [ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client golang-go golang-etcd-server-dev >"$work/apt.log" 2>&1
cargo build --release --locked --bin keel >&2
if [ ! -x "$work/etcd-bench" ]; then
  mkdir -p "$work/go/src/etcdbench"; cp ci/etcd-bench/main.go "$work/go/src/etcdbench/"
  (cd "$work/go/src/etcdbench" && GO111MODULE=off GOPATH="$PWD/../..:/usr/share/gocode" \
     GOCACHE="$PWD/../../cache" go build -o ../../../etcd-bench .)
fi
if [ "$which" = keel ]; then BIN=$root/target/release/keel; else BIN=/usr/bin/etcd; fi
"$BIN" --name m --data-dir "$D/data" --quota-backend-bytes $((8 << 30)) \
  --listen-client-urls http://127.0.0.1:32379 --advertise-client-urls http://127.0.0.1:32379 \
  --listen-peer-urls http://127.0.0.1:32380 --initial-advertise-peer-urls http://127.0.0.1:32380 \
  --initial-cluster m=http://127.0.0.1:32380 >"$D/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:32379/health >/dev/null && break; sleep 0.2; done
EP=127.0.0.1:32379
E="env ETCDCTL_API=3 etcdctl --endpoints $EP --command-timeout 600s"
now() { date +%s.%N; }
secs() { python3 -c "print(round($2-$1,2))"; }
n=$((mib * 16)); space=$((n * 100))
key() { printf '%016d' "$1"; }
echo "== $which: loading $n values of 64 KiB ($mib MiB)"
s=$(now)
"$work/etcd-bench" --endpoints $EP --clients 16 --conns 4 put --total $n --key-size 16 --val-size 65536 --key-space $space | grep -E "Requests/sec"
echo "load took $(secs "$s" "$(now)") s"
echo "== deleting the keys below $(key $((space * 9 / 10))), compacting"
$E del "$(key 0)" "$(key $((space * 9 / 10)))"
echo "keys left: $($E get "$(key 0)" "$(key $space)" --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))')"
rev=$($E endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
$E compaction --physical "$rev"
echo "before: $($E endpoint status -w table | grep 127)"
small=(--endpoints $EP --clients 10 --conns 2 put --total 3000 --key-size 8 --val-size 256 --key-space 1000)
echo "== small puts alone"
"$work/etcd-bench" "${small[@]}" | grep -E "Requests/sec|50%|99%|Slowest"
echo "== defrag, small puts meanwhile"
"$work/etcd-bench" "${small[@]}" >"$D/during" &
bench=$!
sleep 0.5
s=$(now); $E defrag; e=$(now)
wait $bench
grep -E "Requests/sec|50%|99%|Slowest" "$D/during"
echo "$which defrag took $(secs "$s" "$e") s"
echo "after: $($E endpoint status -w table | grep 127)"
du -sm "$D/data"
