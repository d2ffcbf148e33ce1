#!/usr/bin/env bash
# The corpus of ../shared/BENCHMARKS.md through restic, borg and casync (Debian 12
# packages), one core (taskset -c 1), fresh repositories on $AS_TMP:
#   ingest real_v1, then real_v2 into the same repository (bytes it adds: du -sb delta),
#   restore v2 to a file, and ingest random_1g into a fresh repository.
# Every ingest and restore is followed by a separately timed `sync` of the files written
# (artifact-store's put and get -o fsync before returning; not every peer does), so
# both "as run" and "as run + sync" figures are in the log.
#
# Configurations (as in BENCHMARKS.md):
#   restic     0.14, repository v2 (the default: compression auto), default chunker (~1 MiB)
#   borg-2m    borg 1.2, --encryption none, --compression lz4, default chunker
#              buzhash,19,23,21,4095 (min 512 KiB, avg 2 MiB, max 8 MiB)
#   borg-64k   the same with --chunker-params buzhash,14,18,16,4095: min 16 KiB,
#              avg 2^16 = 64 KiB, max 256 KiB, 4095-byte window: artifact-store's
#              16/64/256 KiB chunk size bounds
#   casync     casync make of the file (blob index, .caibx): default chunker
#              (buzhash, 16/64/256 KiB) and default compression (zstd)
#
# Environment: AS_CORPUS_DIR, AS_PEER_RUNS (3), AS_PEERS ("restic borg-2m borg-64k casync"),
#              AS_TMP (/tmp), AS_LOG (bench/out/peers-<stamp>.jsonl), AS_NO_INSTALL=1,
#              AS_INSTALL_ONLY=1 (install the packages and stop)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORPUS="${AS_CORPUS_DIR:-$here/corpus}"
RUNS="${AS_PEER_RUNS:-3}"
PEERS="${AS_PEERS:-restic borg-2m borg-64k casync}"
mkdir -p "$here/out"
LOG="${AS_LOG:-$here/out/peers-$(date +%Y%m%d-%H%M%S).jsonl}"
WORK="$(mktemp -d "${AS_TMP:-/tmp}/as-peers.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [[ -z "${AS_NO_INSTALL:-}" ]] && { ! command -v restic || ! command -v borg ||
   ! command -v casync; } >/dev/null; then
  echo "peers: installing restic borgbackup casync (apt)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y restic borgbackup casync >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y restic borgbackup casync >&2; }
fi
[[ -z "${AS_INSTALL_ONLY:-}" ]] || exit 0
for f in random_1g real_v1 real_v2; do
  [[ -s "$CORPUS/$f" ]] || { echo "peers: $CORPUS/$f missing: run bench/corpus.sh" >&2; exit 1; }
done

export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$WORK/restic-cache"
export BORG_BASE_DIR="$WORK/borg-base" BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=YES
PIN=(taskset -c 1)

T() { python3 "$here/timeit.py" --log "$LOG" "$@"; }
size() { stat -c %s "$1"; }
dusb() { du -sb "$1" | cut -f1; }
# fsync every file under $1 changed since the marker $2 (a timed, separate step).
sync_new() {
  T "${@:3}" -- bash -c 'find "$1" -type f -newer "$2" -print0 | xargs -0 -r sync --' _ "$1" "$2"
}

peer_init() { # peer repo
  case "$1" in
    restic) restic init --repo "$2" -q >/dev/null ;;
    borg-*) borg init --encryption none "$2" ;;
    casync) mkdir -p "$2/store" ;;
  esac
}
peer_put() { # peer repo file tag
  case "$1" in
    restic) restic --repo "$2" backup -q --tag "$4" "$3" ;;
    borg-2m) borg create --compression lz4 "$2::$4" "$3" ;;
    borg-64k) borg create --compression lz4 --chunker-params buzhash,14,18,16,4095 "$2::$4" "$3" ;;
    casync) casync make --store="$2/store" "$2/$4.caibx" "$3" ;;
  esac
}
peer_restore() { # peer repo tag file outdir
  case "$1" in
    restic) restic --repo "$2" restore -q latest --tag "$3" --target "$5" ;;
    borg-*) (cd "$5" && borg extract "$2::$3") ;;
    casync) casync extract --store="$2/store" "$2/$3.caibx" "$5/out" ;;
  esac
}
export -f peer_put peer_restore

for peer in $PEERS; do
  for run in $(seq 1 "$RUNS"); do
    echo "peers: $peer run $run" >&2
    common=(--set tool="$peer" --set mode=1core --set run="$run")
    repo="$WORK/repo-$peer"

    # real_v1, then real_v2 into the same repository, then restore v2.
    rm -rf "$repo" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
    peer_init "$peer" "$repo"
    cat "$CORPUS/real_v1" "$CORPUS/real_v2" >/dev/null
    before=$(dusb "$repo")
    touch "$WORK/mark"
    T "${common[@]}" --set corpus=real_v1 --set op=put --set bytes="$(size "$CORPUS/real_v1")" \
      --stdout /dev/null -- "${PIN[@]}" bash -c 'peer_put "$@"' _ "$peer" "$repo" "$CORPUS/real_v1" v1
    sync_new "$repo" "$WORK/mark" "${common[@]}" --set corpus=real_v1 --set op=put_sync
    v1=$(dusb "$repo")
    touch "$WORK/mark"
    T "${common[@]}" --set corpus=real_v2 --set op=put --set bytes="$(size "$CORPUS/real_v2")" \
      --stdout /dev/null -- "${PIN[@]}" bash -c 'peer_put "$@"' _ "$peer" "$repo" "$CORPUS/real_v2" v2
    sync_new "$repo" "$WORK/mark" "${common[@]}" --set corpus=real_v2 --set op=put_sync
    v2=$(dusb "$repo")
    T "${common[@]}" --set corpus=real_v1 --set op=du --set stored_bytes=$((v1 - before)) -- true
    T "${common[@]}" --set corpus=real_v2 --set op=du --set stored_bytes=$((v2 - v1)) -- true
    out="$WORK/restore"
    rm -rf "$out" && mkdir -p "$out"
    touch "$WORK/mark"
    T "${common[@]}" --set corpus=real_v2 --set op=restore --set bytes="$(size "$CORPUS/real_v2")" \
      --stdout /dev/null -- "${PIN[@]}" bash -c 'peer_restore "$@"' _ "$peer" "$repo" v2 x "$out"
    sync_new "$out" "$WORK/mark" "${common[@]}" --set corpus=real_v2 --set op=restore_sync
    got="$(find "$out" -type f -printf '%s\n' | head -1)"
    [[ "$got" == "$(size "$CORPUS/real_v2")" ]] ||
      echo "peers: $peer restored $got bytes of real_v2, expected $(size "$CORPUS/real_v2")" >&2
    rm -rf "$out" "$repo"

    # random_1g into a fresh repository.
    rm -rf "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
    peer_init "$peer" "$repo"
    cat "$CORPUS/random_1g" >/dev/null
    before=$(dusb "$repo")
    touch "$WORK/mark"
    T "${common[@]}" --set corpus=random_1g --set op=put --set bytes="$(size "$CORPUS/random_1g")" \
      --stdout /dev/null -- "${PIN[@]}" bash -c 'peer_put "$@"' _ "$peer" "$repo" "$CORPUS/random_1g" r
    sync_new "$repo" "$WORK/mark" "${common[@]}" --set corpus=random_1g --set op=put_sync
    T "${common[@]}" --set corpus=random_1g --set op=du --set stored_bytes=$(($(dusb "$repo") - before)) -- true
    rm -rf "$repo"
  done
done
echo "peers: done: $LOG" >&2
