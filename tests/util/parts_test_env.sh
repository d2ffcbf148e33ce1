# Sourced by the shell suites' runners (tests/cli, tests/server/clients): where
# each test's store keeps the parts that may live on servers.
#  - AS_TEST_PG_URL set (a server the caller started, e.g. with
#    tests/util/pg_server.sh): the metadata, in a schema of its own per test
#    (`init` and a first put read ARTIFACT_STORE_METADATA).
#  - AS_TEST_RGW_STATE set (tests/util/rgw_server.sh's state): the packs, on
#    that RGW under a prefix of their own per test (ARTIFACT_STORE_PACKS,
#    ARTIFACT_STORE_S3_ENDPOINT, and the server's 0600 credentials file named
#    by ARTIFACT_STORE_S3_CREDENTIALS, so that the AWS_* variables the S3 client
#    tests set for their own server do not reach RGW).
parts_test_n=0
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICEs from psql

# parts_test_begin: a fresh schema and prefix for the next test; exports them.
parts_test_begin() {
  parts_test_n=$((parts_test_n + 1))
  if [ -n "${AS_TEST_PG_URL:-}" ]; then
    PG_TEST_SCHEMA="t_$$_$parts_test_n"
    psql -qX "$AS_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $PG_TEST_SCHEMA CASCADE; CREATE SCHEMA $PG_TEST_SCHEMA" \
      >/dev/null || return 1
    export ARTIFACT_STORE_METADATA="$AS_TEST_PG_URL?options=-csearch_path%3D$PG_TEST_SCHEMA"
  fi
  if [ -n "${AS_TEST_RGW_STATE:-}" ]; then
    export ARTIFACT_STORE_PACKS="s3://as-shell-tests/t-$$-$parts_test_n"
    export ARTIFACT_STORE_S3_ENDPOINT; ARTIFACT_STORE_S3_ENDPOINT=$(cat "$AS_TEST_RGW_STATE/endpoint")
    export ARTIFACT_STORE_S3_CREDENTIALS="$AS_TEST_RGW_STATE/credentials"
  fi
}

# parts_test_end: drops that schema (the prefix stays: RGW's memory store
# goes with the cluster).
parts_test_end() {
  if [ -n "${AS_TEST_PG_URL:-}" ]; then
    psql -qX "$AS_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $PG_TEST_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  unset ARTIFACT_STORE_METADATA ARTIFACT_STORE_PACKS ARTIFACT_STORE_S3_ENDPOINT ARTIFACT_STORE_S3_CREDENTIALS
}
