#!/usr/bin/env bash
# Backup and restore beside etcd: load MIB MiB of 64 KiB values into one
# member, then time `snapshot save` (etcdctl's for both systems: it saves
# Keel's backups too), `snapshot status` and `snapshot restore` (keelctl's
# for Keel, etcdctl's for etcd), and measure the latency of small puts
# (10 clients) alone and while the save runs. One member on
# 127.0.0.1:33379, stopped by PID. Builds a release keel, keelctl and the
# etcd-bench load generator (ci/etcd-bench); installs etcd 3.4 and Go when
# missing.
# usage: ci/measure-backup.sh keel|etcd [MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:?keel or etcd}; mib=${2:-1024}
work=$root/target/measure-backup; D=$work/$which
rm -rf "$D"; mkdir -p "$D"
command -v etcd >/dev/null && command -v go >/dev/null && [ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client golang-go golang-etcd-server-dev >"$work/apt.log" 2>&1
cargo build --release --locked --bin keel --bin keelctl >&2
if [ ! -x "$work/etcd-bench" ]; then
  mkdir -p "$work/go/src/etcdbench"; cp ci/etcd-bench/main.go "$work/go/src/etcdbench/"
  (cd "$work/go/src/etcdbench" && GO111MODULE=off GOPATH="$PWD/../..:/usr/share/gocode" \
     GOCACHE="$PWD/../../cache" go build -o ../../../etcd-bench .)
fi
if [ "$which" = keel ]; then BIN=$root/target/release/keel; else BIN=/usr/bin/etcd; fi
"$BIN" --name m --data-dir "$D/data" --quota-backend-bytes $((8 << 30)) \
  --listen-client-urls http://127.0.0.1:33379 --advertise-client-urls http://127.0.0.1:33379 \
  --listen-peer-urls http://127.0.0.1:33380 --initial-advertise-peer-urls http://127.0.0.1:33380 \
  --initial-cluster m=http://127.0.0.1:33380 >"$D/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:33379/health >/dev/null && break; sleep 0.2; done
EP=127.0.0.1:33379
E="env ETCDCTL_API=3 etcdctl --endpoints $EP"
now() { date +%s.%N; }
secs() { python3 -c "print(round($2-$1,2))"; }
n=$((mib * 16))
echo "== $which: loading $n values of 64 KiB ($mib MiB)"
s=$(now)
"$work/etcd-bench" --endpoints $EP --clients 16 --conns 4 put --total $n --key-size 16 --val-size 65536 --key-space $((n * 100)) | grep -E "Requests/sec"
echo "load took $(secs "$s" "$(now)") s; $($E endpoint status -w table | grep 127)"
small=(--endpoints $EP --clients 10 --conns 2 put --total 3000 --key-size 8 --val-size 256 --key-space 1000)
echo "== small puts alone"
"$work/etcd-bench" "${small[@]}" | grep -E "Requests/sec|50%|99%|Slowest"
echo "== snapshot save, small puts meanwhile"
"$work/etcd-bench" "${small[@]}" >"$D/during" &
bench=$!
s=$(now); $E snapshot save "$D/backup.db" 2>/dev/null; e=$(now)
wait $bench
grep -E "Requests/sec|50%|99%|Slowest" "$D/during"
echo "save took $(secs "$s" "$e") s, $(du -m "$D/backup.db" | cut -f1) MB"
if [ "$which" = keel ]; then CTL=$root/target/release/keelctl; else CTL="env ETCDCTL_API=3 etcdctl"; fi
s=$(now); $CTL -w table snapshot status "$D/backup.db"; echo "status took $(secs "$s" "$(now)") s"
s=$(now); $CTL snapshot restore "$D/backup.db" --data-dir "$D/restored" --name m \
  --initial-cluster m=http://127.0.0.1:33380 --initial-advertise-peer-urls http://127.0.0.1:33380 2>/dev/null
echo "restore took $(secs "$s" "$(now)") s, $(du -sm "$D/restored" | cut -f1) MB"
