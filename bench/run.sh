#!/usr/bin/env bash
# The whole benchmark: corpus, artifact-store ingest/restore, peers, perf profile,
# then bench/out/results-<date>.md (gitignored) with the machine, the commands, the
# corpus checksums, the tables (median with min-max, ratios, limits) and the profile.
#
#   bash bench/run.sh                    # everything (about 30-45 minutes on 2 cores)
#   AS_SKIP_PEERS=1 bash bench/run.sh    # without restic/borg/casync
#   AS_PEER_RUNS=1 bash bench/run.sh     # peers once each (they are the slow part)
#
# Environment: see corpus.sh, ingest.sh, peers.sh, perf.sh; AS_NO_BUILD=1 skips the
# `cmake --build build --target artifact-store` step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$here/out"
OUT="$here/out/results-$stamp.md"
export AS_CORPUS_DIR="${AS_CORPUS_DIR:-$here/corpus}"
t0=$(date +%s)

if [[ -z "${AS_NO_BUILD:-}" ]]; then
  (cd "$root" && cmake --build build --target artifact-store >&2)
fi
# A private copy of the binary: other people rebuilding build/ mid-run cannot swap it.
BIN_SRC="${AS_BIN:-$root/build/bin/artifact-store}"
export AS_BIN="$here/out/artifact-store-$stamp"
cp "$BIN_SRC" "$AS_BIN"
trap 'rm -f "$AS_BIN"' EXIT
# What is measured, taken now: the tree and build/ may change while this runs.
commit="$(git -C "$root" rev-parse --short HEAD)"
dirty="$(git -C "$root" status --porcelain -- src CMakeLists.txt | wc -l)"
built="$(date -u -r "$BIN_SRC" '+%Y-%m-%d %H:%M UTC')"
binsum="$(sha256sum "$AS_BIN" | cut -c1-16)"
btype="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$root/build/CMakeCache.txt" 2>/dev/null || true)"

# Peers' packages first: installing them after the corpus would change /usr/bin, so a
# later rebuild of real_v1 would differ.
[[ -n "${AS_SKIP_PEERS:-}" ]] || AS_INSTALL_ONLY=1 bash "$here/peers.sh" >&2
bash "$here/corpus.sh" >&2

ING="$here/out/ingest-$stamp.jsonl"
PEE="$here/out/peers-$stamp.jsonl"
PRF="$here/out/perf-$stamp.txt"
AS_LOG="$ING" bash "$here/ingest.sh"
[[ -n "${AS_SKIP_PEERS:-}" ]] || AS_LOG="$PEE" AS_NO_INSTALL=1 bash "$here/peers.sh"
AS_PERF_OUT="$PRF" bash "$here/perf.sh" >/dev/null
t1=$(date +%s)

{
  echo "# artifact-store benchmark results, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Commit $commit at the start of the run ($dirty uncommitted paths under src/ then),"
  echo "binary $BIN_SRC built $built, sha256 $binsum..., build type ${btype:-RelWithDebInfo (the CMakeLists default)}."
  echo "Whole run: $(( (t1 - t0) / 60 )) min."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, flags: $(grep -o -w -E 'avx2|avx512f|sha_ni|vaes' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "- artifact-store cpu: $("$AS_BIN" cpu --json)"
  echo "- kernel $(uname -r), memory $(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME") (Debian $(cat /etc/debian_version))"
  echo "- /tmp: $(df -T /tmp | awk 'NR==2 {print $2 " on " $1 ", " $5 " free of " $3 " KiB blocks"}')"
  echo "- peers: $(restic version 2>/dev/null | cut -d' ' -f1-2), $(borg --version 2>/dev/null), casync $(dpkg-query -W -f '${Version}' casync 2>/dev/null), libzstd $(dpkg-query -W -f '${Version}' libzstd1 2>/dev/null)"
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)"
  echo
  echo "## Corpus"
  echo
  echo '```'
  cat "$AS_CORPUS_DIR/SHA256SUMS"
  echo "real_v2 edits: $(cat "$AS_CORPUS_DIR/real_v2.json")"
  echo '```'
  echo
  echo "## Commands"
  echo
  echo '```'
  echo "bash bench/run.sh    # = corpus.sh, peers.sh (install), ingest.sh, peers.sh, perf.sh, report.py"
  echo "put:     taskset -c 1 artifact-store -s /tmp/as-bench.X/store-r put bench/corpus/random_1g --name b/random --json"
  echo "get:     taskset -c 1 artifact-store -s STORE get b/random >/dev/null | -o /tmp/as-bench.X/out"
  echo "cold:    sync; echo 3 >/proc/sys/vm/drop_caches; then the get"
  echo "limits:  dd if=bench/corpus/random_1g of=/tmp/as-bench.X/ddx bs=4M conv=fdatasync; C helper (read(), memcpy, read pass)"
  echo "restic:  restic init; taskset -c 1 restic backup -q --tag v1 real_v1; restic restore latest --tag v2 --target DIR"
  echo "borg:    borg init --encryption none; taskset -c 1 borg create --compression lz4 [--chunker-params buzhash,14,18,16,4095] REPO::v1 real_v1; borg extract"
  echo "casync:  taskset -c 1 casync make --store=S v1.caibx real_v1; casync extract --store=S v2.caibx OUT"
  echo '```'
  echo
  echo "## Results"
  python3 "$here/report.py" --ingest "$ING" --peers "$PEE" --corpus "$AS_CORPUS_DIR"
  echo
  echo "## Where the time goes (perf record, default event cpu-clock, one put each, taskset -c 1)"
  echo
  echo '```'
  cat "$PRF"
  echo '```'
  echo
  echo "Raw measurements: $ING, $PEE"
} >"$OUT"
echo "run: wrote $OUT" >&2
