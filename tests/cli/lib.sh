# Shared helpers for the CLI tests. Each test file defines functions named
# test_*; run_all.sh runs each in a fresh temp dir and counts the results.
AS_BIN=${AS_BIN:?AS_BIN must point at the artifact-store binary}

fail() { echo "    FAIL: $*" >&2; return 1; }

# expect_fail CMD...: the command must exit non-zero; its stderr is kept in $ERR.
expect_fail() {
  if "$@" >/dev/null 2>"$TMP/err"; then ERR=$(cat "$TMP/err"); fail "expected failure: $*"; return 1; fi
  ERR=$(cat "$TMP/err")
  return 0
}

# expect_in TEXT NEEDLE: TEXT must contain NEEDLE.
expect_in() {
  case "$1" in *"$2"*) return 0 ;; esac
  fail "expected '$2' in: $1"
}

# Deterministic random bytes: rand_file PATH BYTES SEED
rand_file() {
  openssl enc -aes-128-ctr -pass "pass:$3" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null \
    | head -c "$2" > "$1"
}

as() { "$AS_BIN" -s "$TMP/store" "$@"; }

# lose_metadata: the store's metadata database is gone, as after a lost disk
# or a dropped database: the SQLite files, or (metadata on PostgreSQL, see
# tests/util/parts_test_env.sh) every table of the store's schema.
lose_metadata() {
  rm -f "$TMP/store/metadata.db"*
  if [ -n "${ARTIFACT_STORE_METADATA:-}" ]; then
    PGOPTIONS="-c client_min_messages=warning" psql -qX "$ARTIFACT_STORE_METADATA" -c \
      "DO \$\$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP EXECUTE 'DROP TABLE ' || quote_ident(t) || ' CASCADE'; END LOOP; END \$\$" >/dev/null
  fi
}

# skip_on_s3_packs WHY: the test is about pack files in the store directory;
# with the packs in a bucket (tests/util/parts_test_env.sh) it does not apply.
skip_on_s3_packs() {
  if [ -n "${ARTIFACT_STORE_PACKS:-}" ]; then echo "packs on S3: $1"; return 77; fi
  return 0
}

# skip_on_postgresql WHY: the test is about the SQLite file in the store
# directory; with the metadata on a server it does not apply.
skip_on_postgresql() {
  if [ -n "${ARTIFACT_STORE_METADATA:-}" ]; then echo "metadata on PostgreSQL: $1"; return 77; fi
  return 0
}
