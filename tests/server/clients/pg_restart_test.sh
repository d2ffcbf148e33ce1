# The metadata's PostgreSQL server stops and starts again under a running
# S3 server: requests fail with 503 ServiceUnavailable (which SDKs retry),
# nothing half-committed shows, and once the database is back the same
# requests succeed without restarting artifact-store. Runs only with the
# metadata on PostgreSQL (`make pg-test`, which exports AS_TEST_PG_STATE).

test_pg_down_is_503_and_requests_succeed_once_it_is_back() {
  need_client aws
  if [ -z "${ARTIFACT_STORE_METADATA:-}" ] || [ -z "${AS_TEST_PG_STATE:-}" ]; then
    skip "needs the metadata on a PostgreSQL this test may stop (make pg-test)"
  fi
  local pg="$CLIENTS_DIR/../../util/pg_server.sh"
  start_server
  rand_file "$TMP/a" 300000 pga
  rand_file "$TMP/b" 200000 pgb
  awsa s3api create-bucket --bucket pgb >/dev/null
  awsa s3api put-object --bucket pgb --key a --body "$TMP/a" >/dev/null
  # Down: every request that needs the metadata is refused with a 503. (In
  # a subshell, so that the database comes back up whatever fails: the
  # suites after this one share it.)
  bash "$pg" down "$AS_TEST_PG_STATE"
  local rc=0
  (
    expect_fail env AWS_MAX_ATTEMPTS=1 "$AWS" --endpoint-url "$ENDPOINT" s3api put-object \
      --bucket pgb --key b --body "$TMP/b"
    expect_in "$ERR" "ServiceUnavailable"
    expect_fail env AWS_MAX_ATTEMPTS=1 "$AWS" --endpoint-url "$ENDPOINT" s3api get-object \
      --bucket pgb --key a "$TMP/a.down"
    expect_in "$ERR" "ServiceUnavailable"
    grep -q "503 ServiceUnavailable" "$TMP/server.log" || fail "the server did not log the 503s"
  ) || rc=$?
  # Up again: the same server answers, the failed put left nothing behind.
  bash "$pg" up "$AS_TEST_PG_STATE"
  [ $rc -eq 0 ] || return 1
  expect_fail awsa s3api head-object --bucket pgb --key b
  expect_in "$ERR" "Not Found"
  awsa s3api put-object --bucket pgb --key b --body "$TMP/b" >/dev/null
  awsa s3api get-object --bucket pgb --key a "$TMP/a.got" >/dev/null
  awsa s3api get-object --bucket pgb --key b "$TMP/b.got" >/dev/null
  cmp "$TMP/a" "$TMP/a.got"
  cmp "$TMP/b" "$TMP/b.got"
  stop_server
  "$AS_BIN" -s "$TMP/store" verify --full >/dev/null || fail "verify after the restart"
}
