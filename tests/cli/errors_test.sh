# Bad input gets one clear message naming the thing, a non-zero exit, and no
# unverified bytes.

test_missing_store_and_not_a_store() {
  expect_fail "$AS_BIN" -s "$TMP/nope" get b/k || return 1
  expect_in "$ERR" "does not exist" || return 1
  mkdir "$TMP/plain"
  expect_fail "$AS_BIN" -s "$TMP/plain" ls || return 1
  expect_in "$ERR" "not an artifact store" || return 1
}

test_unknown_name_and_digest() {
  as init >/dev/null || return 1
  expect_fail as get b/none || return 1
  expect_in "$ERR" "no artifact named b/none" || return 1
  d=blake3:0000000000000000000000000000000000000000000000000000000000000000
  expect_fail as get $d || return 1
  expect_in "$ERR" "$d" || return 1
  expect_fail as stat blake3:xyz || return 1
  expect_in "$ERR" "blake3:xyz" || return 1
  expect_fail as put "$TMP/no-such-file" || return 1
  expect_in "$ERR" "no-such-file" || return 1
}

first_pack() { find "$TMP/store/packs" -name '*.pack' | head -1; }

# Puts SIZE random bytes (seed SEED, stored raw) as b/NAME, flips the byte at
# AT in its pack (inside some chunk's payload), and checks that get -o fails on
# the CRC, naming the pack, and leaves neither the file nor its .part. Sets $p.
corrupt_then_get_to_file() {
  rand_file "$TMP/f" "$2" "$4"
  as put "$TMP/f" --name "b/$1" --codec none 2>/dev/null >/dev/null || return 1
  p=$(first_pack)
  printf '\xff' | dd of="$p" bs=1 seek="$3" conv=notrunc 2>/dev/null
  expect_fail as get "b/$1" -o "$TMP/out" || return 1
  expect_in "$ERR" "CRC-32C mismatch" || return 1
  expect_in "$ERR" "$(basename "$p")" || return 1
  [ ! -e "$TMP/out" ] && [ ! -e "$TMP/out.part" ] || { fail "partial output left"; return 1; }
}

test_corrupt_pack_get_stops_verify_names_artifact() {
  skip_on_s3_packs "damages pack files in DIR/packs (rgw_faults_test.sh damages objects)" || return $?
  corrupt_then_get_to_file victim 2000000 1000000 9 || return 1
  # To stdout: the bytes emitted must be a strict, correct prefix.
  as get b/victim > "$TMP/prefix" 2>/dev/null && { fail "get to stdout succeeded"; return 1; }
  n=$(stat -c %s "$TMP/prefix")
  [ "$n" -lt 1000000 ] || { fail "emitted $n bytes, past the bad byte"; return 1; }
  cmp -n "$n" "$TMP/prefix" "$TMP/f" || { fail "emitted bytes differ"; return 1; }
  as verify > "$TMP/v"; rc=$?
  [ $rc -eq 3 ] || { fail "verify exit $rc"; return 1; }
  grep -q "BAD pack $(basename "$p" .pack) offset" "$TMP/v" || { fail "verify: $(cat "$TMP/v")"; return 1; }
  grep -q "breaks b/victim" "$TMP/v" || { fail "verify does not name the artifact"; return 1; }
}

test_corrupt_pack_large_get_to_file_leaves_nothing() {
  skip_on_s3_packs "damages pack files in DIR/packs (rgw_faults_test.sh damages objects)" || return $?
  # 12 MB takes the O_DIRECT output path (8 MiB and more); the first 10 MB
  # are written before the bad chunk.
  corrupt_then_get_to_file big 12000000 10000000 19
}

test_truncated_and_missing_pack() {
  skip_on_s3_packs "damages pack files in DIR/packs (rgw_faults_test.sh damages objects)" || return $?
  rand_file "$TMP/f" 1000000 4
  as put "$TMP/f" --name b/t 2>/dev/null >/dev/null || return 1
  p=$(first_pack)
  truncate -s 500000 "$p"
  expect_fail as get b/t || return 1
  expect_in "$ERR" "$(basename "$p")" || return 1
  as verify > "$TMP/v"; [ $? -eq 3 ] || { fail "verify on truncated pack"; return 1; }
  rm "$p"
  expect_fail as get b/t || return 1
  expect_in "$ERR" "missing" || return 1
  as verify --json > "$TMP/v"; [ $? -eq 3 ] || { fail "verify on missing pack"; return 1; }
  grep -q '"ok":false' "$TMP/v" || fail "verify json"
}

test_corrupt_manifest() {
  skip_on_s3_packs "damages pack files in DIR/packs (rgw_faults_test.sh damages objects)" || return $?
  rand_file "$TMP/f" 100000 6
  as put "$TMP/f" --name b/m --codec none 2>/dev/null >/dev/null || return 1
  p=$(first_pack)
  # The manifest is the pack's last frame: find it from the footer
  # (docs/format/pack.md) and flip a byte inside its payload.
  off=$(python3 - "$p" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
footer_off, count = struct.unpack_from("<QI", b, len(b) - 32)
off, flen = struct.unpack_from("<QI", b, footer_off + (count - 1) * 52)
print(off + 64 + (flen - 68) // 2)
PY
)
  printf '\x00' | dd of="$p" bs=1 seek=$off conv=notrunc 2>/dev/null
  expect_fail as get b/m || return 1
  expect_in "$ERR" "manifest" || return 1
}

test_second_process_gets_busy() {
  as init >/dev/null || return 1
  mkfifo "$TMP/fifo"
  "$AS_BIN" -s "$TMP/store" put - --name b/slow < "$TMP/fifo" >/dev/null 2>&1 &
  pid=$!
  exec 3>"$TMP/fifo"
  # Wait (bounded) until the first process holds the lock: LOCK names its pid.
  for _ in $(seq 1 200); do
    [ "$(cat "$TMP/store/LOCK" 2>/dev/null)" = "$pid" ] && break
    sleep 0.05
  done
  expect_fail as ls; rc=$?
  exec 3>&-
  wait $pid
  [ $rc -eq 0 ] || return 1
  expect_in "$ERR" "in use by pid $pid" || return 1
  as ls >/dev/null || fail "store not usable after the first process ended"
}

test_bad_options() {
  as init >/dev/null || return 1
  expect_fail as --cpu sse9 ls || return 1
  expect_in "$ERR" "sse9" || return 1
  expect_fail "$AS_BIN" chunks /dev/null --min 10 || return 1
  expect_in "$ERR" "min" || return 1
  expect_fail as put "$TMP" || return 1
  expect_in "$ERR" "directory" || return 1
}

test_lost_metadata_is_rebuilt_from_packs() {
  as init --min 4096 --avg 16384 --max 65536 >/dev/null || return 1
  rand_file "$TMP/a" 700000 21
  yes "some text for the second artifact" | head -c 900000 > "$TMP/b"
  as put "$TMP/a" --name b/a 2>/dev/null >/dev/null || return 1
  as put "$TMP/b" --name c/b 2>/dev/null >/dev/null || return 1
  before=$(as stat b/a --json)
  lose_metadata
  expect_fail as ls || return 1
  expect_in "$ERR" "repair --reindex" || return 1
  as repair --reindex > "$TMP/r" || { fail "repair: $(cat "$TMP/r")"; return 1; }
  expect_in "$(cat "$TMP/r")" "RESTORED tenant default" || return 1
  as ls | grep -q "b/a" && as ls | grep -q "c/b" || { fail "names not restored: $(as ls)"; return 1; }
  as get b/a | cmp - "$TMP/a" || { fail "b/a after repair"; return 1; }
  as get c/b | cmp - "$TMP/b" || { fail "c/b after repair"; return 1; }
  as verify --full >/dev/null || { fail "verify after repair"; return 1; }
  # The chunker identity came back from the manifests: same cut points, full dedup.
  as stat b/a --json | grep -q '"avg":16384' || { fail "chunker not restored"; return 1; }
  as put "$TMP/a" --name b/again --json 2>/dev/null | grep -q '"new_chunks":0' || fail "dedup after repair"
}

# with_tmpfs SIZE FN: runs FN with a store directory on a tmpfs of SIZE
# mounted at $TMP/fs (fs runs the CLI on it), then unmounts. Skips (77)
# without root.
with_tmpfs() {
  mkdir -p "$TMP/fs"
  if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o "size=$1" tmpfs "$TMP/fs" 2>/dev/null; then
    echo "needs root, to mount a $1 tmpfs"
    return 77
  fi
  local rc=0
  "$2" || rc=1
  umount "$TMP/fs" || rc=1
  return $rc
}
fs() { "$AS_BIN" -s "$TMP/fs/store" "$@"; }
fill_fs() { dd if=/dev/zero of="$TMP/fs/filler" bs=1M 2>/dev/null; true; }

# A full file system. A put that does not fit fails naming the device's
# error and the pack file, leaves no pack file behind and changes no name.
# gc deletes the dead pack first (it needs no copy), which makes room for
# the merge of the live packs in the same run, and the put fits. (A merge
# that finds no room even so is GcMergeTest.OutOfSpaceDeletesWhatNeedsNoCopy.)
test_full_disk_loses_nothing() {
  skip_on_s3_packs "fills the disk that holds DIR/packs" || return $?
  with_tmpfs 80m full_disk_steps
}
full_disk_steps() {
  fs init >/dev/null || return 1
  rand_file "$TMP/a1" 10000000 31
  rand_file "$TMP/a2" 10000000 32
  rand_file "$TMP/d" 30000000 33
  rand_file "$TMP/big" 30000000 34
  for n in a1 a2 d; do fs put "$TMP/$n" --name b/$n >/dev/null 2>&1 || { fail "put $n"; return 1; }; done
  fs rm b/d >/dev/null || return 1
  expect_fail fs put "$TMP/big" --name b/big || return 1
  expect_in "$ERR" "No space left on device" || return 1
  expect_in "$ERR" ".pack" || return 1
  [ -z "$(find "$TMP/fs/store/packs" -name '*.tmp')" ] || { fail "a .tmp pack was left"; return 1; }
  names=$(fs ls | awk '{print $NF}' | tr '\n' ' ')
  [ "$names" = "b/a1 b/a2 " ] || { fail "names after the failed put: $names"; return 1; }
  fs gc --grace 3600 >"$TMP/gc.out" 2>"$TMP/gc.err" || { fail "gc: $(cat "$TMP/gc.err")"; return 1; }
  expect_in "$(cat "$TMP/gc.out")" "1 packs deleted, 2 rewritten into 1" || return 1
  fs put "$TMP/big" --name b/big >/dev/null 2>&1 || { fail "put after gc"; return 1; }
  for n in a1 a2 big; do fs get b/$n | cmp -s - "$TMP/$n" || { fail "b/$n differs"; return 1; }; done
  fs verify --full >/dev/null || { fail "verify --full"; return 1; }
}

# Full to the last block (a filler file takes what the store left): the
# metadata database cannot even log a delete. gc and rm then spend the
# store's 16 MiB reserve (DIR/RESERVE) and succeed; the reserve comes back
# once there is room.
test_full_to_the_last_block_gc_and_rm_spend_the_reserve() {
  skip_on_postgresql "rm and gc need the reserve only when SQLite's log has no room" || return
  with_tmpfs 100m last_block_steps
}
last_block_steps() {
  fs init >/dev/null || return 1
  [ "$(stat -c %s "$TMP/fs/store/RESERVE")" = 16777216 ] || { fail "no 16 MiB reserve after init"; return 1; }
  expect_in "$(fs stats --json)" '"reserve_bytes":16777216' || return 1
  rand_file "$TMP/a" 20000000 51
  rand_file "$TMP/c" 20000000 52
  rand_file "$TMP/b" 1000000 53
  for n in a c b; do fs put "$TMP/$n" --name b/$n >/dev/null 2>&1 || { fail "put $n"; return 1; }; done
  fs rm b/c >/dev/null || return 1
  fill_fs
  fs gc >"$TMP/gc.out" 2>"$TMP/gc.err" || { fail "gc on a full disk: $(cat "$TMP/gc.err")"; return 1; }
  expect_in "$(cat "$TMP/gc.err")" "released the store's 16.0 MiB reserve" || return 1
  expect_in "$(cat "$TMP/gc.out")" "1 packs deleted" || return 1
  case "$(cat "$TMP/gc.err")" in *"no room to rewrite"*) fail "gc planned no copies: $(cat "$TMP/gc.err")"; return 1 ;; esac
  [ ! -e "$TMP/fs/store/RESERVE" ] || { fail "the reserve is still there"; return 1; }
  rm -f "$TMP/fs/filler"
  fs ls >/dev/null || return 1
  [ -e "$TMP/fs/store/RESERVE" ] || { fail "the reserve was not made again with room free"; return 1; }
  fill_fs
  fs rm b/a >/dev/null 2>"$TMP/rm.err" || { fail "rm on a full disk: $(cat "$TMP/rm.err")"; return 1; }
  [ ! -e "$TMP/fs/store/RESERVE" ] || { fail "rm did not spend the reserve"; return 1; }
  expect_in "$(fs stats --json)" '"reserve_bytes":0' || return 1
  fs gc >/dev/null 2>&1 || { fail "gc after rm"; return 1; }
  names=$(fs ls | awk '{print $NF}' | tr '\n' ' ')
  [ "$names" = "b/b " ] || { fail "names: $names"; return 1; }
  fs get b/b | cmp -s - "$TMP/b" || { fail "b/b differs"; return 1; }
  fs verify --full >/dev/null || { fail "verify --full"; return 1; }
}

# Metadata on PostgreSQL, packs in DIR/packs: two store directories naming
# one database (a copied CONFIG) cannot be two servers of the store (each
# would hold packs the other cannot read); while one process has it open,
# another is refused, as the LOCK file refuses a second process on one
# directory. (Packs on S3: tests/server/clients/scaleout_test.sh.)
test_a_copied_store_directory_is_refused_while_the_first_is_open() {
  [ -n "${ARTIFACT_STORE_METADATA:-}" ] || { echo "needs the metadata on PostgreSQL (make pg-test)"; return 77; }
  skip_on_s3_packs "packs on S3 are shared by several servers" || return $?
  as init >/dev/null || return 1
  cp -r "$TMP/store" "$TMP/copy" && rm -f "$TMP/copy/LOCK"
  "$AS_BIN" -s "$TMP/store" serve --listen 127.0.0.1:0 --ready-file "$TMP/ready" \
    >"$TMP/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
  [ -s "$TMP/ready" ] || { kill $pid; fail "serve did not start: $(cat "$TMP/serve.log")"; return 1; }
  local rc=0
  expect_fail "$AS_BIN" -s "$TMP/copy" ls || rc=1
  expect_in "$ERR" "in use by another process" || rc=1
  kill -TERM $pid && wait $pid
  "$AS_BIN" -s "$TMP/copy" ls >/dev/null || { fail "the copy after the first closed: $ERR"; rc=1; }
  return $rc
}
