# Faults of the packs' S3 server (Ceph RGW) and of the bucket behind the
# store's back. Runs only with the packs on an RGW this test may stop
# (`make rgw-test`, which exports AS_TEST_RGW_STATE and ARTIFACT_STORE_PACKS).

rgw_needed() {
  if [ -z "${ARTIFACT_STORE_PACKS:-}" ] || [ -z "${AS_TEST_RGW_STATE:-}" ]; then
    skip "needs the packs on an RGW this test may stop (make rgw-test)"
  fi
  RGW_BUCKET=${ARTIFACT_STORE_PACKS#s3://}
  RGW_PREFIX=${RGW_BUCKET#*/}
  RGW_BUCKET=${RGW_BUCKET%%/*}
}

# The store's pack objects and multipart uploads in RGW (lib.sh's rgw_aws).
pack_keys() { rgw_pack_keys "$RGW_BUCKET" "$RGW_PREFIX/packs/"; }
uploads() { rgw_uploads "$RGW_BUCKET" "$RGW_PREFIX/packs/"; }

test_rgw_down_is_503_and_requests_succeed_once_it_is_back() {
  need_client aws
  need_client boto3
  rgw_needed
  start_server
  down_is_503_then_back rgb "$ENDPOINT" "$TMP/server.log" -- "$CLIENTS_DIR/../../util/rgw_server.sh" "$AS_TEST_RGW_STATE"
  stop_server
  "$AS_BIN" -s "$TMP/store" verify --full >/dev/null || fail "verify after RGW came back"
}

test_a_killed_put_leaves_no_name_and_gc_removes_its_upload() {
  rgw_needed
  "$AS_BIN" -s "$TMP/store" init >/dev/null
  rand_file "$TMP/big" $((40 << 20)) rgbig
  # The bytes stop coming after 40 MiB: the put has sent its pack's first
  # parts and waits for more when it is killed.
  mkfifo "$TMP/fifo"
  (cat "$TMP/big"; exec sleep 120) >"$TMP/fifo" &
  local feeder=$!
  "$AS_BIN" -s "$TMP/store" put - -n b/big --codec none <"$TMP/fifo" >/dev/null 2>&1 &
  local put=$! i
  for i in $(seq 100); do
    [ -n "$(uploads)" ] && break
    sleep 0.2
  done
  kill -KILL "$put" 2>/dev/null || fail "the put ended before it could be killed"
  wait "$put" 2>/dev/null || true
  kill "$feeder" 2>/dev/null || true
  wait "$feeder" 2>/dev/null || true
  [ -n "$(uploads)" ] || fail "no multipart upload was left to clean"
  [ -z "$("$AS_BIN" -s "$TMP/store" ls)" ] || fail "a killed put left a name"
  "$AS_BIN" -s "$TMP/store" gc --grace 0 >"$TMP/gc.out" || fail "gc: $(cat "$TMP/gc.out")"
  [ -z "$(uploads)" ] || fail "gc left the killed put's upload: $(uploads)"
  "$AS_BIN" -s "$TMP/store" verify >/dev/null || fail "verify after gc"
}

test_puts_killed_at_random_moments_leave_nothing_gc_cannot_clean() {
  rgw_needed
  "$AS_BIN" -s "$TMP/store" init >/dev/null
  rand_file "$TMP/big" $((24 << 20)) rgrand
  local round put
  for round in 1 2 3 4 5; do
    # Each round's own bytes (a new first chunk), killed somewhere between
    # its start and its end: before any upload, mid-part, at the seal, or
    # after the pack is complete but before its rows commit.
    printf 'round %s' "$round" | dd of="$TMP/big" conv=notrunc status=none
    cp "$TMP/big" "$TMP/want.r$round"
    "$AS_BIN" -s "$TMP/store" put "$TMP/big" -n "b/r$round" --codec none >/dev/null 2>&1 &
    put=$!
    sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
    kill -KILL "$put" 2>/dev/null || true
    wait "$put" 2>/dev/null || true
  done
  "$AS_BIN" -s "$TMP/store" gc --grace 0 >"$TMP/gc.out" || fail "gc: $(cat "$TMP/gc.out")"
  [ -z "$(uploads)" ] || fail "gc left uploads: $(uploads)"
  # Every object left is a pack the index names, and every name reads back.
  local objects packs
  objects=$(pack_keys | grep -c . || true)
  packs=$("$AS_BIN" -s "$TMP/store" stats --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["packs"])')
  [ "$objects" = "$packs" ] || fail "$objects pack objects in the bucket, $packs in the index"
  local name
  for name in $("$AS_BIN" -s "$TMP/store" ls | awk '{print $NF}' | grep '^b/'); do
    "$AS_BIN" -s "$TMP/store" get "$name" -o "$TMP/got" || fail "get $name"
    cmp -s "$TMP/want.${name#b/}" "$TMP/got" || fail "$name reads back wrong"
  done
  "$AS_BIN" -s "$TMP/store" verify --full >/dev/null || fail "verify --full after the kills"
}

test_a_pack_corrupted_or_deleted_in_the_bucket_is_named_by_verify() {
  need_client aws
  rgw_needed
  "$AS_BIN" -s "$TMP/store" init >/dev/null
  rand_file "$TMP/x" 400000 rgx
  rand_file "$TMP/y" 400000 rgy
  "$AS_BIN" -s "$TMP/store" put "$TMP/x" -n b/x --codec none >/dev/null
  "$AS_BIN" -s "$TMP/store" put "$TMP/y" -n b/y --codec none >/dev/null
  "$AS_BIN" -s "$TMP/store" verify >/dev/null || fail "verify before the damage"
  local keys first second
  keys=$(pack_keys)
  first=$(echo "$keys" | sed -n 1p)
  second=$(echo "$keys" | sed -n 2p)
  [ -n "$first" ] && [ -n "$second" ] || fail "expected two pack objects, got: $keys"
  # One flipped byte in the middle of the first pack.
  rgw_aws s3 cp "s3://$RGW_BUCKET/$first" "$TMP/p" >/dev/null
  /usr/bin/python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[len(b)//2]^=1; open(sys.argv[1],'wb').write(b)" "$TMP/p"
  rgw_aws s3 cp "$TMP/p" "s3://$RGW_BUCKET/$first" >/dev/null
  expect_fail "$AS_BIN" -s "$TMP/store" verify
  expect_in "$ERR" "$(basename "$first" .pack)"
  # The second deleted outright.
  rgw_aws s3 rm "s3://$RGW_BUCKET/$second" >/dev/null
  expect_fail "$AS_BIN" -s "$TMP/store" verify
  expect_in "$ERR" "$(basename "$second" .pack)"
}

test_reindex_rebuilds_the_index_from_the_bucket_alone() {
  rgw_needed
  [ -n "${ARTIFACT_STORE_METADATA:-}" ] || skip "needs the metadata on PostgreSQL"
  "$AS_BIN" -s "$TMP/store" init >/dev/null
  rand_file "$TMP/r" 2000000 rgr
  "$AS_BIN" -s "$TMP/store" put "$TMP/r" -n b/r >/dev/null
  psql -qX "$ARTIFACT_STORE_METADATA" -c \
    "DO \$\$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP EXECUTE 'DROP TABLE ' || quote_ident(t) || ' CASCADE'; END LOOP; END \$\$" >/dev/null
  expect_fail "$AS_BIN" -s "$TMP/store" get b/r -o "$TMP/r.lost"
  "$AS_BIN" -s "$TMP/store" repair --reindex >"$TMP/reindex.out" 2>&1 ||
    fail "repair --reindex: $(cat "$TMP/reindex.out")"
  "$AS_BIN" -s "$TMP/store" get b/r -o "$TMP/r.got"
  cmp "$TMP/r" "$TMP/r.got"
}
