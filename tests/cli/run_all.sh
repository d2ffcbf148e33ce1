#!/usr/bin/env bash
# Runs every tests/cli/*_test.sh function test_* against the binary in $1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export AS_BIN=$(realpath "${1:?usage: run_all.sh path/to/artifact-store}")
# shellcheck source=../util/parts_test_env.sh
source "$here/../util/parts_test_env.sh"
passed=0 failed=0 skipped=0
failures=()
for f in "$here"/*_test.sh; do
  for t in $(bash -c "source '$here/lib.sh'; source '$f'; declare -F" | awk '{print $3}' | grep '^test_'); do
    TMP=$(mktemp -d /tmp/as-cli-XXXXXX)
    parts_test_begin || { echo "cannot set up the store parts (PostgreSQL schema, RGW prefix)" >&2; exit 1; }
    out=$(TMP="$TMP" bash -c "set -u; source '$here/lib.sh'; source '$f'; $t" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      passed=$((passed+1)); echo "[ OK ] $(basename "$f") $t"
    elif [ $rc -eq 77 ]; then
      skipped=$((skipped+1)); echo "[SKIP] $(basename "$f") $t: $out"
    else
      failed=$((failed+1)); failures+=("$t"); echo "[FAIL] $(basename "$f") $t"; echo "$out" | sed 's/^/    /'
    fi
    rm -rf "$TMP"
    parts_test_end
  done
done
echo "cli${AS_TEST_PG_URL:+ (metadata on PostgreSQL)}${AS_TEST_RGW_STATE:+ (packs on RGW)}: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
