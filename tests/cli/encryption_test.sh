# Encryption at rest (issue 20): no plaintext and no plain digest on disk,
# tampering is caught and never served, key rotation, tenant isolation,
# reindex with the master key, and plain stores that need no key.
# Pack and frame layouts: docs/format/pack.md, docs/format/frame.md;
# tests/cli/enc_scan.py reads, searches and edits them.

ENC_SCAN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/enc_scan.py
# Every command below names its key (or none) itself.
unset ARTIFACT_STORE_MASTER_KEY_FILE

# enc ARGS...: the store in $TMP/store, opened with the master key $TMP/mk.
enc() { "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/mk" "$@"; }
scan_py() { python3 "$ENC_SCAN" "$@"; }

# new_key PATH: a fresh master key file, 32 random bytes, mode 0600.
new_key() { head -c 32 /dev/urandom > "$1" && chmod 600 "$1"; }

# packs_of DIR: the sealed packs under DIR/packs, sorted.
packs_of() { find "$1/packs" -name '*.pack' | sort; }

# json_field JSON FIELD
json_field() { printf '%s' "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }

# snapshot FILE: sha256 of every file of the store but LOCK.
snapshot() { (cd "$TMP/store" && find . -type f ! -name LOCK -print0 | sort -z | xargs -0 -r sha256sum) > "$1"; }

# same_snapshot BEFORE AFTER: byte-identical, except that SQLite's -wal and
# -shm files may have vanished (nothing else may vanish, change or appear).
same_snapshot() {
  python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        h, name = line.rstrip("\n").split("  ", 1)
        d[name] = h
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
bad = []
for name, h in a.items():
    if name not in b:
        if not (name.endswith("-wal") or name.endswith("-shm")):
            bad.append(f"{name} vanished")
    elif b[name] != h:
        bad.append(f"{name} changed")
for name in b:
    if name not in a:
        bad.append(f"{name} appeared")
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
}

# ---- a server on the store, for the tenants the CLI does not address ----
# (the CLI reads and writes tenant 'default'; other tenants go through S3)

SERVER_PID=
# start_server KEYFILE: serves $TMP/store on a free port; sets EP.
start_server() {
  rm -f "$TMP/ready"
  "$AS_BIN" -s "$TMP/store" --master-key-file "$1" serve --listen 127.0.0.1:0 \
    --ready-file "$TMP/ready" --gc-interval 0 >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill_server KILL' EXIT
  local i prev="" cur=""
  for i in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { fail "server exited: $(tail -5 "$TMP/server.log")"; return 1; }
    cur=$(cat "$TMP/ready" 2>/dev/null || true)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then break; fi
    prev=$cur
    sleep 0.1
  done
  case "$cur" in http://127.0.0.1:[0-9]*) ;; *) fail "server: no ready file ('$cur')"; return 1 ;; esac
  EP=$(printf '%s\n' "$cur" | head -1)
}

# kill_server [SIGNAL]: stops the server (TERM, the default: a clean exit is
# required; KILL: as a crash).
kill_server() {
  [ -n "$SERVER_PID" ] || return 0
  local pid=$SERVER_PID sig=${1:-TERM} rc=0 i
  SERVER_PID=
  {
    kill -"$sig" "$pid"
    for i in $(seq 300); do kill -0 "$pid" || break; sleep 0.1; done
    kill -KILL "$pid"
    wait "$pid" || rc=$?
  } 2>/dev/null
  if [ "$sig" = TERM ] && [ $rc -ne 0 ]; then
    fail "server exited with status $rc: $(tail -5 "$TMP/server.log")"; return 1
  fi
  return 0
}

# s3 KEY SECRET OP ARGS...: enc_scan.py's SigV4 client against $EP.
s3() { scan_py s3 "$EP" "$@"; }

# tenant_keys JSON: sets KEY and SECRET from `tenant add --json`.
tenant_keys() {
  KEY=$(json_field "$1" access_key_id) && SECRET=$(json_field "$1" secret_access_key)
}

# ---------------------------------------------------------------------------

# put_corpus STORE_FN PREFIX: puts the recognizable files (made by
# make_corpus) with the store function STORE_FN (enc, or one for the plain
# control).
make_corpus() {
  rand_file "$TMP/rand" 3000000 101
  seq 1 400000 > "$TMP/text"
  seq -f 'line %g of the encryption test: the quick brown fox jumps over the lazy dog' 1 30000 \
    > "$TMP/prose"
  mkdir -p "$TMP/tree/etc" "$TMP/tree/bin"
  seq -f 'config key%g = some value' 1 5000 > "$TMP/tree/etc/app.conf"
  seq -f '#!/bin/sh\necho step %g' 1 4000 > "$TMP/tree/bin/run.sh"
  rand_file "$TMP/tree/bin/blob" 400000 104
  tar -C "$TMP" -cf "$TMP/tree.tar" tree || return 1
  rand_file "$TMP/v1" 3000000 102
  cp "$TMP/v1" "$TMP/v2"
  : > "$TMP/edits"
  for off in 500000 1500000 2500000; do
    printf 'EDIT at %d: a change that only the delta chunk holds\n' $off > "$TMP/edit"
    dd if="$TMP/edit" of="$TMP/v2" bs=1 seek=$off conv=notrunc status=none
    cat "$TMP/edit" >> "$TMP/edits"
  done
}

put_corpus() {
  local st=$1
  $st put "$TMP/rand" --name c/rand >/dev/null 2>&1 || { fail "put rand"; return 1; }
  # Stored without compression: only encryption can hide it.
  $st put "$TMP/text" --name c/text --codec none >/dev/null 2>&1 || { fail "put text"; return 1; }
  $st put "$TMP/prose" --name c/prose >/dev/null 2>&1 || { fail "put prose"; return 1; }
  $st put "$TMP/tree.tar" --name c/tree.tar >/dev/null 2>&1 || { fail "put tar"; return 1; }
  $st put "$TMP/v1" --name c/v1 >/dev/null 2>&1 || { fail "put v1"; return 1; }
  $st put "$TMP/v2" --name c/v2 --json 2>/dev/null > "$TMP/v2.json" || { fail "put v2"; return 1; }
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if j["delta_chunks"] >= 1 else 1)' \
    "$TMP/v2.json" || { fail "v2 made no delta chunk: $(cat "$TMP/v2.json")"; return 1; }
}

# corpus_digests FILES...: $TMP/chunks.* (chunks --json, the store's default
# chunker) and $TMP/content.b3 for the given files.
corpus_digests() {
  : > "$TMP/content.b3"
  CHUNK_ARGS=()
  local f
  for f in "$@"; do
    "$AS_BIN" chunks "$f" --json > "$TMP/chunks.$(basename "$f")" || return 1
    CHUNK_ARGS+=(--chunk-digests "$TMP/chunks.$(basename "$f")")
    b3sum "$f" >> "$TMP/content.b3" || return 1
  done
}

test_encrypted_no_plaintext_on_disk() {
  skip_on_s3_packs "searches the pack files in the store directory" || return
  # Temporary files of the CLI and the server land here, and are searched too.
  mkdir -p "$TMP/tmpdir"
  export TMPDIR=$TMP/tmpdir
  enc init --encrypt >/dev/null 2>&1 || { fail "init --encrypt"; return 1; }
  make_corpus || return 1
  put_corpus enc || return 1
  # Through S3 as well; the server is then killed, so its SQLite WAL stays.
  tenant_keys "$(enc tenant add default --json)" || { fail "tenant add default (access key)"; return 1; }
  start_server "$TMP/mk" || return 1
  s3 "$KEY" "$SECRET" mb s3-bucket >/dev/null || { fail "S3 create bucket"; return 1; }
  for f in prose tree.tar v2 text; do
    s3 "$KEY" "$SECRET" put s3-bucket "$f" "$TMP/$f" >/dev/null || { fail "S3 put $f"; return 1; }
  done
  rand_file "$TMP/s3only" 2000000 105
  s3 "$KEY" "$SECRET" put s3-bucket s3only "$TMP/s3only" >/dev/null || { fail "S3 put s3only"; return 1; }
  kill_server KILL
  # A put killed half-way: fed 8 MiB at a time until its pack writer has
  # started a .pack.tmp (40 MiB at most), then SIGKILLed.
  rand_file "$TMP/killed" 44000000 103
  mkfifo "$TMP/fifo"
  exec 3<>"$TMP/fifo"
  "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/mk" put - --name c/killed < "$TMP/fifo" \
    >/dev/null 2>"$TMP/killed.err" &
  local pid=$! i j
  for i in 0 1 2 3 4; do
    timeout 20 dd if="$TMP/killed" bs=1M skip=$((i * 8)) count=8 status=none >&3 || break
    for j in $(seq 10); do
      [ -n "$(find "$TMP/store/packs" -name '*.tmp' -size +0 2>/dev/null)" ] && break 2
      sleep 0.1
    done
  done
  sleep 0.2
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  exec 3>&-
  echo "store after the kills: $(cd "$TMP/store" && find . -type f -printf '%p %s\n' | grep -v '\.pack ' | tr '\n' ' ')"
  local tmps; tmps=$(find "$TMP/store/packs" -name '*.tmp')
  if [ -n "$tmps" ]; then
    # shellcheck disable=SC2086
    echo "frames in the killed put's .tmp files (cipher key_id count): $(scan_py keyids $tmps | tr '\n' ' ')"
  else
    echo "note: the killed put left no .pack.tmp ($(cat "$TMP/killed.err"))"
  fi
  # Search every file of the store (and the temporary directory).
  corpus_digests "$TMP/rand" "$TMP/text" "$TMP/prose" "$TMP/tree.tar" "$TMP/v1" "$TMP/v2" \
    "$TMP/s3only" "$TMP/killed" "$TMP/tree/etc/app.conf" "$TMP/tree/bin/run.sh" "$TMP/tree/bin/blob" || return 1
  local files=(--file "$TMP/rand" --file "$TMP/text" --file "$TMP/prose" --file "$TMP/tree.tar"
               --file "$TMP/v1" --file "$TMP/v2" --file "$TMP/s3only" --file "$TMP/killed:4093"
               --file "$TMP/edits:1")
  scan_py scan "$TMP/store" "$TMP/tmpdir" --stride 1021 "${files[@]}" "${CHUNK_ARGS[@]}" \
    --content-digests "$TMP/content.b3" --json "$TMP/enc.json" > "$TMP/enc.out" || { fail "scan: $(cat "$TMP/enc.out")"; return 1; }
  cat "$TMP/enc.out"
  python3 - "$TMP/enc.json" <<'PY' || { fail "plaintext or plain digests on disk in the encrypted store"; return 1; }
import json, sys
j = json.load(open(sys.argv[1]))
assert j["files"] >= 8, j
found = {c: v["found"] for c, v in j["categories"].items() if v["found"]}
needles = sum(v["needles"] for v in j["categories"].values())
assert needles > 10000, needles
sys.exit(1 if found else 0)
PY
  # Everything still reads back.
  for f in rand text prose tree.tar v1 v2; do
    enc get "c/$f" -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/$f" || { fail "c/$f does not read back"; return 1; }
  done
  unset TMPDIR

  # The control: a plain store holding the same files. The same search must
  # find the plaintext and the digests there, or it proves nothing above.
  plain_st() { env -u ARTIFACT_STORE_METADATA "$AS_BIN" -s "$TMP/plain" "$@"; }
  plain_st init >/dev/null || { fail "init plain"; return 1; }
  put_corpus plain_st || return 1
  corpus_digests "$TMP/rand" "$TMP/text" "$TMP/prose" "$TMP/tree.tar" "$TMP/v1" "$TMP/v2" || return 1
  # (and a file of b3sum lines: the hex forms are found too)
  mkdir -p "$TMP/hexcontrol" && cp "$TMP/content.b3" "$TMP/hexcontrol/"
  scan_py scan "$TMP/plain" "$TMP/hexcontrol" --stride 1021 --file "$TMP/rand" --file "$TMP/text" --file "$TMP/prose" \
    --file "$TMP/tree.tar" --file "$TMP/v1" --file "$TMP/v2" "${CHUNK_ARGS[@]}" \
    --content-digests "$TMP/content.b3" --show 0 --json "$TMP/plain.json" > "$TMP/plain.out" || { fail "scan plain"; return 1; }
  cat "$TMP/plain.out"
  python3 - "$TMP/plain.json" <<'PY' || { fail "the control search found too little in a plain store: $(cat "$TMP/plain.out")"; return 1; }
import json, sys
c = json.load(open(sys.argv[1]))["categories"]
# Random bytes are stored as they are, the --codec none text too.
for w in ("window:rand", "window:text", "window:v1"):
    assert c[w]["found"] > c[w]["needles"] // 2, (w, c[w])
# Every chunk's digest is in its frame header; the content digests are in the metadata.
assert c["chunk-digest-bin"]["found"] == c["chunk-digest-bin"]["needles"], c
assert c["content-digest-bin"]["found"] >= 1, c
assert c["content-digest-hex"]["found"] == c["content-digest-hex"]["needles"], c
PY
}

# check_damage WHAT FRAME_OFF CHUNK_START CHUNK_END: the artifact t/f ($TMP/f)
# must not read: an error naming the pack and the frame's offset, and no byte
# of the damaged chunk (CHUNK_START..CHUNK_END-1) served; verify --full finds it.
check_damage() {
  local what=$1 off=$2 start=$3 end=$4 rc=0 n
  enc get t/f > "$TMP/got" 2> "$TMP/err" || rc=$?
  echo "$what: $(cat "$TMP/err")"
  [ $rc -ne 0 ] || { fail "$what: get succeeded"; return 1; }
  expect_in "$(cat "$TMP/err")" "$PACK_ID" || { fail "$what: pack not named"; return 1; }
  expect_in "$(cat "$TMP/err")" "offset $off" || { fail "$what: offset not named"; return 1; }
  n=$(stat -c %s "$TMP/got")
  [ "$n" -le "$start" ] || { fail "$what: $n bytes served, the damaged chunk starts at $start"; return 1; }
  cmp -s -n "$n" "$TMP/got" "$TMP/f" || { fail "$what: what was served is not the file's first $n bytes"; return 1; }
  # The damaged chunk alone, by range.
  rc=0
  enc get t/f --range "$start-$((end - 1))" > "$TMP/got" 2> "$TMP/err" || rc=$?
  [ $rc -ne 0 ] || { fail "$what: get --range of the chunk succeeded"; return 1; }
  [ ! -s "$TMP/got" ] || { fail "$what: get --range served $(stat -c %s "$TMP/got") bytes"; return 1; }
  # -o: no file, complete or partial, is left.
  rm -f "$TMP/o"
  if enc get t/f -o "$TMP/o" 2>/dev/null; then fail "$what: get -o succeeded"; return 1; fi
  [ ! -e "$TMP/o" ] && [ ! -e "$TMP/o.part" ] || { fail "$what: get -o left $(ls "$TMP"/o*)"; return 1; }
  rc=0
  enc verify --full > "$TMP/v" 2>&1 || rc=$?
  [ $rc -eq 3 ] || { fail "$what: verify --full exit $rc: $(cat "$TMP/v")"; return 1; }
  expect_in "$(cat "$TMP/v")" "$PACK_ID" || return 1
}

test_encrypted_tamper() {
  skip_on_s3_packs "edits the pack files in the store directory" || return
  enc init --encrypt >/dev/null 2>&1 || { fail "init --encrypt"; return 1; }
  # Random chunks (stored uncompressed: frame = raw + 96) around a run of
  # constant 256 KiB chunks (frames of equal length, for the swap).
  rand_file "$TMP/r1" 300000 201
  rand_file "$TMP/r2" 300000 202
  { cat "$TMP/r1"; for c in P Q R S; do head -c 262144 /dev/zero | tr '\0' $c; done; cat "$TMP/r2"; } > "$TMP/f"
  enc put "$TMP/f" --name t/f >/dev/null 2>&1 || { fail "put"; return 1; }
  # The same bytes in another encrypted tenant, through S3.
  tenant_keys "$(enc tenant add other --json)" || { fail "tenant add other"; return 1; }
  start_server "$TMP/mk" || return 1
  s3 "$KEY" "$SECRET" mb other-bucket >/dev/null && s3 "$KEY" "$SECRET" put other-bucket f "$TMP/f" >/dev/null ||
    { fail "S3 put into tenant other"; return 1; }
  kill_server || return 1
  # Pack header: the dedup domain; default's (made first) is the lower.
  local pack other_pack
  read -r pack other_pack < <(for p in $(packs_of "$TMP/store"); do scan_py frames "$p" | head -1; done |
    python3 -c '
import json, sys
fs = sorted((json.loads(l) for l in sys.stdin), key=lambda f: f["domain"])
print(fs[0]["pack"], fs[-1]["pack"] if len(fs) == 2 and fs[0]["domain"] != fs[1]["domain"] else "")')
  [ -n "$pack" ] && [ -n "$other_pack" ] || { fail "two packs of two domains expected: $(packs_of "$TMP/store")"; return 1; }
  PACK_ID=$(basename "$pack" .pack)
  "$AS_BIN" chunks "$TMP/f" --json > "$TMP/chunks" || return 1
  scan_py layout "$pack" "$TMP/chunks" > "$TMP/layout" || { fail "layout of $pack"; return 1; }
  scan_py layout "$other_pack" "$TMP/chunks" > "$TMP/other_layout" || { fail "layout of $other_pack"; return 1; }
  scan_py keyids "$pack" | grep -q '^1 ' || { fail "frames not encrypted: $(scan_py keyids "$pack")"; return 1; }
  cp "$pack" "$TMP/pack.orig"
  restore() { cp "$TMP/pack.orig" "$pack"; }

  # The victim: the second chunk (random, uncompressed), so a prefix exists.
  local off flen stored codec start end
  read -r _ off flen stored codec start end < <(sed -n 2p "$TMP/layout")
  [ "$codec" = 0 ] || { fail "second chunk has codec $codec"; return 1; }
  local payload=$((off + 64)) tag=$((off + 64 + stored - 16))

  restore; scan_py flip "$pack" $((payload + stored / 2)) 3
  local rc=0; enc verify > "$TMP/v" 2>&1 || rc=$?
  [ $rc -eq 3 ] || { fail "verify (CRC) missed a flipped payload bit: exit $rc"; return 1; }
  check_damage "payload bit (CRC not fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((off + 8)) 0
  check_damage "header key id bit (CRC not fixed)" $off $start $end || return 1
  # From here the CRC is made right again: only the GCM tag (or the index)
  # can tell.
  restore; scan_py flip "$pack" $((payload + 12 + stored / 3)) 5 --fix-crc $off
  check_damage "ciphertext bit (CRC fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((off + 12)) 1 --fix-crc $off
  check_damage "header raw length bit (CRC fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((off + 6)) 1 --fix-crc $off
  check_damage "header codec bit (CRC fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((off + 8)) 2 --fix-crc $off
  check_damage "header key id bit (CRC fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((tag + 7)) 0 --fix-crc $off
  check_damage "tag bit (CRC fixed)" $off $start $end || return 1
  restore; scan_py flip "$pack" $((payload + 4)) 6 --fix-crc $off
  check_damage "nonce bit (CRC fixed)" $off $start $end || return 1

  # Two frames of equal length swapped, each intact on its own.
  local a_off a_start a_end b_off
  read -r a_off a_start a_end b_off < <(python3 - "$TMP/layout" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
by_len = {}
for r in rows:
    by_len.setdefault(r[2], []).append(r)
pairs = [v for v in by_len.values() if len(v) >= 2]
assert pairs, "no two frames of equal length"
a, b = pairs[0][0], pairs[0][1]
print(a[1], a[5], a[6], b[1])
PY
  ) || { fail "no two chunk frames of equal length: $(cat "$TMP/layout")"; return 1; }
  restore; scan_py swap "$pack" "$a_off" "$b_off" || return 1
  check_damage "two frames swapped" "$a_off" "$a_start" "$a_end" || return 1

  # One frame's sealed payload under the other's header (CRC fixed).
  restore; scan_py transplant "$pack" "$b_off" "$pack" "$a_off" --payload-only || return 1
  check_damage "payload of an equal-length frame (CRC fixed)" "$a_off" "$a_start" "$a_end" || return 1

  # The same chunk's frame of tenant 'other' (same bytes, same length) in its place.
  local o_off
  o_off=$(sed -n 2p "$TMP/other_layout" | cut -d' ' -f2)
  [ "$(sed -n 2p "$TMP/other_layout" | cut -d' ' -f3)" = "$flen" ] || { fail "other tenant's frame differs in length"; return 1; }
  restore; scan_py transplant "$other_pack" "$o_off" "$pack" "$off" || return 1
  check_damage "frame of another tenant" $off $start $end || return 1
  # ...and only its sealed payload under this frame's own header (CRC fixed).
  restore; scan_py transplant "$other_pack" "$o_off" "$pack" "$off" --payload-only || return 1
  check_damage "payload of another tenant's frame (CRC fixed)" $off $start $end || return 1

  restore
  enc get t/f | cmp -s - "$TMP/f" || { fail "restored pack does not read"; return 1; }
  enc verify --full >/dev/null || { fail "verify --full of the restored pack"; return 1; }

  # A wrong master key: one clear error naming the file; nothing on disk changes.
  new_key "$TMP/wrong.key"
  snapshot "$TMP/before"
  local cmd
  for cmd in "ls" "get t/f" "stat t/f" "put $TMP/r1 --name t/new" "verify" "verify --full" "gc" \
             "stats" "rm t/f" "tenant add third" "tenant rotate-key default" \
             "rotate-master-key --new-key-file $TMP/new.key" "repair --reindex"; do
    # shellcheck disable=SC2086  # cmd: word-split on purpose
    expect_fail "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/wrong.key" $cmd || return 1
    expect_in "$ERR" "$TMP/wrong.key" || { fail "wrong key, $cmd: the key file is not named"; return 1; }
  done
  [ ! -e "$TMP/new.key" ] || { fail "rotate-master-key with a wrong key made the new key file"; return 1; }
  snapshot "$TMP/after"
  same_snapshot "$TMP/before" "$TMP/after" > "$TMP/diff" || { fail "a wrong key changed the store: $(cat "$TMP/diff")"; return 1; }
  # No key at all.
  expect_fail "$AS_BIN" -s "$TMP/store" get t/f || return 1
  expect_in "$ERR" "master key" || return 1
  # A key file others can read is refused, by name.
  cp "$TMP/mk" "$TMP/open.key"
  chmod 644 "$TMP/open.key"
  expect_fail "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/open.key" get t/f || return 1
  expect_in "$ERR" "$TMP/open.key" || return 1
  expect_fail env ARTIFACT_STORE_MASTER_KEY_FILE="$TMP/open.key" "$AS_BIN" -s "$TMP/store" ls || return 1
  expect_in "$ERR" "$TMP/open.key" || return 1
  snapshot "$TMP/after2"
  same_snapshot "$TMP/before" "$TMP/after2" > "$TMP/diff" || { fail "a refused key changed the store: $(cat "$TMP/diff")"; return 1; }
  enc get t/f | cmp -s - "$TMP/f" || fail "t/f after the wrong keys"
}

test_encrypted_rotation() {
  enc init --encrypt >/dev/null 2>&1 || { fail "init --encrypt"; return 1; }
  rand_file "$TMP/A" 1500000 301
  seq -f 'B line %g' 1 150000 > "$TMP/B"
  rand_file "$TMP/C" 700000 303
  enc put "$TMP/A" --name r/A >/dev/null 2>&1 || return 1
  [ -z "${ARTIFACT_STORE_PACKS:-}" ] && packs_of "$TMP/store" > "$TMP/packs.A"
  enc tenant rotate-key default --json > "$TMP/rot1" || { fail "rotate-key 1"; return 1; }
  enc put "$TMP/B" --name r/B >/dev/null 2>&1 || return 1
  [ -z "${ARTIFACT_STORE_PACKS:-}" ] && packs_of "$TMP/store" > "$TMP/packs.B"
  enc tenant rotate-key default > "$TMP/rot2" || { fail "rotate-key 2"; return 1; }
  expect_in "$(cat "$TMP/rot2")" "default" || return 1
  enc put "$TMP/C" --name r/C >/dev/null 2>&1 || return 1
  local x
  for x in A B C; do
    enc get "r/$x" -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/$x" || { fail "r/$x after the rotations"; return 1; }
  done
  enc verify --full >/dev/null || { fail "verify --full after rotations"; return 1; }
  if [ -z "${ARTIFACT_STORE_PACKS:-}" ]; then
    packs_of "$TMP/store" > "$TMP/packs.C"
    # Each put wrote its own pack; each pack is under one key, three keys in all.
    python3 - "$ENC_SCAN" "$TMP/packs.A" "$TMP/packs.B" "$TMP/packs.C" "$TMP/rot1" <<'PY' || { fail "key ids"; return 1; }
import json, subprocess, sys
scan, pa, pb, pc, rot1 = sys.argv[1:]
sets = [set(open(p).read().split()) for p in (pa, pb, pc)]
groups = [sets[0], sets[1] - sets[0], sets[2] - sets[1]]
keys = []
for g in groups:
    assert g, ("no new pack", groups)
    out = subprocess.run(["python3", scan, "frames", *sorted(g)], check=True,
                         capture_output=True, text=True).stdout
    fs = [json.loads(l) for l in out.splitlines()]
    assert fs and all(f["cipher"] == 1 for f in fs), fs[:2]
    ids = {f["key_id"] for f in fs}
    assert len(ids) == 1, ("one put, several keys", ids)
    keys.append(ids.pop())
print("key ids of the three puts:", keys)
assert len(set(keys)) == 3, keys
assert json.load(open(rot1))["key"] == keys[1], (open(rot1).read(), keys)
PY
    xargs sha256sum < "$TMP/packs.C" > "$TMP/packs.sum"
  fi

  # A new master key: every key rewrapped, no data rewritten.
  cp "$TMP/store/KEYS" "$TMP/KEYS.before"
  enc rotate-master-key --new-key-file "$TMP/new.key" >/dev/null || { fail "rotate-master-key"; return 1; }
  [ "$(stat -c %s "$TMP/new.key")" = 32 ] && [ "$(stat -c %a "$TMP/new.key")" = 600 ] ||
    { fail "new key file: $(stat -c '%s bytes mode %a' "$TMP/new.key")"; return 1; }
  cmp -s "$TMP/new.key" "$TMP/mk" && { fail "new key equals the old"; return 1; }
  cmp -s "$TMP/KEYS.before" "$TMP/store/KEYS" && { fail "DIR/KEYS unchanged by rotate-master-key"; return 1; }
  if [ -z "${ARTIFACT_STORE_PACKS:-}" ]; then
    sha256sum -c --quiet "$TMP/packs.sum" || { fail "rotate-master-key rewrote packs"; return 1; }
  fi
  expect_fail enc ls || return 1
  expect_in "$ERR" "$TMP/mk" || return 1
  expect_fail enc get r/A || return 1
  expect_in "$ERR" "$TMP/mk" || return 1
  newk() { "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/new.key" "$@"; }
  for x in A B C; do
    newk get "r/$x" -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/$x" || { fail "r/$x with the new master key"; return 1; }
  done
  newk verify --full >/dev/null || { fail "verify --full with the new master key"; return 1; }
  # The store keeps working under the new key: another data key, another put.
  newk tenant rotate-key default >/dev/null || { fail "rotate-key under the new master key"; return 1; }
  newk put "$TMP/C" --name r/D >/dev/null 2>&1 && newk get r/D | cmp -s - "$TMP/C" || { fail "r/D"; return 1; }
  # rekey: every frame sealed anew under the newest data key; a second run
  # finds nothing left under an older one.
  local rk
  rk=$(newk rekey default --json) || { fail "rekey"; return 1; }
  [ "$(json_field "$rk" frames_rekeyed)" -gt 0 ] || { fail "rekey sealed nothing anew: $rk"; return 1; }
  rk=$(newk rekey default --json) || { fail "second rekey"; return 1; }
  [ "$(json_field "$rk" frames_rekeyed)" = 0 ] || { fail "second rekey found old frames: $rk"; return 1; }
  if [ -z "${ARTIFACT_STORE_PACKS:-}" ]; then
    local newest
    newest=$(newk tenant rotate-key default --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"] - 1)')
    # shellcheck disable=SC2046
    python3 "$ENC_SCAN" frames $(packs_of "$TMP/store") |
      python3 -c 'import json,sys; ids={json.loads(l)["key_id"] for l in sys.stdin}; want=int(sys.argv[1]); assert ids == {want}, (ids, want)' "$newest" ||
      { fail "frames under keys other than the newest after rekey"; return 1; }
  fi
  # Retiring: the keys older than the one the frames use seal nothing and go
  # (keys are timed in seconds: wait one; the reload interval is shortened).
  sleep 1.1
  local rt
  rt=$(AS_TEST_KEY_RELOAD_MS=100 newk tenant retire-keys default --json) || { fail "retire-keys"; return 1; }
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert len(r["retired"]) >= 3, r' "$rt" ||
    { fail "retire-keys retired too few: $rt"; return 1; }
  for x in A B C; do
    newk get "r/$x" -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/$x" || { fail "r/$x after rekey"; return 1; }
  done
  newk verify --full >/dev/null || { fail "verify --full after rekey"; return 1; }
  ARTIFACT_STORE_MASTER_KEY_FILE=$TMP/new.key "$AS_BIN" -s "$TMP/store" get r/B | cmp -s - "$TMP/B" ||
    fail "r/B with the new key from the environment"
}

test_encrypted_isolation() {
  skip_on_s3_packs "compares and edits the pack files in the store directory" || return
  "$AS_BIN" -s "$TMP/store" init >/dev/null || { fail "init"; return 1; }
  new_key "$TMP/mk"
  local out j1 j2
  out=$(enc tenant add t1 --encrypt) || { fail "tenant add t1 --encrypt"; return 1; }
  expect_in "$out" "(encrypted)" || return 1
  j1="{\"access_key_id\":\"$(echo "$out" | sed -n 's/^access key id: *//p')\",\"secret_access_key\":\"$(echo "$out" | sed -n 's/^secret access key: *//p')\"}"
  j2=$(enc tenant add t2 --encrypt --json) || { fail "tenant add t2 --encrypt"; return 1; }
  [ "$(json_field "$j2" encrypted)" = True ] || { fail "t2 --json: $j2"; return 1; }
  expect_fail enc tenant add t2 --encrypt || return 1
  expect_in "$ERR" "exists" || return 1
  rand_file "$TMP/x" 1500000 401
  seq -f 'shared line %g' 1 60000 >> "$TMP/x"
  # The plain tenant 'default' holds it too, through the CLI.
  enc put "$TMP/x" --name iso/x >/dev/null 2>&1 || { fail "put into default"; return 1; }
  start_server "$TMP/mk" || return 1
  tenant_keys "$j1"; local k1=$KEY s1=$SECRET
  tenant_keys "$j2"; local k2=$KEY s2=$SECRET
  s3 "$k1" "$s1" mb iso-one >/dev/null && s3 "$k1" "$s1" put iso-one x "$TMP/x" >/dev/null || { fail "S3 put t1"; return 1; }
  s3 "$k2" "$s2" mb iso-two >/dev/null && s3 "$k2" "$s2" put iso-two x "$TMP/x" >/dev/null || { fail "S3 put t2"; return 1; }
  s3 "$k1" "$s1" get iso-one x "$TMP/x1" >/dev/null && cmp -s "$TMP/x1" "$TMP/x" || { fail "t1 reads back"; return 1; }
  s3 "$k2" "$s2" get iso-two x "$TMP/x2" >/dev/null && cmp -s "$TMP/x2" "$TMP/x" || { fail "t2 reads back"; return 1; }
  kill_server || return 1
  "$AS_BIN" chunks "$TMP/x" --json > "$TMP/chunks" || return 1
  b3sum "$TMP/x" > "$TMP/x.b3"
  # Per domain: digests, key ids. Encrypted domains share nothing with each
  # other nor with the plain one, and hold no plain digest.
  packs_of "$TMP/store" | xargs python3 "$ENC_SCAN" frames > "$TMP/frames" || return 1
  python3 - "$TMP/frames" "$TMP/chunks" "$TMP/x.b3" > "$TMP/domains" <<'PY' || { fail "isolation: $(cat "$TMP/domains")"; return 1; }
import json, sys
frames = [json.loads(l) for l in open(sys.argv[1])]
chunk_plain = {json.loads(l)["digest"].split(":")[1] for l in open(sys.argv[2])}
plain = chunk_plain | {open(sys.argv[3]).read().split()[0]}
dom = {}
for f in frames:
    d = dom.setdefault(f["domain"], {"digests": set(), "keys": set(), "ciphers": set(), "packs": set(), "chunks": 0})
    d["digests"].add(f["digest"]); d["keys"].add(f["key_id"]); d["ciphers"].add(f["cipher"])
    d["packs"].add(f["pack"]); d["chunks"] += f["type"] == 1
enc = {k: v for k, v in dom.items() if v["ciphers"] == {1}}
pl = {k: v for k, v in dom.items() if v["ciphers"] == {0}}
print({k: (sorted(v["ciphers"]), sorted(v["keys"]), v["chunks"], len(v["packs"])) for k, v in dom.items()})
assert len(enc) == 2 and len(pl) == 1, "want two encrypted domains and one plain"
# Domains are numbered in the order the tenants were made: t1, then t2.
(a, da), (b, db) = sorted(enc.items())
(_, dp), = pl.items()
assert da["chunks"] == db["chunks"] == dp["chunks"] > 3, "same bytes, same chunking"
assert chunk_plain <= dp["digests"], "control: the plain tenant's frames carry the plain chunk digests"
assert not (da["digests"] & db["digests"]), "t1 and t2 share a digest"
assert not ((da["digests"] | db["digests"]) & dp["digests"]), "an encrypted tenant shares a digest with the plain one"
assert not ((da["digests"] | db["digests"]) & plain), "a plain digest in an encrypted tenant"
assert not (da["keys"] & db["keys"]), "t1 and t2 share a key id"
assert len(da["packs"]) == 1 and len(db["packs"]) == 1
print(next(iter(da["packs"])), next(iter(db["packs"])))
PY
  local p1 p2
  read -r p1 p2 < <(tail -1 "$TMP/domains")  # t1's pack, t2's pack
  scan_py layout "$p1" "$TMP/chunks" > "$TMP/l1" && scan_py layout "$p2" "$TMP/chunks" > "$TMP/l2" || { fail "layouts"; return 1; }
  # The third chunk's frame of one tenant in the other's pack, at the same
  # offset and length: whole (CRC intact), then only its payload (CRC fixed).
  local off flen stored codec start end o2 f2
  read -r _ off flen stored codec start end < <(sed -n 3p "$TMP/l1")
  read -r _ o2 f2 _ < <(sed -n 3p "$TMP/l2")
  [ "$flen" = "$f2" ] || { fail "the tenants' frames differ in length ($flen, $f2)"; return 1; }
  cp "$p2" "$TMP/p2.orig"
  local how
  for how in whole --payload-only; do
    cp "$TMP/p2.orig" "$p2"
    if [ $how = whole ]; then scan_py transplant "$p1" "$off" "$p2" "$o2" || return 1
    else scan_py transplant "$p1" "$off" "$p2" "$o2" --payload-only || return 1; fi
    start_server "$TMP/mk" || return 1
    if s3 "$k2" "$s2" get iso-two x "$TMP/got" > "$TMP/s3.out"; then
      fail "$how: t2 served t1's frame: $(cat "$TMP/s3.out")"; return 1
    fi
    s3 "$k1" "$s1" get iso-one x "$TMP/x1" >/dev/null && cmp -s "$TMP/x1" "$TMP/x" ||
      { fail "$how: t1 (its pack untouched) does not read"; return 1; }
    kill_server || return 1
    local n; n=$(stat -c %s "$TMP/got")
    [ "$n" -le "$start" ] && cmp -s -n "$n" "$TMP/got" "$TMP/x" ||
      { fail "$how: $n bytes served, the damaged chunk starts at $start"; return 1; }
    local rc=0
    enc verify --full > "$TMP/v" 2>&1 || rc=$?
    [ $rc -eq 3 ] || { fail "$how: verify --full exit $rc: $(cat "$TMP/v")"; return 1; }
    expect_in "$(cat "$TMP/v")" "$(basename "$p2" .pack)" || return 1
    expect_in "$(cat "$TMP/v")" "offset $o2" || return 1
  done
  cp "$TMP/p2.orig" "$p2"
  enc verify --full >/dev/null || fail "verify --full after restoring t2's pack"
}

test_encrypted_reindex() {
  enc init --encrypt >/dev/null 2>&1 || { fail "init --encrypt"; return 1; }
  rand_file "$TMP/a" 2000000 501
  seq -f 'reindex line %g' 1 100000 > "$TMP/b"
  cp "$TMP/a" "$TMP/a2"
  printf 'second version' | dd of="$TMP/a2" bs=1 seek=1000000 conv=notrunc status=none
  local x
  for x in a b a2; do enc put "$TMP/$x" --name re/$x >/dev/null 2>&1 || { fail "put $x"; return 1; }; done
  enc put "$TMP/a" --name re/a-again --json > "$TMP/put.json" 2>/dev/null || return 1
  # Ids: keyed (blake3k:) for chunks and manifests; the content digest shown
  # is b3sum's, but `ls` shows only its keyed lookup value.
  local want
  want="blake3:$(b3sum --no-names "$TMP/a")"
  python3 - "$TMP/put.json" "$want" <<'PY' || { fail "put --json: $(cat "$TMP/put.json")"; return 1; }
import json, sys
j = json.load(open(sys.argv[1]))
assert j["content"] == sys.argv[2] and j["manifest"].startswith("blake3k:"), j
PY
  enc stat re/a > "$TMP/stat" || return 1
  grep -q "^content: *$want\$" "$TMP/stat" && grep -q "^manifest: *blake3k:" "$TMP/stat" ||
    { fail "stat: $(cat "$TMP/stat")"; return 1; }
  enc ls re/ > "$TMP/ls" || return 1
  grep -q "blake3k:.*re/a\$" "$TMP/ls" || { fail "ls: $(cat "$TMP/ls")"; return 1; }
  ! grep -q "${want#blake3:}" "$TMP/ls" || { fail "ls shows the plain content digest: $(cat "$TMP/ls")"; return 1; }
  local content; content=$(enc stat re/b --json | sed -n 's/.*"content":"\(blake3:[0-9a-f]*\)".*/\1/p')
  [ "$content" = "blake3:$(b3sum --no-names "$TMP/b")" ] || { fail "stat --json content $content"; return 1; }
  check_all() {
    for x in a b a2; do
      enc get "re/$x" -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/$x" || { fail "$1: re/$x"; return 1; }
    done
    enc get re/a-again | cmp -s - "$TMP/a" || { fail "$1: re/a-again"; return 1; }
    enc get "$content" | cmp -s - "$TMP/b" || { fail "$1: get $content"; return 1; }
    enc verify --full >/dev/null || { fail "$1: verify --full"; return 1; }
  }
  lose_metadata
  enc repair --reindex > "$TMP/r" 2>&1 || { fail "repair --reindex: $(cat "$TMP/r")"; return 1; }
  check_all "after reindex" || return 1
  # Without the key (or with a wrong one) the reindex refuses, clearly, and
  # leaves the store as it found it: a later reindex with the key restores.
  lose_metadata
  snapshot "$TMP/before"
  expect_fail "$AS_BIN" -s "$TMP/store" repair --reindex || return 1
  expect_in "$ERR" "master key" || return 1
  snapshot "$TMP/after"
  same_snapshot "$TMP/before" "$TMP/after" > "$TMP/diff" ||
    { fail "a reindex refused for want of the key changed the store: $(cat "$TMP/diff")"; return 1; }
  new_key "$TMP/wrong.key"
  local rc=0
  "$AS_BIN" -s "$TMP/store" --master-key-file "$TMP/wrong.key" repair --reindex > "$TMP/r" 2> "$TMP/err" || rc=$?
  case "$(cat "$TMP/err")" in
    *"$TMP/wrong.key"*) [ $rc -ne 0 ] || { fail "reindex with a wrong key succeeded"; return 1; } ;;
    *) fail "reindex with a wrong key: exit $rc, the key file not named: $(cat "$TMP/err" "$TMP/r" | head -5)"; return 1 ;;
  esac
  snapshot "$TMP/after"
  same_snapshot "$TMP/before" "$TMP/after" > "$TMP/diff" ||
    { fail "a reindex refused for a wrong key changed the store: $(cat "$TMP/diff")"; return 1; }
  enc repair --reindex > "$TMP/r" 2>&1 || { fail "repair --reindex after the refused ones: $(cat "$TMP/r")"; return 1; }
  check_all "after the second reindex"
}

test_plain_store_needs_no_key() {
  "$AS_BIN" -s "$TMP/store" init >/dev/null || { fail "init"; return 1; }
  rand_file "$TMP/f" 800000 601
  d=$(as put "$TMP/f" --name p/f 2>/dev/null) || { fail "put without a key"; return 1; }
  [ "$d" = "blake3:$(b3sum --no-names "$TMP/f")" ] || { fail "digest $d"; return 1; }
  as get p/f | cmp -s - "$TMP/f" || { fail "get without a key"; return 1; }
  as verify --full >/dev/null || { fail "verify without a key"; return 1; }
  as stat p/f | grep -q "manifest:  blake3:" || { fail "plain manifest id: $(as stat p/f)"; return 1; }
  [ ! -e "$TMP/store/KEYS" ] || { fail "a plain store has DIR/KEYS"; return 1; }
  # A key given anyway is ignored.
  new_key "$TMP/mk"
  enc get p/f | cmp -s - "$TMP/f" || { fail "get with a key"; return 1; }
  enc put "$TMP/f" --name p/g >/dev/null 2>&1 || { fail "put with a key"; return 1; }
  ARTIFACT_STORE_MASTER_KEY_FILE=$TMP/mk "$AS_BIN" -s "$TMP/store" put "$TMP/f" --name p/h >/dev/null 2>&1 ||
    { fail "put with the key from the environment"; return 1; }
  as get p/g | cmp -s - "$TMP/f" && as get p/h | cmp -s - "$TMP/f" || { fail "get without the key again"; return 1; }
  j=$(enc tenant add t1 --json) || { fail "tenant add t1"; return 1; }
  [ "$(json_field "$j" encrypted)" = False ] || { fail "plain tenant: $j"; return 1; }
  expect_fail enc tenant rotate-key default || return 1
  as ls p/ | grep -q blake3: || { fail "ls: $(as ls p/)"; return 1; }
  [ ! -e "$TMP/store/KEYS" ] || { fail "a key given to a plain store made DIR/KEYS"; return 1; }
  if [ -z "${ARTIFACT_STORE_PACKS:-}" ]; then
    packs_of "$TMP/store" | xargs python3 "$ENC_SCAN" keyids > "$TMP/k" || return 1
    [ "$(cat "$TMP/k" | cut -d' ' -f1-2 | sort -u)" = "0 0" ] || { fail "plain frames: $(cat "$TMP/k")"; return 1; }
  fi
}
