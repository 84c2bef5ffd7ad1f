#!/usr/bin/env bash
# Installs etcd 3.4 from Debian when it is missing: etcd-server (etcd),
# etcd-client (etcdctl), golang-go and golang-etcd-server-dev (etcd's Go
# sources with its tests/e2e suite). The conformance tests compare Keel with
# these; they only run where they are installed, so CI installs them here.
set -euo pipefail
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/tests/e2e ] || need+=(golang-etcd-server-dev)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -eq 0 ]; then
  echo "etcd $(etcd --version | sed -n 's/^etcd Version: //p'), etcdctl and etcd's sources are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "install-etcd.sh: need root (or sudo) to apt-get install ${need[*]}" >&2
  exit 2
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "apt-get install ${need[*]}"
log=$(mktemp)
if ! { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${need[@]}"; } >"$log" 2>&1; then
  tail -20 "$log" >&2
  echo "install-etcd.sh: apt-get install failed (full log: $log)" >&2
  exit 2
fi
rm -f "$log"
etcd --version | head -1
