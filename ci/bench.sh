#!/usr/bin/env bash
# Keel beside etcd 3.4 on this machine, same workloads, one run.
# Three members of each on 127.0.0.1 (etcd 3.4.23 from Debian; its load
# generator is ci/etcd-bench (Go, clientv3), ours is keel-bench, both the
# same shapes). Three runs: etcd with etcd-bench, Keel with keel-bench
# (Keel's protocol), Keel with etcd-bench (etcd's gRPC API).
# Workloads: put, range (l and s), watch (saturating and at 500 puts/s),
# lease-keepalive (100 clients and 1).
# Prints throughput and latency per workload and each member's RSS.
#   ci/bench.sh            full run (~2.5 minutes on the 2-vCPU VM, builds aside)
#   TOTAL=20000 ci/bench.sh   shorter run
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL="${TOTAL:-100000}"
work="target/bench"
rm -rf "$work"; mkdir -p "$work"

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || need+=(golang-etcd-server-dev)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >"$work/apt.log" 2>&1
fi

cargo build --release --locked --bin keel --bin keel-bench >&2
mkdir -p "$work/go/src/etcdbench"
cp ci/etcd-bench/main.go "$work/go/src/etcdbench/"
(cd "$work/go/src/etcdbench" && GO111MODULE=off GOPATH="$PWD/../..:/usr/share/gocode" \
   GOCACHE="$PWD/../../cache" go build -o ../../../etcd-bench .)

pids=()
cleanup() { for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

rss() { for pid in "$@"; do awk '/VmRSS/ {printf "%d MB ", $2/1024}' "/proc/$pid/status"; done; }

workloads() { # $1: load generator, $2: endpoints
  local gen="$1" eps="$2"
  echo "put (100 clients, 10 conns)"
  "$gen" --endpoints "$eps" --clients 100 --conns 10 put --total "$TOTAL" --key-size 8 --val-size 256 --key-space 10000 | grep -E "Requests/sec|50%|99%"
  echo "range linearizable (100 clients, 10 conns)"
  "$gen" --endpoints "$eps" --clients 100 --conns 10 range 00000042 --consistency l --total "$TOTAL" | grep -E "Requests/sec|50%|99%"
  echo "range serializable (100 clients, 10 conns)"
  "$gen" --endpoints "$eps" --clients 100 --conns 10 range 00000042 --consistency s --total "$TOTAL" | grep -E "Requests/sec|50%|99%"
  echo "put (1 client)"
  "$gen" --endpoints "$eps" --clients 1 --conns 1 put --total $((TOTAL / 20)) --key-size 8 --val-size 256 --key-space 10000 | grep -E "Requests/sec|50%|99%"
  # watch: Requests/sec is events delivered per second (all watchers); the
  # latency is put sent -> event received; "Events:" has the exactly-once
  # check (the generator exits 1 if any event was missing or duplicated).
  local watch=(watch --watchers 100 --key-size 8 --val-size 256 --key-space 1000)
  echo "watch, puts as fast as they go (100 watchers, 10 putters, 10 conns)"
  "$gen" --endpoints "$eps" --clients 10 --conns 10 "${watch[@]}" --put-total $((TOTAL / 10)) | grep -E "Puts:|Events:|Requests/sec|slowest|50%|90%|99%"
  echo "watch, 500 puts/s (100 watchers, 10 putters, 10 conns)"
  "$gen" --endpoints "$eps" --clients 10 --conns 10 "${watch[@]}" --put-total $((TOTAL / 100)) --put-rate 500 | grep -E "Puts:|Events:|Requests/sec|slowest|50%|90%|99%"
  echo "lease-keepalive (100 clients, 10 conns)"
  "$gen" --endpoints "$eps" --clients 100 --conns 10 lease-keepalive --total "$TOTAL" | grep -E "Requests/sec|slowest|50%|90%|99%"
  echo "lease-keepalive (1 client)"
  "$gen" --endpoints "$eps" --clients 1 --conns 1 lease-keepalive --total $((TOTAL / 20)) | grep -E "Requests/sec|slowest|50%|90%|99%"
}

echo "== etcd $(etcd --version | head -1 | awk '{print $3}')"
cluster="e1=http://127.0.0.1:42380,e2=http://127.0.0.1:42382,e3=http://127.0.0.1:42384"
epids=()
for i in 1 2 3; do
  c=$((42377 + 2 * i)); p=$((42378 + 2 * i))
  etcd --name "e$i" --data-dir "$work/e$i.etcd" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "$cluster" --initial-cluster-state new >"$work/e$i.log" 2>&1 &
  pids+=($!); epids+=($!)
done
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:42379/health >/dev/null && break; sleep 0.2; done
workloads "$work/etcd-bench" "127.0.0.1:42379,127.0.0.1:42381,127.0.0.1:42383"
echo "RSS: $(rss "${epids[@]}")"
for pid in "${epids[@]}"; do kill "$pid"; done

echo "== keel $(target/release/keel --version | head -1 | awk '{print $3}')"
ci/cluster.sh clean "$work/keel" >/dev/null 2>&1 || true
ci/cluster.sh start "$work/keel" >/dev/null
keel_endpoints="127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379"
workloads target/release/keel-bench "$keel_endpoints"
echo "RSS: $(rss $(cat "$work"/keel/*.pid))"
ci/cluster.sh stop "$work/keel" >/dev/null

# The same Go load generator that measured etcd (clientv3 over gRPC), now
# against a fresh Keel cluster: what etcd's clients get from Keel.
echo "== keel $(target/release/keel --version | head -1 | awk '{print $3}') through clientv3/gRPC (ci/etcd-bench)"
ci/cluster.sh clean "$work/keel" >/dev/null 2>&1 || true
ci/cluster.sh start "$work/keel" >/dev/null
workloads "$work/etcd-bench" "$keel_endpoints"
echo "RSS: $(rss $(cat "$work"/keel/*.pid))"
ci/cluster.sh stop "$work/keel" >/dev/null
