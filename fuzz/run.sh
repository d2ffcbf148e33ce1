#!/usr/bin/env bash
# Runs libFuzzer harnesses: fuzz/run.sh BUILD SECONDS TARGET...
# Each starts from fuzz/seeds/<target> (when there) and the corpus it kept in
# BUILD/corpus/<target>, with fuzz/dict/<target>.dict as its dictionary. On a
# finding it prints the end of the log and the command that replays the input
# (kept in BUILD/findings/), and the script exits non-zero after the others ran.
set -uo pipefail
build=$1 secs=$2
shift 2
bin=$build/bin/as_fuzz
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/findings"
failed=()
for t in "$@"; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus"
  args=(-max_total_time="$secs" -timeout=10 -max_len=8192 -print_final_stats=1
        -artifact_prefix="$build/findings/$t-")
  [ -f "$here/dict/$t.dict" ] && args+=(-dict="$here/dict/$t.dict")
  dirs=("$corpus")
  [ -d "$here/seeds/$t" ] && dirs+=("$here/seeds/$t")
  log=$build/fuzz-$t.log
  # The server harness keeps a store (and server threads) across inputs:
  # per-input leak checks would see its caches grow; its store goes in tmp.
  leaks=1
  [ "$t" = server ] && leaks=0
  # Stores the harnesses make go to memory when it can: they fsync a lot.
  tmpbase=$build/fuzz-tmp
  [ -d /dev/shm ] && [ -w /dev/shm ] && tmpbase=/dev/shm/as-fuzz-$$
  tmp=$tmpbase/$t
  rm -rf "$tmp" && mkdir -p "$tmp"
  if TMPDIR=$tmp AS_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=$leaks UBSAN_OPTIONS=print_stacktrace=1 \
      "$bin" "${args[@]}" "${dirs[@]}" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz: $t: ${runs:-?} inputs in ${secs}s, nothing found; corpus $(ls "$corpus" | wc -l) files"
  else
    failed+=("$t")
    echo "fuzz: $t: FOUND something; log $log; last lines:"
    tail -n 30 "$log" | sed 's/^/  /'
    art=$(grep -o "$build/findings/$t-[^ ]*" "$log" | tail -n 1)
    [ -n "$art" ] && echo "  replay: AS_FUZZ_TARGET=$t $bin $art"
  fi
  rm -rf "$tmp"
  rmdir "$tmpbase" 2>/dev/null
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
