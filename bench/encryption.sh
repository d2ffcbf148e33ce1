#!/usr/bin/env bash
# Encrypted against unencrypted ingest and warm restore, in the same run
# (docs/benchmarks.md, "Encryption at rest"). For each mode (1core: taskset
# -c 1; 2core: taskset -c 0,1), corpus (real_v1, random_1g of
# ../shared/BENCHMARKS.md) and run, plain and encrypted alternate: a fresh
# store, `put` timed (with its fsyncs), then `get` to /dev/null warm (one
# untimed get first) and `get -o FILE` (a restore to disk, fsynced). The limit beside them: OpenSSL's AES-256-GCM on this
# CPU (`openssl speed`, 64 KiB blocks, pinned like the store).
# One JSON line per measurement goes to $AS_LOG; a table of medians and
# ratios (encrypted / plain) is printed at the end.
#
# Environment: AS_BIN (build-release), AS_CORPUS_DIR, AS_RUNS (3), AS_MODES
#              ("1core 2core"), AS_CORPORA ("real_v1 random_1g"), AS_TMP (/tmp), AS_LOG
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BIN="${AS_BIN:-$root/build-release/bin/artifact-store}"
CORPUS="${AS_CORPUS_DIR:-$here/corpus}"
RUNS="${AS_RUNS:-3}"
MODES="${AS_MODES:-1core 2core}"
CORPORA="${AS_CORPORA:-real_v1 random_1g}"
mkdir -p "$here/out"
LOG="${AS_LOG:-$here/out/encryption-$(date +%Y%m%d-%H%M%S).jsonl}"
WORK="$(mktemp -d "${AS_TMP:-/tmp}/as-bench-enc.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
[[ -x "$BIN" ]] || { echo "encryption: $BIN missing" >&2; exit 1; }
for c in $CORPORA; do
  [[ -s "$CORPUS/$c" ]] || { echo "encryption: $CORPUS/$c missing: run bench/corpus.sh" >&2; exit 1; }
done

T() { python3 "$here/timeit.py" --log "$LOG" "$@"; }
pin() { case "$1" in 1core) echo "taskset -c 1" ;; *) echo "taskset -c 0,1" ;; esac; }
head -c 32 /dev/urandom >"$WORK/master.key"
chmod 600 "$WORK/master.key"

for mode in $MODES; do
  # The cipher's own speed on this CPU: the limit of the sealing and opening.
  gcm=$($(pin "$mode") openssl speed -evp aes-256-gcm -bytes 65536 -seconds 2 2>/dev/null |
        awk '/^AES-256-GCM|^aes-256-gcm/ {print $NF}' | tr -d k)
  echo "{\"mode\":\"$mode\",\"what\":\"openssl_aes256gcm_64k_kBps\",\"value\":${gcm:-0}}" >>"$LOG"
  for corpus in $CORPORA; do
    cat "$CORPUS/$corpus" >/dev/null
    for run in $(seq "$RUNS"); do
      for enc in plain encrypted; do
        store="$WORK/$enc"
        rm -rf "$store"
        args=(-s "$store" --master-key-file "$WORK/master.key")
        if [[ $enc == encrypted ]]; then
          "$BIN" "${args[@]}" init --encrypt >/dev/null 2>&1
        else
          "$BIN" "${args[@]}" init >/dev/null 2>&1
        fi
        tags=(--set mode="$mode" --set corpus="$corpus" --set run="$run" --set enc="$enc")
        T "${tags[@]}" --set op=put --stdout /dev/null -- \
          $(pin "$mode") "$BIN" "${args[@]}" put "$CORPUS/$corpus" --name c/f
        $(pin "$mode") "$BIN" "${args[@]}" get c/f >/dev/null
        T "${tags[@]}" --set op=get --stdout /dev/null -- \
          $(pin "$mode") "$BIN" "${args[@]}" get c/f
        # A restore to a file (O_DIRECT from 8 MiB, fsynced): the disk's share.
        T "${tags[@]}" --set op=get_file --stdout /dev/null -- \
          $(pin "$mode") "$BIN" "${args[@]}" get c/f -o "$WORK/restored"
        rm -f "$WORK/restored"
      done
    done
  done
done
rm -rf "$WORK/plain" "$WORK/encrypted"

python3 - "$LOG" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
limit = {r["mode"]: r["value"] for r in rows if r.get("what") == "openssl_aes256gcm_64k_kBps"}
runs = {}
for r in rows:
    if "op" not in r:
        continue
    runs.setdefault((r["mode"], r["corpus"], r["op"], r["enc"]), []).append(r["wall"])
print("| mode | corpus | op | plain MB/s | encrypted MB/s | encrypted/plain | AES-256-GCM alone MB/s |")
print("|---|---|---|---|---|---|---|")
GiB = 1 << 30
for (mode, corpus, op, enc), walls in sorted(runs.items()):
    if enc != "plain":
        continue
    p = statistics.median(walls)
    e = statistics.median(runs.get((mode, corpus, op, "encrypted"), [float("nan")]))
    print(f"| {mode} | {corpus} | {op} | {GiB / p / 1e6:.0f} | {GiB / e / 1e6:.0f} | "
          f"{p / e:.2f} | {limit.get(mode, 0) * 1000 / 1e6:.0f} |")
PY
echo "encryption: log $LOG" >&2
