#!/usr/bin/env bash
# Defragmentation beside etcd: put NKEYS keys of 64 KiB (one in ten under
# b/, the rest under a/), delete a/, compact physically, time `defrag` and
# show the file size before and after. One member on 127.0.0.1:32379,
# stopped by PID. Needs a release keel (cargo build --release) and etcd 3.4
# (ci/install-etcd.sh).
# usage: ci/measure-defrag.sh keel|etcd NKEYS
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:?keel or etcd}; n=${2:-3000}
D=$root/target/measure-defrag/$which; rm -rf $D; mkdir -p $D; cd $D
if [ $which = keel ]; then BIN=$root/target/release/keel; else BIN=/usr/bin/etcd; fi
$BIN --name m --data-dir $D/data --listen-client-urls http://127.0.0.1:32379 --advertise-client-urls http://127.0.0.1:32379 --listen-peer-urls http://127.0.0.1:32380 --initial-advertise-peer-urls http://127.0.0.1:32380 --initial-cluster m=http://127.0.0.1:32380 > log 2>&1 &
PID=$!
sleep 3
E="env ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:32379 --command-timeout 600s"
python3 - "$n" <<'PY'
import subprocess, sys
n=int(sys.argv[1]); v='x'*65536
for i in range(n):
    key = ('b/%05d' if i % 10 == 0 else 'a/%05d') % i
    subprocess.run(['etcdctl','--endpoints','127.0.0.1:32379','put',key,v], env={'ETCDCTL_API':'3','PATH':'/usr/bin:/bin'}, stdout=subprocess.DEVNULL, check=True)
PY
$E del a/ --prefix
rev=$($E endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
$E compaction --physical $rev
$E endpoint status -w table | grep 127
s=$(date +%s.%N); $E defrag; e=$(date +%s.%N)
echo "$which defrag took $(python3 -c "print(round($e-$s,3))") s"
$E endpoint status -w table | grep 127
$E get b/00010 --print-value-only | wc -c
kill $PID; wait $PID 2>/dev/null
du -sh $D/data
