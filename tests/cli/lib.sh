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
