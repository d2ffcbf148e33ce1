# Sourced by bench/index_scale.sh and bench/gc_scale.sh: the binaries, the
# input files and the filled template stores ($DIR/idx-N) they share.
# The caller sets `here` (bench/), NAME (its name, for messages), DIR, LOG,
# and runs with `set -euo pipefail`.

root="$(cd "$here/.." && pwd)"
if [[ -z "${AS_BIN:-}" ]]; then
  AS_BIN="$root/build/bin/artifact-store"
  [[ -x "$root/build-release/bin/artifact-store" ]] && AS_BIN="$root/build-release/bin/artifact-store"
fi
BIN="$AS_BIN"
# index_fill's time is SQLite's: a Debug build of it does as well (build-release has no bench/).
FILL="${AS_FILL:-$(dirname "$BIN")/index_fill}"
[[ -n "${AS_FILL:-}" || -x "$FILL" ]] || FILL="$root/build/bin/index_fill"
for b in "$BIN" "$FILL"; do
  [[ -x "$b" ]] || { echo "$NAME: $b missing (cmake --build build-release --target" \
                          "artifact-store; cmake --build build --target index_fill)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "$NAME: curl missing" >&2; exit 1; }
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$BIN")/../CMakeCache.txt" 2>/dev/null || true)
mkdir -p "$here/out" "$DIR"

T() { python3 "$here/timeit.py" --log "$LOG" "$@"; }
AS() { "$BIN" -s "$@"; }
# Deterministic random bytes: rand_file PATH BYTES SEED (as tests/server/clients/lib.sh).
rand_file() {
  (set +o pipefail
   openssl enc -aes-128-ctr -pass "pass:$3" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
     head -c "$2" >"$1.tmp")
  mv "$1.tmp" "$1"
}

SMALL="$DIR/small.bin"  # the one real artifact of every template, bench/small
[[ -s "$SMALL" ]] || rand_file "$SMALL" $((4 << 20)) index-scale-small
PRIME="$DIR/prime.bin"  # new chunks for every copy: the priming put stores something
[[ -s "$PRIME" ]] || rand_file "$PRIME" $((256 << 10)) index-scale-prime

# The filled store for N rows, $DIR/idx-N, is a template: made once (reused
# while $DIR/idx-N.fill.json says it is complete) and never opened by
# artifact-store afterwards, so that every binary starts from the same bytes
# (a newer build may migrate the schema of what it opens, which an older one
# then refuses). template N COPY copies it to COPY (a run measures a copy);
# $DIR/idx-N.lock keeps concurrent runs from making the same template twice.
# Logs {"op":"fill"} (cached 0 or 1) and {"op":"db"} (metadata.db's bytes).
template() { # n copy
  local n="$1" copy="$2" store="$DIR/idx-$1" info="$DIR/idx-$1.fill.json" lock cached=1
  exec {lock}>"$DIR/idx-$n.lock"
  flock -x "$lock"
  if [[ "${AS_REFILL:-0}" == 1 || ! -s "$info" || ! -d "$store" ]]; then
    rm -rf "$store" "$info"
    AS "$store" init >/dev/null
    AS "$store" put "$SMALL" --name bench/small >/dev/null 2>&1
    echo "$NAME: filling $store with $n rows" >&2
    local args=(--batch 100000)
    ((n >= 50000000)) && args=(--sorted --batch 1000000)
    [[ -n "${AS_FILL_ARGS:-}" ]] && read -r -a args <<<"$AS_FILL_ARGS"
    "$FILL" "$store" "$n" "${args[@]}" >"$info.tmp"
    mv "$info.tmp" "$info"
    cached=0
  else
    echo "$NAME: reusing $store ($(cat "$info"))" >&2
  fi
  echo "{\"n\":$n,\"op\":\"fill\",\"cached\":$cached,\"out\":$(cat "$info")}" >>"$LOG"
  local db=0 f
  for f in "$store"/metadata.db "$store"/metadata.db-wal; do
    [[ -f "$f" ]] && db=$((db + $(stat -c %s "$f")))
  done
  echo "{\"n\":$n,\"op\":\"db\",\"bytes\":$db}" >>"$LOG"
  rm -rf "$copy"
  cp -a "$store" "$copy"
  exec {lock}>&-
  sync  # the copy's dirty pages are not the measured commands' to write
}
