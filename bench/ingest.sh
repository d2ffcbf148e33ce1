#!/usr/bin/env bash
# Ingest and restore benchmarks of artifact-store on the corpus of ../shared/BENCHMARKS.md,
# with the physical limits measured in the same run, next to each measurement.
#
# For each mode (1core: taskset -c 1; 2core: taskset -c 0,1) and each of $AS_RUNS runs:
#   limits    page-cache read() pass, memcpy and an in-memory read pass of 1 GiB (bench C
#             helper, pinned like the store), and `dd bs=4M conv=fdatasync` of 1 GiB to $AS_TMP
#   random_1g put into a fresh store (wall includes the fsyncs), du; get warm to /dev/null,
#             get -o FILE (includes its fsync), get cold (drop_caches) to /dev/null,
#             `cat` of the packs cold (the disk read limit)
#   real_v1   the same, then real_v2 into the same store: bytes it added; get v2 warm and -o FILE
# One JSON line per measurement goes to $AS_LOG; bench/report.py turns them into tables.
#
# Environment: AS_BIN, AS_CORPUS_DIR, AS_RUNS (3), AS_MODES ("1core 2core"), AS_TMP (/tmp),
#              AS_LOG (bench/out/ingest-<stamp>.jsonl), AS_CODEC (default codec of the store)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${AS_BIN:-$root/build/bin/artifact-store}"
CORPUS="${AS_CORPUS_DIR:-$here/corpus}"
RUNS="${AS_RUNS:-3}"
MODES="${AS_MODES:-1core 2core}"
mkdir -p "$here/out"
LOG="${AS_LOG:-$here/out/ingest-$(date +%Y%m%d-%H%M%S).jsonl}"
WORK="$(mktemp -d "${AS_TMP:-/tmp}/as-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
CODEC_ARGS=()
[[ -n "${AS_CODEC:-}" ]] && CODEC_ARGS=(--codec "$AS_CODEC")

for f in random_1g real_v1 real_v2; do
  [[ -s "$CORPUS/$f" ]] || { echo "ingest: $CORPUS/$f missing: run bench/corpus.sh" >&2; exit 1; }
done
[[ -x "$BIN" ]] || { echo "ingest: $BIN missing: cmake --build build --target artifact-store" >&2; exit 1; }

T() { python3 "$here/timeit.py" --log "$LOG" "$@"; }
pin() { case "$1" in 1core) echo "taskset -c 1" ;; *) echo "taskset -c 0,1" ;; esac; }
warm() { cat "$@" >/dev/null; }
can_drop=0
[[ -w /proc/sys/vm/drop_caches ]] && can_drop=1
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The C helper: page-cache read() pass, memcpy, in-memory read pass (best of 3 each,
# after one untimed pass that faults every page in).
cc -O2 -march=native -o "$WORK/limits" -x c - <<'EOF'
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double read_pass(const char *path, uint8_t *buf, size_t n) {
  int fd = open(path, O_RDONLY); if (fd < 0) { perror(path); exit(1); }
  double t = now(); size_t got = 0;
  while (got < n) { ssize_t r = read(fd, buf + got, n - got < (1 << 20) ? n - got : (1 << 20)); if (r <= 0) break; got += r; }
  t = now() - t; close(fd); return got / t / 1e9;
}
int main(int argc, char **argv) {
  size_t n = (size_t)1 << 30;
  uint8_t *a = aligned_alloc(4096, n), *b = aligned_alloc(4096, n);
  memset(a, 1, n); memset(b, 2, n);
  double rd = 0, cp = 0, sum = 0; uint64_t acc = 0;
  for (int i = 0; i < 3; i++) { double g = read_pass(argv[1], a, n); if (g > rd) rd = g; }
  for (int i = 0; i < 3; i++) { double t = now(); memcpy(b, a, n); t = now() - t; if (n / t / 1e9 > cp) cp = n / t / 1e9; }
  for (int i = 0; i < 3; i++) {
    double t = now(); const uint64_t *p = (const uint64_t *)b; uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t j = 0; j < n / 8; j += 4) { s0 += p[j]; s1 += p[j + 1]; s2 += p[j + 2]; s3 += p[j + 3]; }
    t = now() - t; acc += s0 ^ s1 ^ s2 ^ s3; if (n / t / 1e9 > sum) sum = n / t / 1e9;
  }
  printf("{\"pagecache_read_gbs\":%.3f,\"memcpy_gbs\":%.3f,\"mem_read_gbs\":%.3f,\"x\":%llu}\n", rd, cp, sum, (unsigned long long)(acc & 1));
  return 0;
}
EOF

packs_of() { find "$1/packs" -type f -print0; }
put() { # mode run corpus store name file
  local mode="$1" run="$2" corpus="$3" store="$4" name="$5" file="$6"
  T --set tool=artifact-store --set mode="$mode" --set run="$run" --set corpus="$corpus" \
    --set op=put --set bytes="$(stat -c %s "$file")" --capture "$WORK/put.json" -- \
    $(pin "$mode") "$BIN" -s "$store" put "$file" --name "$name" --json "${CODEC_ARGS[@]}"
  T --set tool=artifact-store --set mode="$mode" --set run="$run" --set corpus="$corpus" \
    --set op=du --set du_bytes="$(du -sB1 "$store" | cut -f1)" \
    --set du_apparent="$(du -sb "$store" | cut -f1)" -- true
}
get() { # mode run corpus store name bytes
  local mode="$1" run="$2" corpus="$3" store="$4" name="$5" bytes="$6"
  local common=(--set tool=artifact-store --set mode="$mode" --set run="$run" --set corpus="$corpus"
                --set bytes="$bytes")
  "$BIN" -s "$store" get "$name" >/dev/null  # the prior read: page cache warm
  T "${common[@]}" --set op=get_warm --stdout /dev/null -- $(pin "$mode") "$BIN" -s "$store" get "$name"
  T "${common[@]}" --set op=get_file -- $(pin "$mode") "$BIN" -s "$store" get "$name" -o "$WORK/out"
  rm -f "$WORK/out"
}
get_cold() { # mode run corpus store name bytes
  local mode="$1" run="$2" corpus="$3" store="$4" name="$5" bytes="$6"
  local common=(--set tool=artifact-store --set mode="$mode" --set run="$run" --set corpus="$corpus")
  ((can_drop)) || return 0
  drop
  T "${common[@]}" --set bytes="$bytes" --set op=get_cold --stdout /dev/null -- \
    $(pin "$mode") "$BIN" -s "$store" get "$name"
  drop
  local packs_bytes
  packs_bytes="$(packs_of "$store" | du -cb --files0-from=- | tail -1 | cut -f1)"
  T "${common[@]}" --set bytes="$packs_bytes" --set op=limit_cold_read -- \
    bash -c 'find "$1/packs" -type f -print0 | xargs -0 cat >/dev/null' _ "$store"
}
limit_write() { # mode run
  warm "$CORPUS/random_1g"
  T --set tool=limit --set mode="$1" --set run="$2" --set corpus=random_1g --set op=limit_write \
    --set bytes=$((1 << 30)) -- $(pin "$1") dd if="$CORPUS/random_1g" of="$WORK/ddx" bs=4M \
    conv=fdatasync status=none
  rm -f "$WORK/ddx"
}

echo "ingest: $BIN -> $LOG (runs $RUNS, modes $MODES, work dir $WORK)" >&2
T --set tool=artifact-store --set op=cpu --capture "$WORK/cpu.json" -- "$BIN" cpu --json || true

# Warm-up: one put and one dd, not recorded (first touches of page-cache memory are slow here).
warm "$CORPUS/random_1g" "$CORPUS/real_v1"
"$BIN" -s "$WORK/warmup" put "$CORPUS/random_1g" --name w/r >/dev/null
rm -rf "$WORK/warmup"
dd if="$CORPUS/random_1g" of="$WORK/ddx" bs=4M conv=fdatasync status=none
rm -f "$WORK/ddx"

for mode in $MODES; do
  for run in $(seq 1 "$RUNS"); do
    echo "ingest: $mode run $run" >&2
    warm "$CORPUS/random_1g"
    T --set tool=limit --set mode="$mode" --set run="$run" --set op=limits \
      --capture "$WORK/limits.json" -- $(pin "$mode") "$WORK/limits" "$CORPUS/random_1g"

    # random_1g
    limit_write "$mode" "$run"
    store="$WORK/store-r"
    rm -rf "$store"
    warm "$CORPUS/random_1g"
    put "$mode" "$run" random_1g "$store" b/random "$CORPUS/random_1g"
    get "$mode" "$run" random_1g "$store" b/random $((1 << 30))
    get_cold "$mode" "$run" random_1g "$store" b/random $((1 << 30))
    rm -rf "$store"

    # real_v1, then real_v2 into the same store
    limit_write "$mode" "$run"
    store="$WORK/store-v"
    rm -rf "$store"
    warm "$CORPUS/real_v1" "$CORPUS/real_v2"
    put "$mode" "$run" real_v1 "$store" b/v1 "$CORPUS/real_v1"
    put "$mode" "$run" real_v2 "$store" b/v2 "$CORPUS/real_v2"
    get "$mode" "$run" real_v1 "$store" b/v1 "$(stat -c %s "$CORPUS/real_v1")"
    get "$mode" "$run" real_v2 "$store" b/v2 "$(stat -c %s "$CORPUS/real_v2")"
    get_cold "$mode" "$run" real_v1 "$store" b/v1 "$(stat -c %s "$CORPUS/real_v1")"
    rm -rf "$store"
  done
done
echo "ingest: done: $LOG" >&2
