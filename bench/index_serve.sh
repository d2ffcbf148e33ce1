#!/usr/bin/env bash
# serve on a large index (issue 21): how soon it answers, how soon its dedup
# filter is ready (loaded from DIR/filter, or rebuilt), and its peak RSS
# while 1 GiB is PUT through S3 (awscli), against the same on an empty
# store. Uses copies of the stores bench/index_scale.sh fills
# ($AS_BENCH_DIR/idx-N), each primed with one small put first (as
# index_scale.sh does: the copy's schema migrated and its filter built, so
# that serve loads the filter as a store in use would; AS_PRIME=0 measures
# the copy as filled, filter rebuilt by serve). The peak RSS is VmHWM; the
# anonymous / file-backed split is that of the largest of the RSS samples
# taken every 50 ms during the upload.
#   AS_INDEX_SIZES="0 10000000" bash bench/index_serve.sh
# Environment: AS_BIN (build-release/bin/artifact-store if built, else
# build/), AS_BENCH_DIR (/tmp/as-index-bench), AS_CORPUS_DIR (bench/corpus:
# random_1g), AS_INDEX_SIZES ("0 10000000"), AS_PRIME (1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${AS_BIN:-$root/build/bin/artifact-store}"
[[ -z "${AS_BIN:-}" && -x "$root/build-release/bin/artifact-store" ]] && BIN="$root/build-release/bin/artifact-store"
DIR="${AS_BENCH_DIR:-/tmp/as-index-bench}"
INPUT="${AS_CORPUS_DIR:-$here/corpus}/random_1g"
[[ -f "$INPUT" ]] || { echo "index_serve: $INPUT missing (bench/corpus.sh)" >&2; exit 1; }
cat "$INPUT" > /dev/null  # in the page cache
now() { date +%s.%N; }
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
printf '| N | first /healthz s | filter ready s | filter MiB | PUT 1 GiB s | MB/s | peak RSS MiB | anon / file MiB at the peak sample | budget MiB (64 + 12 B/chunk) |\n|---|---|---|---|---|---|---|---|---|\n'
for n in ${AS_INDEX_SIZES:-0 10000000}; do
  [[ -d "$DIR/idx-$n" ]] || { echo "index_serve: $DIR/idx-$n missing (run bench/index_scale.sh)" >&2; exit 1; }
  # A copy: the templates stay as index_scale.sh made them (this adds a
  # tenant and 1 GiB, and a newer build migrates the schema and writes its
  # filter files).
  store="$DIR/serve-$n"
  rm -rf "$store" && cp -a "$DIR/idx-$n" "$store"
  "$BIN" -s "$store" tenant add "serve$RANDOM" --json > "$DIR/key.json"
  # Primed with one small put, as index_scale.sh does: a template made by
  # index_fill has a filter older than its rows, which serve would rebuild
  # (a scan that maps the index: file-backed RSS) instead of loading.
  [[ "${AS_PRIME:-1}" == 1 ]] && head -c 65536 /dev/urandom > "$DIR/prime-serve.bin" &&
    "$BIN" -s "$store" put "$DIR/prime-serve.bin" --name prime/one > /dev/null
  rm -f "$DIR/ready"
  t0=$(now)
  "$BIN" -s "$store" serve --listen 127.0.0.1:0 --ready-file "$DIR/ready" --gc-interval 0 \
    > "$DIR/serve.log" 2>&1 &
  pid=$!
  until [[ -s "$DIR/ready" ]]; do sleep 0.01; done
  url=$(cat "$DIR/ready")
  until curl -sf "$url/healthz" > /dev/null; do sleep 0.01; done
  t_up=$(now)
  until [[ "$(metric "$url" as_filter_ready)" == 1 ]]; do sleep 0.02; done
  t_filter=$(now)
  fbytes=$(metric "$url" as_filter_bytes)
  id=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$DIR/key.json")
  secret=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$DIR/key.json")
  export AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1
  /usr/bin/aws --endpoint-url "$url" s3 mb s3://ingest > /dev/null
  t1=$(now)
  # RSS sampled while the upload runs: anonymous (the heap) and file-backed
  # (mapped files) at the sample with the most RSS.
  ( while kill -0 "$pid" 2>/dev/null; do
      awk '/^VmRSS|^RssAnon|^RssFile/ {printf "%s ", $2} END {print ""}' "/proc/$pid/status"
      sleep 0.05
    done > "$DIR/rss.samples" ) &
  sampler=$!
  /usr/bin/aws --endpoint-url "$url" s3 cp "$INPUT" "s3://ingest/random_1g" > /dev/null
  t2=$(now)
  kill "$sampler" 2>/dev/null || true
  split=$(sort -n "$DIR/rss.samples" | tail -1)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$store"
  size=$(stat -c %s "$INPUT")
  python3 - "$n" "$t0" "$t_up" "$t_filter" "$fbytes" "$t1" "$t2" "$size" "$hwm" "$split" <<'PY'
import sys
n, t0, up, fr, fb, t1, t2, size, hwm, split = sys.argv[1:]
parts = (split.split() + ["0", "0", "0"])[:3]
anon, filed = int(parts[1]) / 1024, int(parts[2]) / 1024
n = int(n); t0, up, fr, t1, t2 = map(float, (t0, up, fr, t1, t2))
put = t2 - t1
print(f"| {n:,} | {up - t0:.3f} | {fr - t0:.3f} | {float(fb) / 2**20:.1f} | {put:.2f} | "
      f"{int(size) / put / 1e6:.0f} | {int(hwm) / 1024:.1f} | {anon:.0f} / {filed:.0f} | "
      f"{64 + 12 * n / 2**20:.1f} |")
PY
done
