# The metadata's PostgreSQL server stops and starts again under a running
# S3 server: requests fail with 503 ServiceUnavailable (which SDKs retry),
# nothing half-committed shows, and once the database is back the same
# requests succeed without restarting artifact-store. Runs only with the
# metadata on PostgreSQL (`make pg-test`, which exports AS_TEST_PG_STATE).

test_pg_down_is_503_and_requests_succeed_once_it_is_back() {
  need_client aws
  need_client boto3
  if [ -z "${ARTIFACT_STORE_METADATA:-}" ] || [ -z "${AS_TEST_PG_STATE:-}" ]; then
    skip "needs the metadata on a PostgreSQL this test may stop (make pg-test)"
  fi
  start_server
  down_is_503_then_back pgb "$ENDPOINT" "$TMP/server.log" -- "$CLIENTS_DIR/../../util/pg_server.sh" "$AS_TEST_PG_STATE"
  stop_server
  "$AS_BIN" -s "$TMP/store" verify --full >/dev/null || fail "verify after the restart"
}
