#!/usr/bin/env bash
# Delta chunks A/B on the corpus: real_v2 put into a store holding real_v1,
# with delta chunks (the default) and with --no-delta, alternating, on one
# core; then get of real_v2 from each store, warm page cache.
#
#   bash bench/delta.sh [BIN_DIR] [REPS]     (default build/bin, 3)
#
# Prints, per variant: bytes stored for real_v2, put and get wall seconds
# and CPU seconds (user+sys), median (min-max) over REPS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$(realpath "${1:-$here/../build/bin}")/artifact-store"
reps="${2:-3}"
corpus="${AS_CORPUS_DIR:-$here/corpus}"
bash "$here/corpus.sh" >/dev/null
work=$(mktemp -d /tmp/as-delta-XXXXXX)
trap 'rm -rf "$work"' EXIT
cpu="${AS_BENCH_CPU:-1}"

taskset -c "$cpu" "$bin" -s "$work/base" put "$corpus/real_v1" --name c/v1 >/dev/null 2>&1
sync
# One sample: prints "wall cpu" of the command (its stdout to $OUT, default
# $work/out).
sample() {
  /usr/bin/time -f "%e %U %S" -o "$work/time" taskset -c "$cpu" "$@" > "${OUT:-$work/out}" 2>/dev/null
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}
declare -A put_wall put_cpu get_wall get_cpu stored
for r in $(seq "$reps"); do
  for v in delta nodelta; do
    rm -rf "$work/$v"
    cp -a "$work/base" "$work/$v"
    flag=()
    [ "$v" = nodelta ] && flag=(--no-delta)
    read -r w c < <(sample "$bin" -s "$work/$v" put "$corpus/real_v2" --name c/v2 "${flag[@]}" --json)
    put_wall[$v]+="$w "; put_cpu[$v]+="$c "
    stored[$v]=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["stored_bytes"], j["new_chunks"], j["delta_chunks"])' "$work/out")
    cat "$work/$v/packs"/*/*.pack > /dev/null  # warm
    read -r w c < <(OUT=/dev/null sample "$bin" -s "$work/$v" get c/v2)
    get_wall[$v]+="$w "; get_cpu[$v]+="$c "
  done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%s (%s-%s)", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); cpu $cpu; reps $reps"
printf "| variant | real_v2 stored bytes (new chunks, delta chunks) | put wall s | put CPU s | get wall s | get CPU s |\n|---|---|---|---|---|---|\n"
for v in delta nodelta; do
  printf "| %s | %s | %s | %s | %s | %s |\n" "$v" "${stored[$v]}" \
    "$(echo "${put_wall[$v]}" | med)" "$(echo "${put_cpu[$v]}" | med)" \
    "$(echo "${get_wall[$v]}" | med)" "$(echo "${get_cpu[$v]}" | med)"
done
