#!/usr/bin/env bash
# gc at scale (issue 21): `artifact-store gc` of a store whose chunk index
# holds N garbage rows, its time, CPU, peak RSS and the most its SQLite log
# (metadata.db-wal) held meanwhile; optionally a second run by `serve`'s
# background gc while a loop of small PUTs and GETs runs against it.
#
# The stores are bench/index_scale.sh's templates ($AS_BENCH_DIR/idx-N: one
# real 4 MiB artifact, bench/small, and N synthetic chunk rows that no
# manifest names, made by index_fill and kept for the next run; made here
# when missing, the same way). Every synthetic row is garbage, in packs whose
# files do not exist: gc dooms and sweeps all N rows and deletes the packs'
# rows. Each run measures a copy of the template, primed with one small put
# (untimed: a build that migrates the schema or keeps a persisted dedup
# filter does that there, as the rows arrived; AS_PRIME=0 skips it).
#
#   gc        `gc --json` (bench/timeit.py: wall, CPU, peak RSS; the report,
#             with its phases' seconds where the build has them); the WAL's
#             largest size, sampled every 0.1 s; then `stats` (the chunk rows
#             left) and `get bench/small` compared byte for byte
#   serve     (AS_LOAD=1) `serve --gc-interval AS_GC_AFTER` on another copy,
#             a bucket, and while its first background gc runs, a loop of
#             PUTs of 64 KiB-1 MiB objects and GETs of each (compared byte for
#             byte) through curl --aws-sigv4; the server's peak RSS (VmHWM,
#             the load's buffers included), the gc's seconds (/metrics
#             as_gc_last_seconds, where the build has it), how many PUTs and
#             GETs ran during the gc and how many failed
#
# One JSON line per measurement goes to $AS_LOG; the table to stdout and
# bench/out/gc_scale.txt. Do not run two at once on one template directory's
# N (the copies are independent; the fill is under a lock).
#
# Environment: AS_BIN (build-release/bin/artifact-store if built, else build/),
#   AS_FILL (index_fill beside AS_BIN, else build/bin/), AS_GC_SIZES ("1000000"),
#   AS_BENCH_DIR (/tmp/as-index-bench), AS_REFILL (0), AS_FILL_ARGS (as
#   index_scale.sh), AS_PRIME (1), AS_LOAD (1; 0 skips the serve run),
#   AS_GC_AFTER (5: seconds from serve's start to its gc), AS_LOG, AS_TABLE
#   (bench/out/gc_scale.txt)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME=gc_scale
SIZES="${AS_GC_SIZES:-1000000}"
DIR="${AS_BENCH_DIR:-/tmp/as-index-bench}"
GC_AFTER="${AS_GC_AFTER:-5}"
LOG="${AS_LOG:-$here/out/gc_scale-$(date +%Y%m%d-%H%M%S).jsonl}"
TABLE="${AS_TABLE:-$here/out/gc_scale.txt}"
source "$here/index_lib.sh"  # BIN, FILL, T, AS, rand_file, SMALL, PRIME, template

# A copy of the template for N rows (index_lib.sh, as index_scale.sh uses
# it) at $2, primed with one small put.
prepare() { # n copy
  template "$1" "$2"
  if [[ "${AS_PRIME:-1}" == 1 ]]; then
    AS "$2" put "$PRIME" --name bench/prime >/dev/null 2>&1 || {
      echo "gc_scale: $BIN cannot put into a copy of $DIR/idx-$1 (made by a newer build?" \
           "AS_REFILL=1 makes it anew)" >&2
      exit 1
    }
  fi
}

# Samples, every 0.1 s while process $2 runs: the largest size file $1
# reaches, and the largest anonymous RSS of process $3 (or of the $BIN that
# $2 runs, through timeit.py) and the bytes it has written (wchar: SQLite's
# log and checkpoints, mostly; up to the last sample). Peak RSS counts the pages of metadata.db that the
# SQLite connections map (up to 256 MiB each, shared, given back under
# pressure); RssAnon is the heap: what gc itself holds.
descendants() { # pid -> the pids of its children, theirs, ...
  local p
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$p"; descendants "$p"; done
}
sample() { # file pid [target] -> "wal_bytes anon_kb written_bytes" on stdout
  local f="$1" pid="$2" target="${3:-}" wal=0 anon=0 wchar=0 s a w p exe
  exe=$(readlink -f "$BIN")
  while kill -0 "$pid" 2>/dev/null; do
    s=$(stat -c %s "$f" 2>/dev/null || echo 0)
    ((s > wal)) && wal=$s
    if [[ -z "$target" ]]; then
      for p in $(descendants "$pid"); do
        [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$exe" ]] && target=$p
      done
    fi
    if [[ -n "$target" ]]; then
      a=$(awk '/^RssAnon:/ {print $2}' "/proc/$target/status" 2>/dev/null || true)
      ((${a:-0} > anon)) && anon=$a
      w=$(awk '/^wchar:/ {print $2}' "/proc/$target/io" 2>/dev/null || true)
      ((${w:-0} > wchar)) && wchar=$w
    fi
    sleep 0.1
  done
  echo "$wal $anon $wchar"
}

# After a gc: the chunk rows left (stats) and bench/small read back.
check_store() { # n mode store
  local n="$1" mode="$2" store="$3" chunks ok=0
  chunks=$(AS "$store" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
  AS "$store" get bench/small -o "$WORK/small.out" && cmp -s "$WORK/small.out" "$SMALL" && ok=1
  echo "{\"n\":$n,\"op\":\"after\",\"mode\":\"$mode\",\"chunks_left\":$chunks,\"small_reads_back\":$ok}" >>"$LOG"
  ((ok)) || echo "gc_scale: bench/small does not read back after the $mode gc" >&2
}

gc_cli() { # n
  local n="$1" store="$WORK/gc-$1" pid wal
  prepare "$n" "$store"
  T --set n="$n" --set op=gc --set mode=cli --capture "$WORK/gc.json" -- \
    "$BIN" -s "$store" gc --json &
  pid=$!
  read -r wal anon wchar < <(sample "$store/metadata.db-wal" "$pid")
  wait "$pid" || { echo "gc_scale: gc failed" >&2; exit 1; }
  echo "{\"n\":$n,\"op\":\"wal\",\"mode\":\"cli\",\"peak_bytes\":$wal,\"anon_kb\":$anon,\"written\":$wchar}" >>"$LOG"
  check_store "$n" cli "$store"
  rm -rf "$store"
}

metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

# The load: PUT object i (64 KiB-1 MiB of $WORK/load.bin from offset i), GET it
# back and compare, until $WORK/load.stop exists; counts to $WORK/load.counts.
load_loop() { # url id secret
  local url="$1" auth=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$2:$3"
                      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD") i=0 puts=0 gets=0 bad=0 size
  while [[ ! -e "$WORK/load.stop" ]]; do
    size=$(( (65536 + (i * 104729) % (1 << 20)) ))
    dd if="$WORK/load.bin" of="$WORK/obj.in" iflag=skip_bytes,count_bytes bs=64K \
      skip=$(( (i * 4096) % (6 << 20) )) count="$size" status=none
    if curl -sf "${auth[@]}" -T "$WORK/obj.in" "$url/gcload/o$i" -o /dev/null; then
      puts=$((puts + 1))
      if curl -sf "${auth[@]}" "$url/gcload/o$i" -o "$WORK/obj.out" && cmp -s "$WORK/obj.in" "$WORK/obj.out"; then
        gets=$((gets + 1))
      else
        bad=$((bad + 1))
      fi
    else
      bad=$((bad + 1))
    fi
    i=$((i + 1))
    echo "$puts $gets $bad" >"$WORK/load.counts.tmp"
    mv "$WORK/load.counts.tmp" "$WORK/load.counts"  # whole, for the reader
  done
}

gc_serve() { # n
  local n="$1" store="$WORK/serve-$1" pid lpid url id secret t0 t1 wal=0 s a anon=0 hwm runs=0 secs
  prepare "$n" "$store"
  AS "$store" tenant add gcload --json >"$WORK/key.json"
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$WORK/key.json")
  secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$WORK/key.json")
  [[ -s "$WORK/load.bin" ]] || rand_file "$WORK/load.bin" $((8 << 20)) gc-scale-load
  rm -f "$WORK/ready" "$WORK/load.stop"
  echo "0 0 0" >"$WORK/load.counts"
  t0=$(date +%s.%N)
  "$BIN" -s "$store" serve --listen 127.0.0.1:0 --ready-file "$WORK/ready" \
    --gc-interval "$GC_AFTER" >"$WORK/serve.log" 2>&1 &
  pid=$!
  until [[ -s "$WORK/ready" ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.01
  done
  url=$(cat "$WORK/ready")
  until curl -sf "$url/healthz" >/dev/null; do sleep 0.01; done
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$id:$secret" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$url/gcload" -o /dev/null ||
    { echo "gc_scale: cannot make the bucket" >&2; kill "$pid"; exit 1; }
  load_loop "$url" "$id" "$secret" &
  lpid=$!
  # The load's counts when the gc begins (AS_GC_AFTER seconds after serve's
  # start), then until the first background run has ended (an hour at most).
  local gc_at pre=(0 0 0) pre_done=0
  gc_at=$(python3 -c "print(int(($t0 + $GC_AFTER) * 1e9))")
  for _ in $(seq 36000); do
    runs=$(metric "$url" as_gc_runs_total)
    [[ "${runs:-0}" != 0 ]] && break
    if ((!pre_done && $(date +%s%N) >= gc_at)); then
      read -r -a pre 2>/dev/null <"$WORK/load.counts" || pre=(0 0 0)
      pre_done=1
    fi
    s=$(stat -c %s "$store/metadata.db-wal" 2>/dev/null || echo 0)
    ((s > wal)) && wal=$s
    a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    ((${a:-0} > anon)) && anon=$a
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  read -r puts gets bad 2>/dev/null <"$WORK/load.counts" || true
  puts=$((${puts:-0} - ${pre[0]:-0})) gets=$((${gets:-0} - ${pre[1]:-0})) bad=$((${bad:-0} - ${pre[2]:-0}))
  touch "$WORK/load.stop"
  wait "$lpid" || true
  secs=$(metric "$url" as_gc_last_seconds)
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ "${runs:-0}" != 0 ]] || { cat "$WORK/serve.log" >&2; echo "gc_scale: no gc run" >&2; exit 1; }
  grep -q "background gc:" "$WORK/serve.log" && { cat "$WORK/serve.log" >&2; echo "gc_scale: the gc failed" >&2; exit 1; }
  python3 - "$n" "$t0" "$t1" "$GC_AFTER" "${secs:-}" "$hwm" "$wal" "$anon" "${puts:-0}" "${gets:-0}" "${bad:-0}" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$LOG" <<'PY'
import json, sys
n, t0, t1, after, secs, hwm, wal, anon, puts, gets, bad, load = sys.argv[1:]
rec = {"n": int(n), "op": "gc", "mode": "serve", "rc": 0,
       # from serve's start: its gc began AS_GC_AFTER seconds in
       "wall": round(float(t1) - float(t0) - float(after), 3),
       "maxrss_kb": int(hwm), "puts": int(puts), "gets": int(gets), "failed": int(bad),
       "load1": float(load)}
if secs:
    rec["gc_seconds"] = float(secs)
print(json.dumps(rec, sort_keys=True))
print(json.dumps({"n": int(n), "op": "wal", "mode": "serve", "peak_bytes": int(wal),
                  "anon_kb": int(anon)}))
PY
  check_store "$n" serve "$store"
  rm -rf "$store"
}

WORK="$(mktemp -d "$DIR/gc.XXXXXX")"
trap 'touch "$WORK/load.stop" 2>/dev/null; rm -rf "$WORK"' EXIT
echo "gc_scale: $BIN (${build_type:-?}) sizes $SIZES, stores in $DIR -> $LOG" >&2
for n in $SIZES; do
  gc_cli "$n"
  [[ "${AS_LOAD:-1}" == 1 ]] && gc_serve "$n"
done

python3 - "$LOG" "$BIN" "${build_type:-?}" >"$TABLE.tmp" <<'PY'
import json, sys
log, binary, build = sys.argv[1:4]
rows = [json.loads(l) for l in open(log)]
print(f"gc_scale: {binary} ({build})")
print()
print("| N garbage rows | gc by | wall s | CPU s | peak RSS MiB | peak RssAnon MiB | anon B/row | WAL peak MiB | written GiB | chunk rows left | bench/small | phases s | load during gc |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("op") != "gc":
        continue
    n, mode = r["n"], r["mode"]
    w = next((w for w in rows if w.get("op") == "wal" and w["n"] == n and w["mode"] == mode), {})
    wal, anon, written = w.get("peak_bytes"), w.get("anon_kb"), w.get("written")
    after = next((a for a in rows if a.get("op") == "after" and a["n"] == n
                  and a["mode"] == mode), {})
    cpu = f"{r['user'] + r['sys']:.1f}" if "user" in r else "-"
    rss = r["maxrss_kb"] / 1024
    out = r.get("out") or {}
    phases = ", ".join(f"{k} {v:.1f}" for k, v in (out.get("phase_seconds") or []))
    wall = r["wall"]
    if mode == "serve":
        wall = r.get("gc_seconds", wall)
        load = f"{r['puts']} PUTs, {r['gets']} GETs ok, {r['failed']} failed"
    else:
        load = "-"
    an = "-" if not anon else f"{anon / 1024:.1f}"
    anb = "-" if not anon else f"{anon * 1024 / n:.0f}"
    print(f"| {n:,} | {'gc' if mode == 'cli' else 'serve'} | {wall:.1f} | {cpu} | {rss:.1f} | "
          f"{an} | {anb} | {'-' if wal is None else f'{wal / 2**20:.1f}'} | "
          f"{'-' if not written else f'{written / 2**30:.2f}'} | "
          f"{after.get('chunks_left', '-')} | {'reads back' if after.get('small_reads_back') else 'FAILED'} | "
          f"{phases or '-'} | {load} |")
print()
print("anon B/row: the heap's peak over the garbage rows (all of it, not only what grows with N);")
print("serve's figures include the load's buffers.")
PY
mv "$TABLE.tmp" "$TABLE"
cat "$TABLE"
echo "gc_scale: log $LOG, table $TABLE" >&2
