#!/usr/bin/env bash
# Builds the benchmark corpus of ../shared/BENCHMARKS.md into bench/corpus/
# (or $AS_CORPUS_DIR). Idempotent: a file that exists with the right size is kept.
#
#   real_v1    exactly 1 GiB: tar of /usr/bin, /usr/lib/x86_64-linux-gnu, /usr/share
#              (--sort=name), each cut with head -c: 357913941, 357913941, 2^30 - 2*357913941
#   real_v2    real_v1 with 200 seeded random edits (bench/make_v2.py); prints the new bytes
#   random_1g  1 GiB of AES-128-CTR keystream over /dev/zero, fixed pass (incompressible)
#
# The tar streams depend on the files installed on this machine, so the same
# script gives different bytes elsewhere (and after apt installs anything):
# bench/corpus/SHA256SUMS records what a run used.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${AS_CORPUS_DIR:-$here/corpus}"
mkdir -p "$dir"
GiB=$((1 << 30))
CUT=357913941
LAST=$((GiB - 2 * CUT))

size_of() { stat -c %s "$1" 2>/dev/null || echo -1; }

# One tar stream, cut at $2 bytes. tar dies of SIGPIPE when head stops reading:
# that is expected, so only the byte count is checked.
tar_cut() {
  local path="$1" n="$2"
  set +o pipefail
  tar -cf - --sort=name -C / "$path" 2>/dev/null | head -c "$n"
  set -o pipefail
}

if [[ "$(size_of "$dir/real_v1")" != "$GiB" ]]; then
  echo "corpus: building real_v1" >&2
  {
    tar_cut usr/bin "$CUT"
    tar_cut usr/lib/x86_64-linux-gnu "$CUT"
    tar_cut usr/share "$LAST"
  } >"$dir/real_v1.tmp"
  got="$(size_of "$dir/real_v1.tmp")"
  if [[ "$got" != "$GiB" ]]; then
    echo "corpus: real_v1 is $got bytes, not $GiB (a tree is smaller than its cut?)" >&2
    exit 1
  fi
  mv "$dir/real_v1.tmp" "$dir/real_v1"
  rm -f "$dir/real_v2" "$dir/real_v2.json"  # v2 derives from v1
fi

if [[ ! -s "$dir/real_v2" || ! -s "$dir/real_v2.json" ]]; then
  echo "corpus: building real_v2" >&2
  python3 "$here/make_v2.py" "$dir/real_v1" "$dir/real_v2" --seed 20240601 --edits 200 \
    >"$dir/real_v2.json"
fi
echo "corpus: real_v2 edits: $(cat "$dir/real_v2.json")" >&2

if [[ "$(size_of "$dir/random_1g")" != "$GiB" ]]; then
  echo "corpus: building random_1g" >&2
  set +o pipefail
  openssl enc -aes-128-ctr -nosalt -pass pass:artifact-store-bench -pbkdf2 -iter 1 \
    </dev/zero 2>/dev/null | head -c "$GiB" >"$dir/random_1g.tmp"
  set -o pipefail
  [[ "$(size_of "$dir/random_1g.tmp")" == "$GiB" ]] || { echo "corpus: random_1g short" >&2; exit 1; }
  mv "$dir/random_1g.tmp" "$dir/random_1g"
fi

# Checksums: recomputed only when a file is newer than the list.
sums="$dir/SHA256SUMS"
if [[ ! -s "$sums" || "$dir/real_v1" -nt "$sums" || "$dir/real_v2" -nt "$sums" ||
      "$dir/random_1g" -nt "$sums" ]]; then
  (cd "$dir" && sha256sum real_v1 real_v2 random_1g >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
fi
cat "$sums"
