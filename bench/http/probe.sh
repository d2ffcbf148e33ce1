#!/usr/bin/env bash
# One A/B point against a store kept by run.sh (AS_HTTP_KEEP=1): serves the
# kept store with BIN on CPU 1, warms up, then runs wrk -c CONNS for 5 s on
# CPU 0 against the kept presigned GET URL of OBJECT, and prints the client's
# MB/s, the server's CPU busy share (from /proc/PID/stat) and MB per server
# CPU-second. Alternate two binaries (or EXTRA_ENV settings) run after run.
#
#   bash bench/http/probe.sh /tmp/as-http.XXXXXX BIN [LABEL] [OBJECT] [CONNS]
#   EXTRA_ENV="NAME=value" bash bench/http/probe.sh ...   # environment for the server
set -euo pipefail
T=${1:?kept run.sh directory}
BIN=${2:?artifact-store binary}
LABEL=${3:-$(basename "$BIN")}
OBJ=${4:-o64m}
CONNS=${5:-64}
PY=/usr/bin/python3
URL=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["get"][sys.argv[2]])' "$T/urls.json" "$OBJ")
PORT=$(sed 's#http://127.0.0.1:\([0-9]*\)/.*#\1#' <<<"$URL")
# shellcheck disable=SC2086  # EXTRA_ENV: NAME=value words
taskset -c 1 env ${EXTRA_ENV:-} "$BIN" -s "$T/store" serve --listen "127.0.0.1:$PORT" --threads 64 \
  --gc-interval 0 >"$T/probe-serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
taskset -c 0 wrk -t1 -c"$CONNS" -d2s --timeout 60s "$URL" >/dev/null 2>&1  # warm-up
c0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
taskset -c 0 wrk -t1 -c"$CONNS" -d5s --timeout 60s "$URL" >"$T/probe-wrk.txt" 2>&1
c1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
$PY - "$LABEL" "$((c1 - c0))" "$(awk '/Transfer\/sec/ {print $2}' "$T/probe-wrk.txt")" <<'PY'
import sys
label, ticks, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3]
unit = {"GB": 1 << 30, "MB": 1 << 20, "KB": 1 << 10}[rate[-2:]]
bps = float(rate[:-2]) * unit
cpu = ticks / 100 / 5  # share of one CPU over the 5 s
print(f"{label}: {bps / 1e6:.0f} MB/s, server CPU busy {cpu:.2f}, "
      f"{bps / 1e6 / cpu if cpu else 0:.0f} MB per server CPU-s")
PY
