#!/usr/bin/env bash
# Several servers on one store (metadata on a private PostgreSQL, fsync on;
# packs on a private Ceph RGW, one memstore OSD) against one, in one run, same
# binary: aggregate PUT and GET of distinct 16 MiB objects through 1, 2 and 3
# `serve` processes (curl, 6 streams spread round-robin over the servers),
# and a lone client's 4 KiB PUT on the embedded default against one
# scale-out server (wrk -c1, unique bodies: each PUT stores a new chunk).
#
#   bash bench/scaleout.sh [BINDIR]    # BINDIR defaults to build/bin; ~5 min
#
# On this 2-CPU machine everything (the servers, RGW, PostgreSQL, curl)
# shares two cores, so the aggregate rate cannot grow with servers; what the
# run shows is the cost per byte (MB per CPU-second of the servers, and of
# the whole machine) and that nothing serializes across servers. Output:
# bench/out/scaleout-DATE.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bindir="$(cd "${1:-$root/build/bin}" && pwd)"
BIN="$bindir/artifact-store"
OBJS="${AS_SCALEOUT_OBJS:-32}"   # of 16 MiB
STREAMS="${AS_SCALEOUT_STREAMS:-6}"
stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/bench/out"
OUT="$root/bench/out/scaleout-$stamp.md"
PY=/usr/bin/python3

T="$(mktemp -d /tmp/as-scaleout.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$root/tests/util/pg_server.sh" stop "$T/pg" || true
  bash "$root/tests/util/rgw_server.sh" stop "$T/rgw" || true
  rm -rf "$T"
}
trap cleanup EXIT
AS_PG_DURABLE=1 bash "$root/tests/util/pg_server.sh" start "$T/pg"
AS_RGW_MEMSTORE_BYTES=$((8 << 30)) bash "$root/tests/util/rgw_server.sh" start "$T/rgw"
[ -f "$T/pg/url" ] && [ -f "$T/rgw/endpoint" ] || { cat "$T"/*/skip; exit 1; }
PGURL=$(cat "$T/pg/url")

mkdir -p "$T/obj"
for i in $(seq "$OBJS"); do
  (set +o pipefail; openssl enc -aes-128-ctr -pass "pass:so$i" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
    head -c $((16 << 20)) >"$T/obj/o$i")
done
MB=$(echo "$OBJS * 16 * 1.048576" | bc)

n=0
scaleout_env() {
  n=$((n + 1))
  psql -qX "$PGURL" -c "CREATE SCHEMA b$n" >/dev/null
  export ARTIFACT_STORE_METADATA="$PGURL?options=-csearch_path%3Db$n"
  export ARTIFACT_STORE_PACKS="s3://as-bench/run$n"
  export ARTIFACT_STORE_S3_ENDPOINT="$(cat "$T/rgw/endpoint")"
  export ARTIFACT_STORE_S3_CREDENTIALS="$T/rgw/credentials"
}
embedded_env() {
  unset ARTIFACT_STORE_METADATA ARTIFACT_STORE_PACKS ARTIFACT_STORE_S3_ENDPOINT ARTIFACT_STORE_S3_CREDENTIALS
}

# serve DIR: starts a server on DIR, appends its URL to $T/urls and its pid to pids.
serve() {
  rm -f "$1/ready"
  "$BIN" -s "$1" serve --listen 127.0.0.1:0 --ready-file "$1/ready" --gc-interval 0 \
    >"$1/serve.log" 2>&1 &
  pids+=($!)
  echo $! >>"$T/server_pids"
  for _ in $(seq 200); do [ -s "$1/ready" ] && break; sleep 0.05; done
  [ -s "$1/ready" ] || { cat "$1/serve.log"; exit 1; }
  cat "$1/ready" >>"$T/urls"
}
stop_servers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  rm -f "$T/urls" "$T/server_pids"
}
# CPU ticks used so far by the servers, and by the whole machine.
server_ticks() {
  local t=0
  while read -r p; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done <"$T/server_pids"
  echo $t
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# run_op put|get: every object through the servers, $STREAMS at a time;
# prints "MB/s MB-per-server-CPU-s MB-per-machine-CPU-s".
run_op() {
  local op=$1 hz s0 m0 t0 t1 s1 m1
  hz=$(getconf CLK_TCK)
  s0=$(server_ticks); m0=$(machine_ticks); t0=$(date +%s.%N)
  seq "$OBJS" | awk -v n="$(wc -l <"$T/urls")" '{print $1, ($1 % n) + 1}' |
    xargs -P "$STREAMS" -n 2 bash -c '
      url=$(sed -n "$2p" "$0/urls")  # $1: the object, $2: its server
      if [ "$OP" = put ]; then
        curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
          -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$0/obj/o$1" "$url/bench/o$1" >/dev/null
      else
        curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
          -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o /dev/null "$url/bench/o$1"
      fi' "$T" 2>/dev/null || true
  t1=$(date +%s.%N); s1=$(server_ticks); m1=$(machine_ticks)
  echo "$(echo "$MB / ($t1 - $t0)" | bc -l) $(echo "$MB * $hz / ($s1 - $s0)" | bc -l) $(echo "$MB * $hz / ($m1 - $m0)" | bc -l)"
}

rows=()
for N in 1 2 3; do
  scaleout_env
  rm -rf "$T/s1" "$T/s2" "$T/s3"
  "$BIN" -s "$T/s1" init >/dev/null
  "$BIN" -s "$T/s1" tenant add bench --json >"$T/key.json"
  export KEY SECRET OP
  KEY=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$T/key.json")
  SECRET=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$T/key.json")
  for i in $(seq 2 "$N"); do mkdir -p "$T/s$i" && cp "$T/s1/STORE" "$T/s1/CONFIG" "$T/s$i/"; done
  for i in $(seq "$N"); do serve "$T/s$i"; done
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$(head -1 "$T/urls")/bench" >/dev/null
  OP=put; read -r put put_cpu put_mcpu <<<"$(run_op put)"
  OP=get; read -r get get_cpu get_mcpu <<<"$(run_op get)"
  rows+=("$N $put $put_cpu $put_mcpu $get $get_cpu $get_mcpu")
  stop_servers
done

# A lone client's 4 KiB PUTs: embedded default vs one scale-out server.
head -c 4096 /dev/urandom >"$T/o4k"
lat=()
for setup in embedded scaleout; do
  if [ $setup = embedded ]; then embedded_env; else scaleout_env; fi
  rm -rf "$T/l"
  "$BIN" -s "$T/l" init >/dev/null
  "$BIN" -s "$T/l" tenant add bench --json >"$T/key.json"
  serve "$T/l"
  url=$(head -1 "$T/urls")
  $PY - "$url" "$T/key.json" >"$T/put_url" <<'PY'
import json, sys, boto3
from botocore.config import Config
k = json.load(open(sys.argv[2]))
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id=k["access_key_id"], aws_secret_access_key=k["secret_access_key"],
                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
c.create_bucket(Bucket="lat")
print(c.generate_presigned_url("put_object", Params={"Bucket": "lat", "Key": "o4k"}, ExpiresIn=3600))
PY
  out=$(AS_BODY="$T/o4k" AS_UNIQUE=1 wrk -t1 -c1 -d5s --latency -s "$here/http/put.lua" "$(cat "$T/put_url")")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  lat+=("$setup $rps $p50 $p99")
  stop_servers
done

{
  echo "# Several servers on one store, $(date -u +%F) ($(git -C "$root" rev-parse --short HEAD))"
  echo
  echo "Ceph $(ceph --version | awk '{print $3}') RGW (one memstore OSD), PostgreSQL"
  echo "$(psql -XtAc 'show server_version' "$PGURL") (fsync on), loopback; $OBJS distinct objects of 16 MiB,"
  echo "$STREAMS curl streams round-robin over the servers. Machine: $(nproc) CPUs,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-). Servers, RGW, PostgreSQL and curl share the CPUs."
  echo
  echo "| servers | PUT MB/s | PUT MB per server CPU-s | PUT MB per machine CPU-s | GET MB/s | GET MB per server CPU-s | GET MB per machine CPU-s |"
  echo "|---|---|---|---|---|---|---|"
  for r in "${rows[@]}"; do
    # shellcheck disable=SC2086
    set -- $r
    printf '| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7"
  done
  echo
  echo "A lone client's 4 KiB PUTs (wrk -t1 -c1 -d5s, unique bodies, presigned):"
  echo
  echo "| setup | PUT/s | p50 | p99 |"
  echo "|---|---|---|---|"
  for r in "${lat[@]}"; do
    # shellcheck disable=SC2086
    set -- $r
    echo "| $1 | $2 | $3 | $4 |"
  done
} >"$OUT"
echo "$OUT"
cat "$OUT"
