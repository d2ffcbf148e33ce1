#!/usr/bin/env bash
# HTTP benchmark: artifact-store's S3 server against nginx serving the same bytes from
# plain files, in the same run, with wrk (Debian's). Builds nothing.
#
#   bash bench/http/run.sh [BINDIR]      # BINDIR defaults to build/bin; ~7 min
#
# What it does:
#  - objects (in a temp dir): o4k, o1m, o64m = random bytes (/dev/urandom); t64m = 64 MiB
#    of text (the C headers of /usr/include, sorted, concatenated, cut at 64 MiB;
#    zstd -1 compresses it ~4x), so one large GET also pays for decompression.
#  - artifact-store: init, tenant add, serve (--threads AS_HTTP_THREADS, pinned with
#    taskset to AS_HTTP_SERVER_CPUS); the objects are uploaded with boto3 (s3setup.py,
#    Debian's /usr/bin/python3) as single PUTs and read back; wrk then uses presigned
#    URLs (GET: the objects; PUT: keys put-NAME), so every request is SigV4-checked.
#  - nginx (nginx-light/Debian): own config in the temp dir, `daemon off`,
#    worker_processes = number of server CPUs, same taskset, access_log off, sendfile on,
#    keepalive_requests 1000000; GET from files with the same bytes, PUT through the dav
#    module (dav_methods PUT: body to a temp file, then rename; no fsync).
#  - wrk -t1 -c{1,64} -d AS_HTTP_DURATION --timeout 60s --latency, pinned to
#    AS_HTTP_CLIENT_CPUS, for GET of each object and PUT of o4k, o1m, o64m (put.lua; 4 KiB
#    and 1 MiB bodies carry a per-request counter in their first 16 bytes so none repeats;
#    64 MiB bodies are the same bytes each time). Each point: ours then nginx (nginx first
#    on even repetitions), AS_HTTP_REPS repetitions; the tables show medians.
#  - Server CPU time per point (utime+stime of the server's processes, /proc), to give
#    per-CPU-second figures on a shared machine; for PUT, the body bytes the server consumed
#    (ss -ti: bytes_received - Recv-Q of its connections), since 64 MiB PUTs mostly do not
#    complete within a run.
#  - AS_HTTP_PERF=1 (default): perf record -g -e cpu-clock of the server during an extra
#    GET o4k -c64 run and an extra GET o64m -c1 run; top symbols in the report.
#
# Environment: AS_HTTP_DURATION (s, default 4), AS_HTTP_REPS (3), AS_HTTP_SERVER_CPUS (1),
# AS_HTTP_CLIENT_CPUS (0), AS_HTTP_THREADS (64), AS_HTTP_PERF (1), AS_HTTP_SIZES (GET
# objects, default "o4k o1m o64m t64m"), AS_HTTP_PUT_SIZES ("o4k o1m o64m"; "" = no PUT),
# AS_HTTP_CONNS ("1 64"), AS_HTTP_OUT (report path; default bench/out/http-DATE.md),
# AS_HTTP_KEEP=1 keeps the temp dir.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bindir="$(cd "${1:-$root/build/bin}" && pwd)"
D="${AS_HTTP_DURATION:-4}"
REPS="${AS_HTTP_REPS:-3}"
SCPU="${AS_HTTP_SERVER_CPUS:-1}"
CCPU="${AS_HTTP_CLIENT_CPUS:-0}"
THREADS="${AS_HTTP_THREADS:-64}"
PERF="${AS_HTTP_PERF:-1}"
GETS="${AS_HTTP_SIZES-o4k o1m o64m t64m}"
PUTS="${AS_HTTP_PUT_SIZES-o4k o1m o64m}"
CONNS="${AS_HTTP_CONNS:-1 64}"
PY=/usr/bin/python3
stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/bench/out"
OUT="${AS_HTTP_OUT:-$root/bench/out/http-$stamp.md}"
ncpu_server=$(awk -F, '{print NF}' <<<"$SCPU")
[[ "$SCPU" == *-* ]] && ncpu_server=$(( ${SCPU#*-} - ${SCPU%-*} + 1 ))

for t in wrk nginx taskset curl; do command -v "$t" >/dev/null || { echo "run.sh: $t missing" >&2; exit 1; }; done
$PY -c 'import boto3' || { echo "run.sh: $PY has no boto3 (apt install python3-boto3)" >&2; exit 1; }

T="$(mktemp -d /tmp/as-http.XXXXXX)"
AS_PID="" NG_PID=""
cleanup() {
  [[ -n "$AS_PID" ]] && kill "$AS_PID" 2>/dev/null && wait "$AS_PID" 2>/dev/null || true
  [[ -n "$NG_PID" ]] && kill "$NG_PID" 2>/dev/null && wait "$NG_PID" 2>/dev/null || true
  if [[ -z "${AS_HTTP_KEEP:-}" ]]; then rm -rf "$T"; else echo "run.sh: kept $T" >&2; fi
}
trap cleanup EXIT
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# A private copy of the binary: a rebuild of build/ mid-run cannot swap it.
cp "$bindir/artifact-store" "$T/artifact-store"
BIN="$T/artifact-store"
commit="$(git -C "$root" rev-parse --short HEAD)"
dirty="$(git -C "$root" status --porcelain -- src CMakeLists.txt | wc -l)"
built="$(date -u -r "$bindir/artifact-store" '+%Y-%m-%d %H:%M UTC')"
binsum="$(sha256sum "$BIN" | cut -c1-16)"
btype="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$bindir/../CMakeCache.txt" 2>/dev/null || true)"
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)

# --- objects -------------------------------------------------------------------------
log "objects"
mkdir -p "$T/obj"
head -c 4096 /dev/urandom >"$T/obj/o4k"
head -c 1048576 /dev/urandom >"$T/obj/o1m"
head -c 67108864 /dev/urandom >"$T/obj/o64m"
find /usr/include -type f -name '*.h' -print0 | LC_ALL=C sort -z | xargs -0 cat 2>/dev/null | head -c 67108864 >"$T/obj/t64m" || true
[[ $(stat -c %s "$T/obj/t64m") == 67108864 ]] || { echo "run.sh: /usr/include has < 64 MiB of headers" >&2; exit 1; }
t64m_zstd=$(zstd -1 -c "$T/obj/t64m" 2>/dev/null | wc -c || echo 0)
size_of() { stat -c %s "$T/obj/$1"; }

# --- artifact-store ----------------------------------------------------------------------
log "artifact-store serve"
"$BIN" -s "$T/store" init >/dev/null
"$BIN" -s "$T/store" tenant add bench --json >"$T/key.json"
taskset -c "$SCPU" "$BIN" -s "$T/store" serve --listen 127.0.0.1:0 --ready-file "$T/ready" \
  --threads "$THREADS" --gc-interval 0 >"$T/serve.log" 2>&1 &
AS_PID=$!
for _ in $(seq 100); do [[ -s "$T/ready" ]] && break; sleep 0.1; done
[[ -s "$T/ready" ]] || { cat "$T/serve.log" >&2; echo "run.sh: server did not start" >&2; exit 1; }
AS_URL="$(cat "$T/ready")"
log "upload (boto3) to $AS_URL"
names="$(echo $GETS $PUTS | tr ' ' '\n' | sort -u | tr '\n' ' ')"
$PY "$here/s3setup.py" "$AS_URL" "$T/key.json" "$T/obj" $names >"$T/urls.json"
declare -A URLS
while read -r k v; do URLS[$k]=$v; done < <($PY -c '
import json, sys
for kind, d in json.load(open(sys.argv[1])).items():
    for n, u in d.items(): print(kind + "/" + n, u)' "$T/urls.json")
url() { echo "${URLS[$1/$2]}"; }
AS_PORT="${AS_URL##*:}"

# --- nginx -------------------------------------------------------------------------------
NG_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/ng/www/bench" "$T/ng/www/put" "$T/ng/tmp"
for n in $names; do ln "$T/obj/$n" "$T/ng/www/bench/$n"; done
user_line=""; [[ $(id -u) == 0 ]] && user_line="user root;"
cat >"$T/ng/nginx.conf" <<EOF
$user_line
worker_processes $ncpu_server;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path $T/ng/tmp/body;
  proxy_temp_path $T/ng/tmp/proxy;
  fastcgi_temp_path $T/ng/tmp/fastcgi;
  uwsgi_temp_path $T/ng/tmp/uwsgi;
  scgi_temp_path $T/ng/tmp/scgi;
  server {
    listen 127.0.0.1:$NG_PORT;
    root $T/ng/www;
    location /put/ {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
      client_body_buffer_size 1m;
    }
  }
}
EOF
log "nginx on 127.0.0.1:$NG_PORT"
taskset -c "$SCPU" nginx -c "$T/ng/nginx.conf" -p "$T/ng" -g 'daemon off;' 2>"$T/ng/stderr" &
NG_PID=$!
NG_URL="http://127.0.0.1:$NG_PORT"
for _ in $(seq 50); do curl -sf -o /dev/null "$NG_URL/bench/o4k" && break; sleep 0.1; done
ng_workers() { cat /proc/"$NG_PID"/task/*/children 2>/dev/null; }

# Both serve the same bytes: check once, and warm the page cache.
for n in $GETS; do
  a=$(curl -sf "$(url get "$n")" | sha256sum); b=$(curl -sf "$NG_URL/bench/$n" | sha256sum)
  [[ "$a" == "$b" && "$a" == "$(sha256sum <"$T/obj/$n")" ]] || { echo "run.sh: $n differs" >&2; exit 1; }
done
for n in $PUTS; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$T/obj/$n" "$NG_URL/put/$n")
  [[ "$c" == 201 || "$c" == 204 ]] || { echo "run.sh: nginx PUT $n: $c" >&2; exit 1; }
done

# --- measurements ------------------------------------------------------------------------
cpu_ticks() {  # utime + stime of the given pids (all threads), in clock ticks
  local s=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && s=$(( s + $(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12 + $13}') ))
  done
  echo $s
}
ss_rx() {  # body bytes the server has consumed on its established connections on port $1
  ss -Htin state established "( sport = :$1 )" | awk '
    /^[0-9]/ { q = $1; next }
    { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_received:/) { split($i, a, ":"); s += a[2] - q } }
    END { printf "%d\n", s }'
}
cpus_of() {  # a taskset CPU list ("1", "0-1", "0,2") as space-separated numbers
  local part out=()
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then out+=($(seq "${part%-*}" "${part#*-}")); else out+=("$part"); fi
  done
  echo "${out[@]}"
}
cpu_busy() {  # busy ticks of the given CPUs, whoever ran there: user+nice+system+irq+softirq
  awk -v want=" $* " '/^cpu[0-9]+ / { if (index(want, " " substr($1, 4) " ")) s += $2 + $3 + $4 + $7 + $8 }
    END { printf "%d\n", s }' /proc/stat
}
SCPUS=$(cpus_of "$SCPU"); CCPUS=$(cpus_of "$CCPU")
HZ=$(getconf CLK_TCK)
RAW="$T/raw"; mkdir -p "$RAW"
JL="$T/points.jsonl"; : >"$JL"
seed=$(( $(date +%s) * 1000 ))

point() {  # server method obj conns rep
  local srv=$1 m=$2 n=$3 c=$4 r=$5 u pids script=() f
  if [[ $srv == ours ]]; then
    pids=$AS_PID
    if [[ $m == GET ]]; then u=$(url get "$n"); else u=$(url put "$n"); fi
  else
    pids=$(ng_workers)
    if [[ $m == GET ]]; then u="$NG_URL/bench/$n"; else u="$NG_URL/put/$n"; fi
  fi
  if [[ $m == PUT ]]; then
    script=(-s "$here/put.lua")
    export AS_BODY="$T/obj/$n" AS_UNIQUE=0
    (( $(size_of "$n") <= 1048576 )) && AS_UNIQUE=1
    seed=$(( seed + 100000000 )); export AS_SEED=$seed
  fi
  f="$RAW/$srv-$m-$n-c$c-r$r.txt"
  local c0 w0 c1 w1 b0 b1 d0 d1 wp port x0=0 x1=0 t0x=0 t1x=0 k0=0 k1=0
  port=$AS_PORT; [[ $srv == nginx ]] && port=$NG_PORT
  c0=$(cpu_ticks $pids); w0=$(date +%s.%N); b0=$(cpu_busy $SCPUS); d0=$(cpu_busy $CCPUS)
  taskset -c "$CCPU" wrk -t1 -c"$c" -d"${D}s" --timeout 60s --latency "${script[@]}" "$u" >"$f" 2>&1 &
  wp=$!
  if [[ $m == PUT ]]; then
    # Bytes consumed by the server (TCP bytes received minus its unread receive queue)
    # between 0.3 s after the start and 0.2 s before the end: for 64 MiB bodies, whose
    # requests mostly do not complete within a run.
    sleep 0.3; x0=$(ss_rx "$port"); t0x=$(date +%s.%N); k0=$(cpu_ticks $pids)
    sleep "$(awk -v d="$D" 'BEGIN {print d - 0.5}')"; x1=$(ss_rx "$port"); t1x=$(date +%s.%N); k1=$(cpu_ticks $pids)
  fi
  wait $wp || true
  w1=$(date +%s.%N); c1=$(cpu_ticks $pids); b1=$(cpu_busy $SCPUS); d1=$(cpu_busy $CCPUS)
  printf '{"server":"%s","method":"%s","obj":"%s","bytes":%s,"conns":%s,"rep":%s,"cpu_s":%s,"wall":%s,"rx":%s,"rx_secs":%s,"rx_cpu_s":%s,"srv_busy_s":%s,"cli_busy_s":%s,"raw":"%s"}\n' \
    "$srv" "$m" "$n" "$(size_of "$n")" "$c" "$r" "$(awk -v a="$c0" -v b="$c1" -v h="$HZ" 'BEGIN {printf "%.3f", (b - a) / h}')" \
    "$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.3f", b - a}')" "$(( x1 - x0 ))" \
    "$(awk -v a="$t0x" -v b="$t1x" 'BEGIN {printf "%.3f", b - a}')" \
    "$(awk -v a="$k0" -v b="$k1" -v h="$HZ" 'BEGIN {printf "%.3f", (b - a) / h}')" \
    "$(awk -v a="$b0" -v b="$b1" -v h="$HZ" 'BEGIN {printf "%.3f", (b - a) / h}')" \
    "$(awk -v a="$d0" -v b="$d1" -v h="$HZ" 'BEGIN {printf "%.3f", (b - a) / h}')" "$f" >>"$JL"
  log "$srv $m $n c=$c rep $r: $(grep -E '^Requests/sec' "$f" | tr -s ' ') $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
}

for r in $(seq "$REPS"); do
  order="ours nginx"; (( r % 2 == 0 )) && order="nginx ours"
  for c in $CONNS; do
    for n in $GETS; do for s in $order; do point "$s" GET "$n" "$c" "$r"; done; done
    for n in $PUTS; do for s in $order; do point "$s" PUT "$n" "$c" "$r"; done; done
  done
done
t1=$(date +%s)

# --- profile -----------------------------------------------------------------------------
PRF="$T/perf.txt"; : >"$PRF"
if [[ "$PERF" == 1 ]] && command -v perf >/dev/null; then
  for spec in "o4k 64" "o64m 1" "o64m 64"; do
    set -- $spec
    [[ " $GETS " == *" $1 "* ]] || continue
    log "perf: GET $1 -c$2"
    taskset -c "$CCPU" wrk -t1 -c"$2" -d"$(( D + 3 ))s" --timeout 60s --latency "$(url get "$1")" >"$T/perf-wrk-$1-c$2.txt" 2>&1 &
    wp=$!
    sleep 1
    c0=$(cpu_ticks "$AS_PID"); w0=$(date +%s.%N)
    pd="$T/perf-$1-c$2.data"
    perf record -q -g -e cpu-clock -p "$AS_PID" -o "$pd" -- sleep "$D" >/dev/null 2>&1 || true
    c1=$(cpu_ticks "$AS_PID"); w1=$(date +%s.%N)
    wait $wp || true
    {
      echo "### GET $1, $2 connection(s): perf record -g -e cpu-clock -p SERVER -- sleep $D"
      echo
      echo "Server CPU during the profile: $(awk -v a="$c0" -v b="$c1" -v h="$HZ" -v x="$w0" -v y="$w1" 'BEGIN {printf "%.2f s in %.2f s", (b - a) / h, y - x}');"
      echo "wrk (a $(( D + 3 )) s run around it): $(grep -E '^Requests/sec|^Transfer/sec' "$T/perf-wrk-$1-c$2.txt" | tr -s ' ' | tr '\n' ' ')"
      echo
      echo "Self time, top symbols:"
      echo '```'
      perf report -i "$pd" --stdio --no-children --sort dso,sym -g none --percent-limit 0.8 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -40
      echo '```'
      echo
      echo "By shared object:"
      echo '```'
      perf report -i "$pd" --stdio --no-children --sort dso -g none --percent-limit 0.5 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -15
      echo '```'
      echo
    } >>"$PRF"
    [[ -n "${AS_HTTP_KEEP:-}" ]] || rm -f "$pd"
  done
fi

# --- report ------------------------------------------------------------------------------
{
  echo "# artifact-store HTTP benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Commit $commit ($dirty uncommitted paths under src/ at the start), binary $bindir/artifact-store"
  echo "built $built, sha256 $binsum..., build type ${btype:-RelWithDebInfo (the CMakeLists default)}. Measurements: $(( (t1 - t0) / 60 )) min $(( (t1 - t0) % 60 )) s."
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; kernel $(uname -r); $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3-), boto3 $($PY -c 'import boto3; print(boto3.__version__)')"
  echo "- server (artifact-store serve --threads $THREADS | nginx, worker_processes $ncpu_server) on CPU(s) $SCPU, wrk -t1 on CPU(s) $CCPU"
  echo "- load average at the start: $load0, at the end: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
  echo "- t64m: 64 MiB of /usr/include headers; zstd -1 makes it $t64m_zstd bytes"
  echo
  echo "Command: \`AS_HTTP_DURATION=$D AS_HTTP_REPS=$REPS AS_HTTP_SERVER_CPUS=$SCPU AS_HTTP_CLIENT_CPUS=$CCPU bash bench/http/run.sh $bindir\`"
  echo "Per point: \`taskset -c $CCPU wrk -t1 -c{1,64} -d${D}s --timeout 60s --latency [-s bench/http/put.lua] URL\`"
  echo
  $PY "$here/report.py" "$JL"
  echo
  [[ -s "$PRF" ]] && { echo "## Where the server's time goes"; echo; cat "$PRF"; }
} >"$OUT"
cp "$JL" "${OUT%.md}.jsonl"
mkdir -p "${OUT%.md}-raw" && cp "$RAW"/*.txt "${OUT%.md}-raw/"
log "wrote $OUT"
cat "$OUT"
