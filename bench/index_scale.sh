#!/usr/bin/env bash
# The index at scale (issue 21): what a store whose chunk index holds N rows
# costs to open and to use, against the same commands on a store without them.
#
# For N = 0 (the baseline) and each of $AS_INDEX_SIZES: a store with one real
# artifact (4 MiB, bench/small) and N synthetic chunk rows added by
# build*/bin/index_fill (through the store's own metadata code; kept as a
# template in $AS_BENCH_DIR/idx-N, reused by the next run unless AS_REFILL=1,
# and copied for each run: see prepare below), primed with one small put
# (untimed, logged: a build that keeps a persisted dedup filter migrates the
# copy's schema and builds its filter there, as it would have while the rows
# arrived; AS_PRIME=0 skips it), then
#   ls, stat bench/small, get bench/small -o /dev/null, stats
#             warm: one untimed run, then median of AS_RUNS; cold: each run
#             after `sync; echo 3 >/proc/sys/vm/drop_caches` (skipped, with a
#             message, where that is not allowed); wall and peak RSS
#             (bench/timeit.py: wait4 rusage, like /usr/bin/time's %M)
#   serve     from exec to the first 200 from GET /healthz (polled with curl
#             every 20 ms on a free loopback port), warm and cold; peak RSS
#             (VmHWM) at that moment; stopped by pid (SIGTERM)
#   put       random_1g of bench/corpus (else 1 GiB of seeded AES-CTR
#             keystream made once in AS_BENCH_DIR) into a copy of the store,
#             input in the page cache; MB/s against the same put into the
#             N = 0 store, peak RSS. The CLI's put opens the store and ends
#             with the store's totals (what `stats` reads): the table also
#             gives the put less a warm `stats` of the same store, the put itself
#   metadata.db's size as filled, what the store keeps beside its packs after
#   the runs (metadata.db, a persisted filter), and the fill's time.
# Peak RSS beyond the N = 0 store's, per row, is the "B/chunk" column.
# One JSON line per measurement goes to $AS_LOG; the table goes to stdout and
# bench/out/index_scale.txt.
#
# Environment: AS_BIN (build-release/bin/artifact-store if built, else build/),
#   AS_FILL (index_fill beside AS_BIN, else build/bin/), AS_INDEX_SIZES ("1000000
#   10000000"), AS_RUNS (3), AS_BENCH_DIR (/tmp/as-index-bench), AS_REFILL (0),
#   AS_FILL_ARGS (index_fill's options; default --batch 100000, and from N = 50
#   million --sorted --batch 1000000: see bench/index_fill.cc), AS_COLD (1; 0 skips
#   the cold runs), AS_PUT (1; 0 skips the 1 GiB puts), AS_PRIME (1), AS_CORPUS_DIR, AS_LOG,
#   AS_TABLE (bench/out/index_scale.txt)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME=index_scale
SIZES="${AS_INDEX_SIZES:-1000000 10000000}"
RUNS="${AS_RUNS:-3}"
DIR="${AS_BENCH_DIR:-/tmp/as-index-bench}"
CORPUS="${AS_CORPUS_DIR:-$here/corpus}"
LOG="${AS_LOG:-$here/out/index_scale-$(date +%Y%m%d-%H%M%S).jsonl}"
TABLE="${AS_TABLE:-$here/out/index_scale.txt}"
source "$here/index_lib.sh"  # BIN, FILL, T, AS, rand_file, SMALL, PRIME, template
can_drop=0
if [[ "${AS_COLD:-1}" == 1 ]]; then
  if [[ -w /proc/sys/vm/drop_caches ]] && sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    can_drop=1
  else
    echo "index_scale: cannot drop the page cache (not root?): cold runs skipped" >&2
  fi
fi
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
BIG="$CORPUS/random_1g"
if [[ ! -s "$BIG" ]]; then
  BIG="$DIR/random_1g"
  [[ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" == $((1 << 30)) ]] ||
    { echo "index_scale: making $BIG" >&2; rand_file "$BIG" $((1 << 30)) index-scale-1g; }
fi

# A copy of the template for N rows (index_lib.sh) in this run's $WORK.
prepare() { # n -> $WORK/idx-N
  template "$1" "$WORK/idx-$1"
}

# What the store keeps beside its packs after the runs (metadata.db, and any
# persisted filter), in bytes.
index_bytes() { # store
  du -sb --exclude=packs --exclude=RESERVE "$1" | cut -f1
}

# command n temp run store -> one timed run of ls / stat / get
cmd() {
  local op="$1" n="$2" temp="$3" run="$4" store="$5" args
  case "$op" in
    ls) args=(ls) ;;
    stat) args=(stat bench/small) ;;
    get) args=(get bench/small -o /dev/null) ;;
    stats) args=(stats) ;;
  esac
  [[ "$temp" == cold ]] && drop
  T --set n="$n" --set op="$op" --set temp="$temp" --set run="$run" --stdout /dev/null -- \
    "$BIN" -s "$store" "${args[@]}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# serve n temp run store: exec to the first answer of /healthz, and VmHWM then.
serve_first() {
  local n="$1" temp="$2" run="$3" store="$4" port pid t0 t1 hwm=0 cpu ok=0
  port=$(free_port)
  [[ "$temp" == cold ]] && drop
  t0=$(date +%s%N)
  "$BIN" -s "$store" serve --listen "127.0.0.1:$port" --gc-interval 0 >"$WORK/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 6000); do  # 2 minutes at most
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  t1=$(date +%s%N)
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  # CPU seconds so far (utime, stime: fields 14 and 15, after the parenthesised name).
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.3f %.3f", $12 / hz, $13 / hz}' \
        "/proc/$pid/stat" 2>/dev/null || echo "0 0")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ((!ok)); then cat "$WORK/serve.log" >&2; echo "index_scale: serve did not answer" >&2; exit 1; fi
  echo "{\"n\":$n,\"op\":\"serve\",\"temp\":\"$temp\",\"run\":$run,\"wall\":$(python3 -c "print(round(($t1 - $t0) / 1e9, 4))"),\"maxrss_kb\":${hwm:-0},\"user\":${cpu% *},\"sys\":${cpu#* },\"load1\":$(cut -d' ' -f1 /proc/loadavg),\"rc\":0}" >>"$LOG"
}

# put n run store: random_1g into a copy of the store (the last run: into the store
# itself, which is not used afterwards: one copy less at 100 million rows).
put_big() {
  local n="$1" run="$2" store="$3" copy="$WORK/put-copy"
  if ((run < RUNS)); then
    rm -rf "$copy"
    cp -a "$store" "$copy"
    sync  # else the put's fsyncs would write the copy's dirty pages (a 1 GB database at 10 M)
  else
    copy="$store"
  fi
  cat "$BIG" >/dev/null
  T --set n="$n" --set op=put --set temp=warm --set run="$run" --set bytes="$(stat -c %s "$BIG")" \
    --stdout /dev/null -- "$BIN" -s "$copy" put "$BIG" --name bench/big
  [[ "$copy" == "$store" ]] || rm -rf "$copy"
}

WORK="$(mktemp -d "$DIR/run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "index_scale: $BIN (${build_type:-?}) sizes 0 $SIZES, runs $RUNS, stores in $DIR -> $LOG" >&2
for n in 0 $SIZES; do
  prepare "$n"
  store="$WORK/idx-$n"
  if [[ "${AS_PRIME:-1}" == 1 ]]; then
    T --set n="$n" --set op=prime --set temp=prime --set run=0 --stdout /dev/null -- \
      "$BIN" -s "$store" put "$PRIME" --name bench/prime 2>/dev/null || {
      echo "index_scale: $BIN cannot put into a copy of $DIR/idx-$n (made by a newer build?" \
           "AS_REFILL=1 makes it anew)" >&2
      exit 1
    }
  fi
  for op in ls stat get stats; do
    if ! cmd "$op" "$n" warmup 0 "$store"; then
      echo "index_scale: $BIN cannot open a copy of $DIR/idx-$n (made by a newer build?" \
           "AS_REFILL=1 makes it anew)" >&2
      exit 1
    fi
    for run in $(seq "$RUNS"); do cmd "$op" "$n" warm "$run" "$store"; done
    if ((can_drop)); then
      for run in $(seq "$RUNS"); do cmd "$op" "$n" cold "$run" "$store"; done
    fi
  done
  serve_first "$n" warmup 0 "$store"
  for run in $(seq "$RUNS"); do serve_first "$n" warm "$run" "$store"; done
  if ((can_drop)); then
    for run in $(seq "$RUNS"); do serve_first "$n" cold "$run" "$store"; done
  fi
  echo "{\"n\":$n,\"op\":\"index_bytes\",\"bytes\":$(index_bytes "$store")}" >>"$LOG"
  if [[ "${AS_PUT:-1}" == 1 ]]; then
    for run in $(seq "$RUNS"); do put_big "$n" "$run" "$store"; done
  fi
  rm -rf "$store"
done

python3 - "$LOG" "$BIN" "${build_type:-?}" "$RUNS" >"$TABLE.tmp" <<'PY'
import json, statistics, sys
log, binary, build, runs = sys.argv[1:5]
rows = [json.loads(l) for l in open(log)]
ns = sorted({r["n"] for r in rows})
def pick(n, op, temp, key="wall"):
    return [r[key] for r in rows if r["n"] == n and r["op"] == op and r.get("temp") == temp
            and r.get("rc", 0) == 0]
def med(v):
    return statistics.median(v) if v else None
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
loads = [r["load1"] for r in rows if "load1" in r]
print(f"index_scale: {binary} ({build}), medians of {runs} runs; RSS is the warm runs' peak; "
      f"load average 1 min {min(loads):.1f}-{max(loads):.1f} at the starts")
print()
print("| N | command | warm s (min-max) | CPU s | cold s | peak RSS MiB | B/chunk (RSS - N=0) | note |")
print("|---|---|---|---|---|---|---|---|")
base_rss = {op: med(pick(0, op, "warm", "maxrss_kb"))
            for op in ("ls", "stat", "get", "stats", "serve", "put")}
base_put = med(pick(0, "put", "warm"))
for n in ns:
    for op, label in (("ls", "ls"), ("stat", "stat NAME"), ("get", "get NAME -o /dev/null"),
                      ("stats", "stats"), ("serve", "serve: first /healthz"),
                      ("put", "put 1 GiB")):
        warm, cold = med(pick(n, op, "warm")), med(pick(n, op, "cold"))
        if warm is None and cold is None:
            continue  # not measured (AS_PUT=0)
        rss = med(pick(n, op, "warm", "maxrss_kb"))
        walls = pick(n, op, "warm")
        spread = f" ({min(walls):.3f}-{max(walls):.3f})" if len(walls) > 1 else ""
        cpu = med([r["user"] + r["sys"] for r in rows if r["n"] == n and r["op"] == op
                   and r.get("temp") == "warm" and "user" in r])
        per = None
        if n and rss is not None and base_rss.get(op) is not None:
            per = (rss - base_rss[op]) * 1024 / n
        note = ""
        if op == "put" and warm:
            b = next(r["bytes"] for r in rows if r["n"] == n and r["op"] == "put")
            note = f"{b / warm / 1e6:.0f} MB/s"
            if n and base_put:
                note += f", {base_put / warm:.2f}x of N=0"
            # Without the open and the totals the CLI prints at the end (what
            # `stats` costs on the same store): the put itself.
            over_n, over_0 = med(pick(n, "stats", "warm")), med(pick(0, "stats", "warm"))
            if n and base_put and over_n is not None and over_0 is not None:
                own, own0 = warm - over_n, base_put - over_0
                note += f"; less `stats`: {b / own / 1e6:.0f} MB/s, {own0 / own:.2f}x"
        print(f"| {n:,} | {label} | {fmt(warm, '.3f')}{spread} | {fmt(cpu, '.2f')} | {fmt(cold, '.3f')} | "
              f"{fmt(rss / 1024 if rss is not None else None, '.1f')} | {fmt(per, '.0f')} | {note} |")
print()
print("| N | metadata.db MiB (as filled) | B/row | store beside packs after the runs, MiB | fill s | fill rows/s | fill | priming put s | its peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
for n in ns:
    db = [r["bytes"] for r in rows if r["n"] == n and r["op"] == "db"][-1]
    ib = [r["bytes"] for r in rows if r["n"] == n and r["op"] == "index_bytes"]
    ib = f"{ib[-1] / 2**20:.1f}" if ib else "-"
    fill = [r["out"] for r in rows if r["n"] == n and r["op"] == "fill"][-1]
    per = f"{db / n:.0f}" if n else "-"
    how = ""
    if n:
        how = ("sorted" if fill.get("sorted") else "random") + f", batches of {fill.get('batch', 0):,}"
    prime = [r for r in rows if r["n"] == n and r["op"] == "prime"]
    pw = f"{prime[-1]['wall']:.2f}" if prime else "-"
    pr = f"{prime[-1]['maxrss_kb'] / 1024:.1f}" if prime else "-"
    print(f"| {n:,} | {db / 2**20:.1f} | {per} | {ib} | {fill['seconds']:.1f} | {fill['rows_per_s']:,.0f} | {how} | {pw} | {pr} |")
PY
mv "$TABLE.tmp" "$TABLE"
cat "$TABLE"
echo "index_scale: log $LOG, table $TABLE" >&2
