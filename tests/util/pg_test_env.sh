# Sourced by the shell suites' runners (tests/cli, tests/server/clients).
# With AS_TEST_PG_URL set (a server the caller started, e.g. with
# tests/util/pg_server.sh), every test's store keeps its metadata there, in a
# schema of its own: `init` reads ARTIFACT_STORE_METADATA.
pg_test_n=0
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICEs from psql

# pg_test_begin: a fresh schema for the next test; exports its URL.
pg_test_begin() {
  [ -n "${AS_TEST_PG_URL:-}" ] || return 0
  pg_test_n=$((pg_test_n + 1))
  PG_TEST_SCHEMA="t_$$_$pg_test_n"
  psql -qX "$AS_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $PG_TEST_SCHEMA CASCADE; CREATE SCHEMA $PG_TEST_SCHEMA" \
    >/dev/null || return 1
  export ARTIFACT_STORE_METADATA="$AS_TEST_PG_URL?options=-csearch_path%3D$PG_TEST_SCHEMA"
}

# pg_test_end: drops that schema.
pg_test_end() {
  [ -n "${AS_TEST_PG_URL:-}" ] || return 0
  psql -qX "$AS_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $PG_TEST_SCHEMA CASCADE" >/dev/null 2>&1 || true
  unset ARTIFACT_STORE_METADATA
}
