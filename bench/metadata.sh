#!/usr/bin/env bash
# Metadata back ends side by side: the same puts and gets with the metadata in
# SQLite (DIR/metadata.db, the embedded default) and on PostgreSQL (a private
# server on loopback, started here with fsync ON: commits as durable as
# SQLite's), in one run, same binary, same CPU.
#
#   bash bench/metadata.sh [BINDIR]     # BINDIR defaults to build/bin; ~6 min
#
# Points (median of AS_META_REPS runs, default 3; each on a fresh store):
#  - CLI put, get -o and put again (all dedup: the index lookups' cost) of
#    real_v1 and random_1g (bench/corpus.sh builds them),
#    MB/s of wall time and MB per CPU-second of the artifact-store process
#    (PostgreSQL's own CPU is reported apart: it is another process);
#  - bench/http/run.sh for 4 KiB objects (GET and PUT, 1 and 64 connections,
#    nginx in the same run), once per back end.
# Output: a Markdown report in bench/out/metadata-DATE.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bindir="$(cd "${1:-$root/build/bin}" && pwd)"
BIN="$bindir/artifact-store"
REPS="${AS_META_REPS:-3}"
PY=/usr/bin/python3
stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/bench/out"
OUT="$root/bench/out/metadata-$stamp.md"
corpus="${AS_CORPUS_DIR:-$here/corpus}"

bash "$here/corpus.sh" >/dev/null
T="$(mktemp -d /tmp/as-meta.XXXXXX)"
PGS="$T/pg"
cleanup() { bash "$root/tests/util/pg_server.sh" stop "$PGS" || true; rm -rf "$T"; }
trap cleanup EXIT
AS_PG_DURABLE=1 bash "$root/tests/util/pg_server.sh" start "$PGS"
[ -f "$PGS/url" ] || { cat "$PGS/skip"; exit 1; }
PGURL=$(cat "$PGS/url")
PGPID=$(cat "$PGS/pid")
schema_n=0

# pg_cpu: CPU ticks of the PostgreSQL server so far: the postmaster's own and
# its reaped children's (a backend ends with its client's connection), plus
# the children still running.
pg_cpu() {
  sleep 0.3  # let the postmaster reap the backends of the command just ended
  local t p
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$PGPID/stat")
  for p in $(pgrep -P "$PGPID" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}

# new_store BACKEND DIR: an empty store whose metadata is in SQLite or in a
# schema of its own on the server.
new_store() {
  rm -rf "$2"
  if [ "$1" = postgresql ]; then
    schema_n=$((schema_n + 1))
    psql -qX "$PGURL" -c "CREATE SCHEMA b$schema_n" >/dev/null
    "$BIN" -s "$2" init --metadata "$PGURL?options=-csearch_path%3Db$schema_n" >/dev/null
  else
    "$BIN" -s "$2" init >/dev/null
  fi
}

# timed LOGTAG CMD...: appends "tag wall user+sys pg_cpu_ticks" to $T/times.
timed() {
  local tag=$1
  shift
  local p0 p1
  p0=$(pg_cpu)
  /usr/bin/time -f "%e %U %S" -o "$T/t" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
  p1=$(pg_cpu)
  read -r wall user sys <"$T/t"
  echo "$tag $wall $(echo "$user + $sys" | bc) $(( p1 - p0 ))" >>"$T/times"
}

for _ in $(seq "$REPS"); do
  for backend in sqlite postgresql; do
    for f in real_v1 random_1g; do
      new_store $backend "$T/s"
      sync
      timed "$backend put $f" "$BIN" -s "$T/s" put "$corpus/$f" --name b/$f
      timed "$backend get $f" "$BIN" -s "$T/s" get b/$f -o "$T/out"
      # The same bytes again under another name: every chunk is a dedup hit,
      # so this is the index lookups' cost (and nothing is written but a
      # manifest).
      timed "$backend reput $f" "$BIN" -s "$T/s" put "$corpus/$f" --name b/$f.again
      rm -f "$T/out"
    done
  done
done

{
  echo "# Metadata back ends, $(date -u +%F) ($(git -C "$root" rev-parse --short HEAD))"
  echo
  echo "PostgreSQL $(psql -XtAc 'show server_version' "$PGURL") on loopback, fsync on,"
  echo "synchronous_commit on; $REPS runs each, fresh store each; median (min-max)."
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)."
  echo
  $PY - "$T/times" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    b, op, f, wall, cpu, pg = line.split()
    rows.setdefault((op, f, b), []).append((float(wall), float(cpu), int(pg) / 100.0))
def fmt(xs):
    return f"{statistics.median(xs):.0f} ({min(xs):.0f}-{max(xs):.0f})"
print("| op | corpus | back end | MB/s (wall) | MB per CPU-s (ours) | PostgreSQL CPU-s | ratio to SQLite (MB/s) |")
print("|---|---|---|---|---|---|---|")
for op in ("put", "get", "reput"):
    for f in ("real_v1", "random_1g"):
        base = statistics.median([2**30 / 1e6 / w for w, _, _ in rows[(op, f, "sqlite")]])
        for b in ("sqlite", "postgresql"):
            r = rows[(op, f, b)]
            mbs = [2**30 / 1e6 / w for w, _, _ in r]
            per_cpu = [2**30 / 1e6 / c for _, c, _ in r]
            pg = statistics.median([p for _, _, p in r])
            print(f"| {op} | {f} | {b} | {fmt(mbs)} | {fmt(per_cpu)} | "
                  f"{pg:.2f} | {statistics.median(mbs) / base:.2f} |")
PY
} >"$OUT"

# Small objects through the S3 server, once per back end (nginx in each run).
for backend in sqlite postgresql; do
  if [ $backend = postgresql ]; then
    schema_n=$((schema_n + 1))
    psql -qX "$PGURL" -c "CREATE SCHEMA b$schema_n" >/dev/null
    export ARTIFACT_STORE_METADATA="$PGURL?options=-csearch_path%3Db$schema_n"
  else
    unset ARTIFACT_STORE_METADATA
  fi
  AS_HTTP_SIZES=o4k AS_HTTP_PUT_SIZES=o4k AS_HTTP_PERF=0 AS_HTTP_REPS="${AS_META_HTTP_REPS:-1}" \
    AS_HTTP_OUT="$T/http-$backend.md" bash "$here/http/run.sh" "$bindir" >/dev/null 2>&1
  { echo; echo "## 4 KiB objects over S3, metadata in $backend (bench/http/run.sh)"; echo;
    cat "$T/http-$backend.md"; } >>"$OUT"
done
unset ARTIFACT_STORE_METADATA
echo "$OUT"
cat "$OUT"
