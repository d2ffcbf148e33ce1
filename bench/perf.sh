#!/usr/bin/env bash
# Where the time of one put goes: `perf record` (default event, cpu-clock on this VM)
# of one single-core put of random_1g and one of real_v1 into fresh stores on $AS_TMP,
# then `perf report` top symbols (self time, user and kernel) into $AS_PERF_OUT.
#
# Environment: AS_BIN, AS_CORPUS_DIR, AS_TMP (/tmp), AS_PERF_OUT (bench/out/perf-<stamp>.txt),
#              AS_PERF_TOP (30 symbols)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${AS_BIN:-$root/build/bin/artifact-store}"
CORPUS="${AS_CORPUS_DIR:-$here/corpus}"
TOP="${AS_PERF_TOP:-30}"
PERF="${PERF:-/usr/bin/perf}"
mkdir -p "$here/out"
OUT="${AS_PERF_OUT:-$here/out/perf-$(date +%Y%m%d-%H%M%S).txt}"
WORK="$(mktemp -d "${AS_TMP:-/tmp}/as-perf.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

: >"$OUT"
for corpus in random_1g real_v1; do
  cat "$CORPUS/$corpus" >/dev/null
  rm -rf "$WORK/store"
  echo "perf: put $corpus" >&2
  # -F 2000: 2 kHz of samples is plenty for a few seconds of work.
  python3 "$here/timeit.py" --log "$WORK/time.jsonl" -- "$PERF" record -q -F 2000 -o "$WORK/perf.data" -- \
    taskset -c 1 "$BIN" -s "$WORK/store" put "$CORPUS/$corpus" --name b/x --json \
    >"$WORK/put.json" 2>"$WORK/perf.err" || { cat "$WORK/perf.err" >&2; exit 1; }
  "$PERF" report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym \
    --percent-limit 0 2>/dev/null >"$WORK/report.txt"
  {
    echo "=== put $corpus (taskset -c 1): $(cat "$WORK/put.json")"
    python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("under perf: wall %.2f s, user %.2f s, sys %.2f s, off-CPU (waiting, mostly fsync) %.2f s" % (r["wall"], r["user"], r["sys"], r["wall"]-r["user"]-r["sys"]))' "$WORK/time.jsonl"
    python3 - "$WORK/report.txt" "$TOP" <<'PY'
import collections, re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*\S)", line)
    if m:
        rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
# Stripped libraries (Debian's libzstd) show addresses: fold them into one row.
folded = collections.OrderedDict()
for pct, dso, kind, sym in rows:
    if dso.startswith("artifact-store"):
        dso = "artifact-store"  # run.sh profiles a private copy named artifact-store-<stamp>
    if re.fullmatch(r"0x[0-9a-f]+", sym):
        sym = "(no symbols: every address in %s)" % dso
    key = (dso, kind, sym)
    folded[key] = folded.get(key, 0) + pct
top = sorted(folded.items(), key=lambda kv: -kv[1])[: int(sys.argv[2])]
print("--- top symbols, share of cpu-clock samples (self) ---")
for (dso, kind, sym), pct in top:
    print("%6.2f%%  %-22s [%s] %s" % (pct, dso, kind, sym))
cats = [("kernel, all but read(): write() into the page cache or O_DIRECT, ext4, block I/O, scheduling",
         lambda d, k, s: k == "k" and not s.startswith("_copy_to_iter")),
        ("kernel: read() from the page cache (_copy_to_iter)", lambda d, k, s: k == "k"),
        ("BLAKE3 (blake3_*)", lambda d, k, s: "blake3" in s),
        ("FastCDC cut loop", lambda d, k, s: "Fastcdc" in s or "fastcdc" in s.lower()),
        ("zstd (libzstd)", lambda d, k, s: "zstd" in d),
        ("CRC-32C", lambda d, k, s: "Crc32c" in s or "crc32c" in s.lower()),
        ("libc memcpy/memmove/memset", lambda d, k, s: d.startswith("libc") and "mem" in s),
        ("SQLite", lambda d, k, s: "sqlite" in d),
        ("other", lambda d, k, s: True)]
sums = collections.OrderedDict((c, 0.0) for c, _ in cats)
for pct, dso, kind, sym in rows:
    for c, f in cats:
        if f(dso, kind, sym):
            sums[c] += pct
            break
print("--- by activity ---")
for c, v in sums.items():
    print("%6.2f%%  %s" % (v, c))
PY
    echo
  } >>"$OUT"
  rm -f "$WORK/perf.data" "$WORK/perf.data.old"
done
rm -rf "$WORK/store"
cat "$OUT"
