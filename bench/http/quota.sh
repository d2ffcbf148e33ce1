#!/usr/bin/env bash
# Throughput at an equal CPU allowance: the S3 server and nginx each get the
# same CPU quota (a cpu cgroup, period 100 ms), so the server, not wrk, is
# the bottleneck, and their MB/s compare "throughput per core" directly.
# Uses a store and nginx config kept by run.sh (AS_HTTP_KEEP=1); needs root
# and the cgroup v1 cpu controller or cgroup v2 with cpu.max.
#
#   bash bench/http/quota.sh /tmp/as-http.XXXXXX BIN [QUOTAS] [OBJECT] [CONNS]
#   QUOTAS: shares of one core in percent, default "10 20"; OBJECT o64m; CONNS 64
#
# Prints, per quota and repetition (2), each server's MB/s (wrk Transfer/sec,
# 5 s after a 2 s warm-up) and its process CPU-seconds.
set -euo pipefail
T=${1:?kept run.sh directory}
BIN=${2:?artifact-store binary}
QUOTAS=${3:-10 20}
OBJ=${4:-o64m}
CONNS=${5:-64}
PY=/usr/bin/python3
URL=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["get"][sys.argv[2]])' "$T/urls.json" "$OBJ")
PORT=$(sed 's#http://127.0.0.1:\([0-9]*\)/.*#\1#' <<<"$URL")
NGPORT=$(grep -o 'listen 127.0.0.1:[0-9]*' "$T/ng/nginx.conf" | cut -d: -f2)
NGURL="http://127.0.0.1:$NGPORT/bench/$OBJ"

if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
  CG=/sys/fs/cgroup/cpu/as-bench-quota
  mkdir -p "$CG"
  set_quota() { echo 100000 >"$CG/cpu.cfs_period_us"; echo "$(($1 * 1000))" >"$CG/cpu.cfs_quota_us"; }
  join() { for t in /proc/"$1"/task/*; do echo "${t##*/}" >"$CG/tasks"; done; }
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  CG=/sys/fs/cgroup/as-bench-quota
  echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  mkdir -p "$CG"
  set_quota() { echo "$(($1 * 1000)) 100000" >"$CG/cpu.max"; }
  join() { echo "$1" >"$CG/cgroup.procs"; }
else
  echo "quota.sh: no cpu cgroup controller here" >&2
  exit 1
fi

taskset -c 1 "$BIN" -s "$T/store" serve --listen "127.0.0.1:$PORT" --threads 64 \
  --gc-interval 0 >"$T/quota-serve.log" 2>&1 &
PID=$!
taskset -c 1 nginx -c "$T/ng/nginx.conf" -g 'daemon off;' 2>"$T/quota-nginx.log" &
NPID=$!
trap 'kill $PID $NPID 2>/dev/null; wait 2>/dev/null; rmdir "$CG" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
for _ in $(seq 50); do NW=$(pgrep -P $NPID nginx | head -1) && [ -n "$NW" ] && break; sleep 0.1; done
join "$PID"
join "$NW"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "| quota (% of a core) | server | MB/s | server CPU-s |"
echo "|---|---|---|---|"
for q in $QUOTAS; do
  set_quota "$q"
  for _ in 1 2; do
    for who in ours nginx; do
      if [ $who = ours ]; then u=$URL p=$PID; else u=$NGURL p=$NW; fi
      taskset -c 0 wrk -t1 -c"$CONNS" -d2s --timeout 60s "$u" >/dev/null 2>&1
      c0=$(cpu_ticks "$p")
      taskset -c 0 wrk -t1 -c"$CONNS" -d5s --timeout 60s "$u" >"$T/quota-wrk.txt" 2>&1
      c1=$(cpu_ticks "$p")
      rate=$(awk '/Transfer\/sec/ {print $2}' "$T/quota-wrk.txt")
      mbs=$($PY -c 'import sys; r=sys.argv[1]; u={"GB":1<<30,"MB":1<<20,"KB":1<<10}[r[-2:]]; print(f"{float(r[:-2])*u/1e6:,.0f}")' "$rate")
      echo "| $q | $who | $mbs | $(awk -v t=$((c1 - c0)) 'BEGIN {printf "%.2f", t / 100}') |"
    done
  done
done
