#!/usr/bin/env bash
# TLS against plain HTTP, for artifact-store's server and for nginx, in one
# run: server CPU per GB moved, as ratios. Uses a store, objects and nginx
# config kept by run.sh (AS_HTTP_KEEP=1); a quick one:
#
#   AS_HTTP_KEEP=1 AS_HTTP_REPS=1 AS_HTTP_DURATION=1 AS_HTTP_PERF=0 bash bench/http/run.sh
#   bash bench/http/tls.sh /tmp/as-http.XXXXXX [BIN]     # ~5 min
#
# Both servers get the same self-signed P-256 certificate (made here with
# `openssl req`) and each listens plain and TLS at once: artifact-store with
# `--listen http:// --listen https://`, nginx with a second `listen ... ssl`
# (TLS 1.2 and 1.3, its default ciphers). Server pinned to CPU 1, wrk (-t1,
# Debian's, OpenSSL) to CPU 0. Points: GET o4k, o1m, o64m and PUT o4k, o1m at
# 1 and 64 connections, PUT o64m at 1; each after a 1 s warm-up, AS_TLS_SECONDS
# (4) long; order ours, ours-tls, nginx, nginx-tls (reversed on odd
# points). Bytes: wrk's requests x the object's size (a 64 MiB PUT cut at the
# end is not counted). Server CPU: utime+stime of its processes (/proc).
# Whether our connections used kernel TLS is read from /metrics.
# Output: a table on stdout and in bench/out/http-tls-DATE.md.
set -euo pipefail
T=${1:?kept run.sh directory}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BIN=${2:-$root/build/bin/artifact-store}
S=${AS_TLS_SECONDS:-4}
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)
OUT="$root/bench/out/http-tls-$(date +%Y%m%d-%H%M%S).md"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PORT=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["get"]["o4k"])' "$T/urls.json" |
  sed 's#http://127.0.0.1:\([0-9]*\)/.*#\1#')
TPORT=$(free_port)
mkdir -p "$T/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" 2>/dev/null

taskset -c 1 "$BIN" -s "$T/store" serve --listen "127.0.0.1:$PORT" --listen "https://127.0.0.1:$TPORT" \
  --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem" --threads 64 --gc-interval 0 \
  >"$T/tls-serve.log" 2>&1 &
PID=$!
NGT=$(free_port)
sed "s#^\(\s*\)listen 127.0.0.1:\([0-9]*\);#\1listen 127.0.0.1:\2;\n\1listen 127.0.0.1:$NGT ssl;\n\1ssl_certificate $T/tls/cert.pem;\n\1ssl_certificate_key $T/tls/key.pem;\n\1ssl_protocols TLSv1.2 TLSv1.3;#" \
  "$T/ng/nginx.conf" >"$T/ng/nginx-tls.conf"
NGP=$(grep -o 'listen 127.0.0.1:[0-9]*;' "$T/ng/nginx.conf" | head -1 | grep -o '[0-9]*;' | tr -d ';')
taskset -c 1 nginx -c "$T/ng/nginx-tls.conf" -p "$T/ng" -g 'daemon off;' 2>"$T/ng/tls-stderr" &
NPID=$!
trap 'kill $PID $NPID 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$NGT/bench/o4k" && break; sleep 0.1; done
# Presigned URLs for the TLS port (a presigned URL signs its host:port).
AS_CA_BUNDLE="$T/tls/cert.pem" $PY "$here/s3setup.py" "https://127.0.0.1:$TPORT" "$T/key.json" "$T/obj" \
  o4k o1m o64m >"$T/urls-tls.json"
url() {  # server method obj
  local f=$T/urls.json m=get
  [[ $2 == PUT ]] && m=put
  case $1 in
    ours) $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$T/urls.json" "$m" "$3" ;;
    ours-tls) $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$T/urls-tls.json" "$m" "$3" ;;
    nginx) [[ $2 == GET ]] && echo "http://127.0.0.1:$NGP/bench/$3" || echo "http://127.0.0.1:$NGP/put/$3" ;;
    nginx-tls) [[ $2 == GET ]] && echo "https://127.0.0.1:$NGT/bench/$3" || echo "https://127.0.0.1:$NGT/put/$3" ;;
  esac
}
pids_of() {
  if [[ $1 == ours* ]]; then echo "$PID"; else cat /proc/"$NPID"/task/*/children; fi
}
ticks() { local s=0 p; for p in "$@"; do s=$((s + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}'))); done; echo $s; }
size_of() { stat -c %s "$T/obj/$1"; }

# point SERVER METHOD OBJ CONNS: "GB moved, server CPU-s, MB/s"
point() {
  local u pids script=() c0 c1 reqs
  u=$(url "$1" "$2" "$3")
  pids=$(pids_of "$1")
  if [[ $2 == PUT ]]; then
    script=(-s "$here/put.lua")
    export AS_BODY="$T/obj/$3" AS_UNIQUE=0 AS_SEED=$((RANDOM * 1000000000))
    (($(size_of "$3") <= 1048576)) && AS_UNIQUE=1
  fi
  taskset -c 0 wrk -t1 -c"$4" -d1s --timeout 60s "${script[@]}" "$u" >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  c0=$(ticks $pids)
  taskset -c 0 wrk -t1 -c"$4" -d"${S}s" --timeout 60s "${script[@]}" "$u" >"$T/tls-wrk.txt" 2>&1 || true
  # shellcheck disable=SC2086
  c1=$(ticks $pids)
  grep -qE 'Non-2xx|Socket errors: connect [1-9]' "$T/tls-wrk.txt" &&
    echo "tls.sh: $1 $2 $3 c$4: $(grep -E 'Non-2xx|Socket errors' "$T/tls-wrk.txt" | tr '\n' ' ')" >&2
  reqs=$(awk '/requests in/ {print $1}' "$T/tls-wrk.txt")
  awk -v r="$reqs" -v sz="$(size_of "$3")" -v c="$((c1 - c0))" -v hz="$HZ" -v s="$S" \
    'BEGIN { gb = r * sz / 1e9; printf "%.4f %.3f %.0f\n", gb, c / hz, gb * 1000 / s }'
}

{
  echo "# TLS against plain HTTP, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`bash bench/http/tls.sh $T $BIN\` (AS_TLS_SECONDS=$S); commit $(git -C "$root" rev-parse --short HEAD)."
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; kernel $(uname -r); $(openssl version)."
  echo "Server on CPU 1, wrk on CPU 0. CPU-s/GB: server CPU seconds per GB moved (lower is better)."
  echo
  echo "| op | conns | ours MB/s | ours-tls MB/s | ours CPU-s/GB | ours-tls CPU-s/GB | TLS cost (ours) | nginx CPU-s/GB | nginx-tls CPU-s/GB | TLS cost (nginx) | ours-tls / nginx-tls CPU per GB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$OUT"
i=0
for spec in "GET o4k 1" "GET o4k 64" "GET o1m 1" "GET o1m 64" "GET o64m 1" "GET o64m 64" \
            "PUT o4k 1" "PUT o4k 64" "PUT o1m 1" "PUT o1m 64" "PUT o64m 1"; do
  set -- $spec
  declare -A R=()
  order="ours ours-tls nginx nginx-tls"
  ((i++ % 2)) && order="nginx-tls nginx ours-tls ours"
  for s in $order; do R[$s]=$(point "$s" "$1" "$2" "$3"); done
  $PY - "$1 $2" "$3" "${R[ours]}" "${R[ours-tls]}" "${R[nginx]}" "${R[nginx-tls]}" <<'PY' | tee -a "$OUT"
import sys
op, conns = sys.argv[1], sys.argv[2]
vals = [tuple(float(x) for x in a.split()) for a in sys.argv[3:7]]
def cpg(v): return v[1] / v[0] if v[0] > 0 else float("nan")
o, ot, n, nt = (cpg(v) for v in vals)
print(f"| {op} | {conns} | {vals[0][2]:.0f} | {vals[1][2]:.0f} | {o:.3f} | {ot:.3f} | {ot / o:.2f}x | "
      f"{n:.3f} | {nt:.3f} | {nt / n:.2f}x | {ot / nt:.2f} |")
PY
done
echo | tee -a "$OUT"
echo "Our TLS connections: $(curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^as_tls_connections' | tr '\n' ' ')" | tee -a "$OUT"
echo "tls.sh: wrote $OUT" >&2
