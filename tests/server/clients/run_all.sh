#!/usr/bin/env bash
# Runs every test_* function of tests/server/clients/*_test.sh against the
# artifact-store binary in $1, each in a fresh temp dir with its own server.
# A test that exits 77 is skipped (a client or feature is missing).
#   run_all.sh path/to/artifact-store [NAME_FILTER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
export CLIENTS_DIR=$here
export AS_BIN=$(realpath "${1:?usage: run_all.sh path/to/artifact-store [filter]}")
filter=${2:-}
per_test_timeout=${AS_CLIENT_TEST_TIMEOUT:-600}
# shellcheck source=../../util/parts_test_env.sh
source "$here/../../util/parts_test_env.sh"
passed=0 failed=0 skipped=0
failures=()
for f in "$here"/*_test.sh; do
  for t in $(bash -c "source '$here/lib.sh'; source '$f'; declare -F" | awk '{print $3}' | grep '^test_'); do
    case "$(basename "$f") $t" in *"$filter"*) ;; *) continue ;; esac
    TMP=$(mktemp -d /tmp/as-s3c-XXXXXX)
    parts_test_begin || { echo "cannot set up the store parts (PostgreSQL schema, RGW prefix)" >&2; exit 1; }
    # timeout signals its whole process group, so a hung client and the
    # test's server go too; lib.sh's EXIT trap stops the server otherwise.
    out=$(TMP="$TMP" timeout --kill-after=10 "$per_test_timeout" \
            bash -c "source '$here/lib.sh'; source '$f'; strict_mode; $t" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      passed=$((passed+1)); echo "[ OK ] $(basename "$f") $t"
    elif [ $rc -eq 77 ]; then
      skipped=$((skipped+1)); echo "[SKIP] $(basename "$f") $t: $(echo "$out" | tail -1)"
    else
      [ $rc -eq 124 ] && out="$out
timed out after ${per_test_timeout}s"
      failed=$((failed+1)); failures+=("$t"); echo "[FAIL] $(basename "$f") $t"
      echo "$out" | sed 's/^/    /'
    fi
    rm -rf "$TMP"
    parts_test_end
  done
done
echo "s3 clients${AS_TEST_PG_URL:+ (metadata on PostgreSQL)}${AS_TEST_RGW_STATE:+ (packs on RGW)}: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
