# The main job end to end: put, get, stat, ls, rm, verify, gc, stats.

test_put_digest_matches_b3sum() {
  for size in 0 1 1000 65536 300000 3000000; do
    rand_file "$TMP/f" $size $size
    d=$(as put "$TMP/f" --name b/f$size 2>/dev/null) || return 1
    want="blake3:$(b3sum --no-names "$TMP/f")"
    [ "$d" = "$want" ] || { fail "size $size: $d != $want"; return 1; }
    as get b/f$size -o "$TMP/out" || return 1
    cmp "$TMP/f" "$TMP/out" || { fail "size $size: get differs"; return 1; }
    as get "$d" > "$TMP/out2" || return 1
    cmp "$TMP/f" "$TMP/out2" || { fail "size $size: get by digest differs"; return 1; }
  done
}

test_large_get_to_file_is_exact_and_replaces_the_file() {
  # 8 MiB and more goes to the file with O_DIRECT: an unaligned size, an
  # unaligned range, and a longer file already there.
  n=$((9 * 1048576 + 123))
  rand_file "$TMP/big" $n 17
  as put "$TMP/big" --name b/big >/dev/null 2>&1 || return 1
  head -c $((n + 5000000)) /dev/zero > "$TMP/out"
  as get b/big -o "$TMP/out" || return 1
  cmp "$TMP/big" "$TMP/out" || { fail "get -o of $n bytes differs"; return 1; }
  [ ! -e "$TMP/out.part" ] || { fail ".part left behind"; return 1; }
  last=$((n - 77))
  as get b/big --range 1001-$last -o "$TMP/range" || return 1
  tail -c +1002 "$TMP/big" | head -c $((last - 1001 + 1)) > "$TMP/want"
  cmp "$TMP/want" "$TMP/range" || { fail "get --range 1001-$last -o differs"; return 1; }
  d=$(as stat b/big --json | sed -n 's/.*"content":"\(blake3:[0-9a-f]*\)".*/\1/p')
  [ -n "$d" ] || { fail "no content digest in stat --json"; return 1; }
  as get "$d" -o "$TMP/bydigest" || return 1
  cmp "$TMP/big" "$TMP/bydigest" || { fail "get DIGEST -o differs"; return 1; }
}

test_stdin_put_needs_name_and_works() {
  rand_file "$TMP/f" 200000 7
  expect_fail as put - < "$TMP/f" || return 1
  expect_in "$ERR" "--name" || return 1
  d=$(as put - --name b/stdin < "$TMP/f" 2>/dev/null) || return 1
  [ "$d" = "blake3:$(b3sum --no-names "$TMP/f")" ] || fail "stdin digest"
}

test_ranges() {
  rand_file "$TMP/f" 500000 3
  as put "$TMP/f" --name b/r 2>/dev/null >/dev/null || return 1
  for r in 0-0 0-99 65530-70000 499999-499999 400000- 123-123; do
    first=${r%-*}; last=${r#*-}; [ -z "$last" ] && last=499999
    as get b/r --range "$r" > "$TMP/got" || return 1
    tail -c +$((first+1)) "$TMP/f" | head -c $((last-first+1)) > "$TMP/want"
    cmp "$TMP/got" "$TMP/want" || { fail "range $r"; return 1; }
  done
  expect_fail as get b/r --range 500000-500010 || return 1
  expect_in "$ERR" "past the end" || return 1
  expect_fail as get b/r --range 10-5 || return 1
  expect_fail as get b/r --range abc || return 1
}

test_dedup_second_put_adds_nothing() {
  rand_file "$TMP/f" 4000000 11
  as put "$TMP/f" --name b/one 2>/dev/null >/dev/null || return 1
  as put "$TMP/f" --name b/two --json > "$TMP/j" 2>/dev/null || return 1
  grep -q '"new_chunks":0' "$TMP/j" || { fail "second put stored chunks: $(cat "$TMP/j")"; return 1; }
  ratio=$(as stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dedup_ratio"])')
  python3 -c "import sys; sys.exit(0 if abs($ratio - 2.0) < 0.01 else 1)" || fail "dedup ratio $ratio"
  # stats names where the metadata is: the store's SQLite file, or its URL.
  want="${ARTIFACT_STORE_METADATA:-$TMP/store/metadata.db}"
  expect_in "$(as stats)" "metadata:          $want" || return 1
}

test_stat_ls_rm() {
  rand_file "$TMP/f" 100000 5
  as put "$TMP/f" --name bkt/a/b.bin 2>/dev/null >/dev/null || return 1
  as stat bkt/a/b.bin --json > "$TMP/s" || return 1
  python3 - "$TMP/s" <<'PY' || return 1
import json, sys
s = json.load(open(sys.argv[1]))
assert s["size"] == 100000, s
assert s["chunker"]["name"] == "fastcdc2020" and s["chunker"]["avg"] == 65536, s
assert s["chunks"] >= 1 and s["content"].startswith("blake3:"), s
PY
  as ls bkt/ | grep -q "bkt/a/b.bin" || { fail "ls"; return 1; }
  as rm bkt/a/b.bin || return 1
  expect_fail as get bkt/a/b.bin || return 1
  expect_in "$ERR" "no artifact named bkt/a/b.bin" || return 1
  expect_fail as rm bkt/a/b.bin || return 1
}

test_gc_reclaims_and_keeps_live() {
  rand_file "$TMP/a" 3000000 1
  rand_file "$TMP/b" 3000000 2
  as put "$TMP/a" --name b/a 2>/dev/null >/dev/null || return 1
  as put "$TMP/b" --name b/b 2>/dev/null >/dev/null || return 1
  as rm b/a || return 1
  as gc --dry-run --json > "$TMP/dry" || return 1
  grep -q '"packs_deleted":1' "$TMP/dry" || { fail "dry run: $(cat "$TMP/dry")"; return 1; }
  as gc --json > "$TMP/gc" || return 1
  grep -q '"packs_deleted":1' "$TMP/gc" || { fail "gc: $(cat "$TMP/gc")"; return 1; }
  as get b/b -o "$TMP/out" && cmp "$TMP/b" "$TMP/out" || { fail "live artifact after gc"; return 1; }
  as verify --full >/dev/null || fail "verify after gc"
}

test_gc_merges_small_packs() {
  for i in 1 2 3 4 5 6; do
    rand_file "$TMP/s$i" 20000 $((40 + i))
    as put "$TMP/s$i" --name small/s$i 2>/dev/null >/dev/null || return 1
  done
  as stats --json | grep -q '"packs":6,' || { fail "six puts, six packs: $(as stats --json)"; return 1; }
  as gc --merge-below 0 --json > "$TMP/gc0" || return 1
  grep -q '"packs_merged":0,' "$TMP/gc0" || { fail "--merge-below 0 merged: $(cat "$TMP/gc0")"; return 1; }
  as gc --json > "$TMP/gc" || return 1
  grep -q '"packs_merged":6,.*"packs_written":1' "$TMP/gc" || { fail "gc: $(cat "$TMP/gc")"; return 1; }
  as stats --json | grep -q '"packs":1,' || { fail "after gc: $(as stats --json)"; return 1; }
  for i in 1 2 3 4 5 6; do
    as get small/s$i -o "$TMP/out" && cmp "$TMP/s$i" "$TMP/out" || { fail "small/s$i after merge"; return 1; }
  done
  as verify --full >/dev/null || fail "verify after merge"
}

# A second version with a few small edits stores little more than the edits
# (delta chunks); it stays readable after the first version is collected.
test_delta_chunks_after_edits() {
  rand_file "$TMP/v1" 4000000 61
  cp "$TMP/v1" "$TMP/v2"
  for off in 700000 1900000 3100000; do
    printf 'edited by the delta test' | dd of="$TMP/v2" bs=1 seek=$off conv=notrunc status=none
  done
  as put "$TMP/v1" --name d/v1 >/dev/null 2>&1 || return 1
  as put "$TMP/v2" --name d/v2 --json 2>/dev/null > "$TMP/j" || return 1
  python3 - "$TMP/j" <<'PY' || { fail "v2: $(cat "$TMP/j")"; return 1; }
import json, sys
j = json.load(open(sys.argv[1]))
# Random bytes: stored whole, the new chunks would take all of new_bytes.
assert j["delta_chunks"] >= 3 and j["stored_bytes"] < j["new_bytes"] / 10, j
PY
  as rm d/v1 || return 1
  as gc --threshold 1.01 --json > "$TMP/gc" || return 1
  as get d/v2 -o "$TMP/out" && cmp "$TMP/v2" "$TMP/out" || { fail "d/v2 after gc: $(cat "$TMP/gc")"; return 1; }
  as verify --full >/dev/null || { fail "verify after gc"; return 1; }
  cp "$TMP/v2" "$TMP/v3"
  printf 'edited again' | dd of="$TMP/v3" bs=1 seek=2500000 conv=notrunc status=none
  as put "$TMP/v3" --name d/v3 --no-delta --json 2>/dev/null > "$TMP/j3" || return 1
  python3 - "$TMP/j3" <<'PY' || fail "--no-delta: $(cat "$TMP/j3")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["new_chunks"] >= 1 and j["delta_chunks"] == 0 and j["stored_bytes"] > j["new_bytes"], j
PY
}

# -o to something that is not a regular file (/dev/null, a FIFO) writes to
# it: a .part file renamed over it would replace the device node or FIFO.
test_get_to_a_fifo_writes_through_it() {
  rand_file "$TMP/f" 300000 81
  as put "$TMP/f" --name b/f >/dev/null 2>&1 || return 1
  mkfifo "$TMP/pipe"
  timeout 30 cat "$TMP/pipe" > "$TMP/copy" &  # (gives up if nothing ever writes)
  as get b/f -o "$TMP/pipe" || { fail "get -o FIFO failed"; return 1; }
  wait
  [ -p "$TMP/pipe" ] || { fail "the FIFO was replaced: $(ls -la "$TMP/pipe")"; return 1; }
  [ ! -e "$TMP/pipe.part" ] || { fail "left $TMP/pipe.part"; return 1; }
  cmp "$TMP/f" "$TMP/copy" || fail "bytes through the FIFO differ"
}

test_codecs() {
  yes "artifact-store compressible line of text" | head -c 2000000 > "$TMP/t"
  for c in zstd lz4 none; do
    as put "$TMP/t" --name b/$c --codec $c --json 2>/dev/null > "$TMP/j" || return 1
    as get b/$c -o "$TMP/o" && cmp "$TMP/t" "$TMP/o" || { fail "codec $c round trip"; return 1; }
  done
  expect_fail as put "$TMP/t" --codec brotli || return 1
  expect_in "$ERR" "unknown codec" || return 1
}

test_chunks_matches_vectors() {
  v="$(cd "$(dirname "$AS_BIN")/../.." && pwd)/../shared/vectors/SekienAkashita.jpg"
  [ -f "$v" ] || v="${AS_VECTORS_DIR:-/nonexistent}/SekienAkashita.jpg"
  [ -f "$v" ] || { echo "../shared/vectors not found: skipping"; exit 77; }
  out=$("$AS_BIN" chunks "$v" --min 4096 --avg 16384 --max 65535 | awk '{print $2" "$3}' | tr '\n' ' ')
  want="21325 17968276318003433923 17140 8197189939299398838 28084 13019990849178155730 18217 4509236223063678303 24700 2504464741100432583 "
  [ "$out" = "$want" ] || fail "chunks: $out"
}

test_init_pack_size_is_kept() {
  as init --pack-size 1048576 >/dev/null || return 1
  rand_file "$TMP/f" 5000000 12
  as put "$TMP/f" --name b/p --codec none 2>/dev/null >/dev/null || return 1
  packs=$(as stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["packs"])')
  [ "$packs" -ge 4 ] || { fail "5 MB in 1 MiB packs gave $packs packs"; return 1; }
  expect_fail "$AS_BIN" -s "$TMP/s2" init --pack-size 1000 || return 1
  as get b/p | cmp - "$TMP/f" || fail "round trip"
}

test_reserve_size_is_an_option() {
  as init >/dev/null || return 1
  [ "$(stat -c %s "$TMP/store/RESERVE")" = 16777216 ] || { fail "no 16 MiB reserve by default"; return 1; }
  as --reserve 4MiB stats >/dev/null || return 1
  [ "$(stat -c %s "$TMP/store/RESERVE")" = 4194304 ] || { fail "--reserve 4MiB did not resize it"; return 1; }
  expect_in "$(ARTIFACT_STORE_RESERVE=2m as stats --json)" '"reserve_bytes":2097152' || return 1
  expect_in "$(as --reserve 0 stats)" "none (--reserve 0)" || return 1
  [ ! -e "$TMP/store/RESERVE" ] || { fail "--reserve 0 left the reserve"; return 1; }
  expect_fail as --reserve 12x ls || return 1
  expect_in "$ERR" "reserve" || return 1
}
