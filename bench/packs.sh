#!/usr/bin/env bash
# Scale-out parts against the embedded default, in one run, same binary:
#   embedded: DIR/packs + SQLite (the quick start)
#   scale-out: packs on a private Ceph RGW (tests/util/rgw_server.sh, one
#              memstore OSD: RAM, so the disk is not what is measured) and
#              metadata on a private PostgreSQL (fsync on)
# and RGW's own PUT and GET of the same files (curl --aws-sigv4, one stream)
# as the ceiling for the scale-out column.
#
#   bash bench/packs.sh [BINDIR]     # BINDIR defaults to build/bin; ~10 min
#
# Points (median of AS_PACKS_REPS runs, default 1; fresh store each): CLI put
# and get -o of real_v1 and random_1g (bench/corpus.sh), MB/s of wall time
# and MB per CPU-second of the artifact-store process; then 4 KiB objects
# over S3 (bench/http/run.sh, GET and PUT, 1 and 64 connections) per setup.
# Output: bench/out/packs-DATE.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bindir="$(cd "${1:-$root/build/bin}" && pwd)"
BIN="$bindir/artifact-store"
REPS="${AS_PACKS_REPS:-1}"
stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/bench/out"
OUT="$root/bench/out/packs-$stamp.md"
corpus="${AS_CORPUS_DIR:-$here/corpus}"

bash "$here/corpus.sh" >/dev/null
T="$(mktemp -d /tmp/as-packs.XXXXXX)"
cleanup() {
  bash "$root/tests/util/pg_server.sh" stop "$T/pg" || true
  bash "$root/tests/util/rgw_server.sh" stop "$T/rgw" || true
  rm -rf "$T"
}
trap cleanup EXIT
AS_PG_DURABLE=1 bash "$root/tests/util/pg_server.sh" start "$T/pg"
AS_RGW_MEMSTORE_BYTES=$((8 << 30)) bash "$root/tests/util/rgw_server.sh" start "$T/rgw"
[ -f "$T/pg/url" ] && [ -f "$T/rgw/endpoint" ] || { cat "$T"/*/skip; exit 1; }
PGURL=$(cat "$T/pg/url")
EP=$(cat "$T/rgw/endpoint")
KEY=$(cat "$T/rgw/access_key")
SECRET=$(cat "$T/rgw/secret_key")
n=0

# scaleout_env: exports the settings a new store takes (init and serve read them).
scaleout_env() {
  n=$((n + 1))
  psql -qX "$PGURL" -c "CREATE SCHEMA b$n" >/dev/null
  export ARTIFACT_STORE_METADATA="$PGURL?options=-csearch_path%3Db$n"
  export ARTIFACT_STORE_PACKS="s3://as-bench/run$n" ARTIFACT_STORE_S3_ENDPOINT="$EP"
  export ARTIFACT_STORE_S3_CREDENTIALS="$T/rgw/credentials"
}
embedded_env() {
  unset ARTIFACT_STORE_METADATA ARTIFACT_STORE_PACKS ARTIFACT_STORE_S3_ENDPOINT ARTIFACT_STORE_S3_CREDENTIALS
}

timed() {  # timed TAG CMD...: appends "tag wall cpu" to $T/times
  local tag=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$T/t" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
  read -r wall user sys <"$T/t"
  echo "$tag $wall $(echo "$user + $sys" | bc)" >>"$T/times"
}

CURL_S3=(curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
"${CURL_S3[@]}" -X PUT "$EP/as-ceiling" >/dev/null || true

for _ in $(seq "$REPS"); do
  for f in real_v1 random_1g; do
    for setup in embedded scaleout; do
      ${setup}_env
      rm -rf "$T/s"
      "$BIN" -s "$T/s" init >/dev/null
      sync
      timed "$setup put $f" "$BIN" -s "$T/s" put "$corpus/$f" --name b/$f
      timed "$setup get $f" "$BIN" -s "$T/s" get b/$f -o "$T/out"
      rm -f "$T/out"
      "$BIN" -s "$T/s" rm b/$f >/dev/null
      "$BIN" -s "$T/s" gc --grace 0 >/dev/null  # RGW's RAM back
    done
    embedded_env
    timed "rgw put $f" "${CURL_S3[@]}" -T "$corpus/$f" "$EP/as-ceiling/$f"
    timed "rgw get $f" "${CURL_S3[@]}" -o "$T/out" "$EP/as-ceiling/$f"
    rm -f "$T/out"
    "${CURL_S3[@]}" -X DELETE "$EP/as-ceiling/$f" >/dev/null
  done
done

{
  echo "# Packs on RGW + metadata on PostgreSQL vs the embedded default, $(date -u +%F) ($(git -C "$root" rev-parse --short HEAD))"
  echo
  echo "Ceph $(ceph --version | awk '{print $3}') RGW, one memstore OSD, loopback; PostgreSQL"
  echo "$(psql -XtAc 'show server_version' "$PGURL"), fsync on. $REPS run(s), fresh store each; median."
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)."
  echo "CPU is artifact-store's (curl's for the rgw rows); RGW's and PostgreSQL's own is not counted."
  echo
  /usr/bin/python3 - "$T/times" "$corpus" <<'PY'
import os, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    s, op, f, wall, cpu = line.split()
    rows.setdefault((op, f, s), []).append((float(wall), float(cpu)))
print("| op | corpus | setup | MB/s (wall) | MB per CPU-s | ratio to embedded | ratio to RGW's own |")
print("|---|---|---|---|---|---|---|")
for op in ("put", "get"):
    for f in ("real_v1", "random_1g"):
        size = os.path.getsize(os.path.join(sys.argv[2], f)) / 1e6
        mbs = {s: statistics.median([size / w for w, _ in rows[(op, f, s)]]) for s in ("embedded", "scaleout", "rgw")}
        for s in ("embedded", "scaleout", "rgw"):
            cpu = statistics.median([size / c if c else 0 for _, c in rows[(op, f, s)]])
            print(f"| {op} | {f} | {s} | {mbs[s]:.0f} | {cpu:.0f} | {mbs[s] / mbs['embedded']:.2f} | {mbs[s] / mbs['rgw']:.2f} |")
PY
} >"$OUT"

# RGW's own 4 KiB GET and PUT rates (presigned URLs, the same wrk), the
# ceiling for the scale-out rows below.
head -c 4096 /dev/urandom >"$T/o4k"
"${CURL_S3[@]}" -T "$T/o4k" "$EP/as-ceiling/o4k" >/dev/null
presign() {  # presign METHOD KEY
  AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET /usr/bin/python3 - "$EP" "$1" "$2" <<'PY'
import sys, boto3
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
op = {"GET": "get_object", "PUT": "put_object"}[sys.argv[2]]
print(c.generate_presigned_url(op, Params={"Bucket": "as-ceiling", "Key": sys.argv[3]}, ExpiresIn=3600))
PY
}
{
  echo
  echo "## RGW's own 4 KiB objects (wrk -t1 -d4s, presigned URLs; server not pinned)"
  echo
  echo "| request | conns | req/s |"
  echo "|---|---|---|"
  for c in 1 64; do
    get=$(taskset -c 0 wrk -t1 -c$c -d4s "$(presign GET o4k)" | awk '/Requests\/sec/ {print $2}')
    put=$(AS_BODY="$T/o4k" taskset -c 0 wrk -t1 -c$c -d4s -s "$here/http/put.lua" "$(presign PUT o4kp)" |
      awk '/Requests\/sec/ {print $2}')
    echo "| GET | $c | $get |"
    echo "| PUT | $c | $put |"
  done
} >>"$OUT"

for setup in embedded scaleout; do
  ${setup}_env
  AS_HTTP_SIZES=o4k AS_HTTP_PUT_SIZES=o4k AS_HTTP_PERF=0 AS_HTTP_REPS=1 \
    AS_HTTP_OUT="$T/http-$setup.md" bash "$here/http/run.sh" "$bindir" >/dev/null 2>&1
  { echo; echo "## 4 KiB objects over S3, $setup (bench/http/run.sh)"; echo; cat "$T/http-$setup.md"; } >>"$OUT"
done
embedded_env
echo "$OUT"
cat "$OUT"
