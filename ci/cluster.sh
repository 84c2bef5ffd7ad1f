#!/usr/bin/env bash
# A local three-member Keel cluster on 127.0.0.1.
#   ci/cluster.sh start [ROOT]   build keel and keelctl (release), start m1 m2 m3
#   ci/cluster.sh stop [ROOT]    stop them (by PID), keep their data
#   ci/cluster.sh clean [ROOT]   stop them and remove ROOT
# Clients: 127.0.0.1:2379, 127.0.0.1:22379, 127.0.0.1:32379
# Peers:   127.0.0.1:2380, 127.0.0.1:22380, 127.0.0.1:32380
# ROOT defaults to target/cluster; logs and PID files live there.
# KEEL_EXTRA_FLAGS adds flags to every member (e.g. "--snapshot-count 1000").
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-}"
root="${2:-target/cluster}"
names=(m1 m2 m3)
client_ports=(2379 22379 32379)
peer_ports=(2380 22380 32380)
cluster="m1=http://127.0.0.1:2380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380"

stop() {
  for name in "${names[@]}"; do
    pidfile="$root/$name.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
    echo "stopped $name (pid $pid)"
  done
}

case "$cmd" in
  start)
    cargo build --release --locked --bin keel --bin keelctl >&2
    mkdir -p "$root"
    for i in 0 1 2; do
      name="${names[$i]}"
      if [ -f "$root/$name.pid" ] && kill -0 "$(cat "$root/$name.pid")" 2>/dev/null; then
        echo "$name already running (pid $(cat "$root/$name.pid"))"; continue
      fi
      target/release/keel --name "$name" --data-dir "$root/$name.keel" \
        --listen-client-urls "http://127.0.0.1:${client_ports[$i]}" \
        --advertise-client-urls "http://127.0.0.1:${client_ports[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
        --initial-cluster "$cluster" --initial-cluster-state new ${KEEL_EXTRA_FLAGS:-} \
        >"$root/$name.log" 2>&1 &
      echo $! >"$root/$name.pid"
      echo "started $name (pid $!) client 127.0.0.1:${client_ports[$i]}"
    done
    endpoints="127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379"
    for _ in $(seq 1 100); do
      if target/release/keelctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
        target/release/keelctl --endpoints "$endpoints" -w table endpoint status
        echo "cluster is healthy; try: target/release/keelctl --endpoints $endpoints member list"
        exit 0
      fi
      sleep 0.1
    done
    echo "cluster did not become healthy; see $root/*.log" >&2; exit 1
    ;;
  stop) stop ;;
  clean) stop; rm -rf "$root" ;;
  *) echo "usage: ci/cluster.sh start|stop|clean [ROOT]" >&2; exit 2 ;;
esac
