#!/usr/bin/env bash
# Robustness tests for `artifact-store serve`: bad input and bounded memory.
#
#   tests/server/robust/run.sh [--quick] BIN [TEST...]
#
# Starts BIN serve on a fresh store in a temp dir (tenants alpha and beta made
# beforehand: the serving process locks the store), runs robust_test.py
# against it, stops it with SIGTERM (it must exit 0), then checks that no
# *.tmp pack was left and that `verify --full` is clean: nothing a failed
# request did may leave the store half-written. --quick skips the large-object
# tests (2 GiB PUT/GET, repeated 1 GiB PUTs). TEST... are passed to
# robust_test.py (e.g. body_tests.ChecksumTest).
# ROBUST_KEEP=1 keeps the temp dir. Prints "robust: N passed, M failed";
# exits non-zero on any failure.
set -u

quick=0
BIN=
tests=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    *) if [ -z "$BIN" ]; then BIN=$a; else tests+=("$a"); fi ;;
  esac
done
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "usage: $0 [--quick] BIN [TEST...]   (BIN: the artifact-store binary)" >&2
  exit 2
fi
BIN=$(realpath "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3  # Debian's, with python3-botocore (not pyenv's)
export PYTHONDONTWRITEBYTECODE=1  # leave no __pycache__ in the source tree

TMP=$(mktemp -d "${TMPDIR:-/tmp}/robust.XXXXXX")
STORE=$TMP/store
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null; fi
  if [ "${ROBUST_KEEP:-0}" = 1 ]; then echo "robust: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

passed=0
failed=0
check() {  # check NAME CONDITION-STATUS MESSAGE
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); echo "run.sh: $1 ... ok"
  else
    failed=$((failed + 1)); echo "run.sh: $1 ... FAIL: $3"
  fi
}
summary() {
  echo "robust: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

key() {  # key JSON FIELD
  "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

"$BIN" -s "$STORE" init >/dev/null || { echo "robust: init failed"; failed=1; summary; }
A=$("$BIN" -s "$STORE" tenant add alpha --json) || { echo "robust: tenant add failed"; failed=1; summary; }
B=$("$BIN" -s "$STORE" tenant add beta --json) || { echo "robust: tenant add failed"; failed=1; summary; }

# Background gc off: it would rewrite packs under the tests' feet, and the
# tests compare the pack directory before and after failed requests.
"$BIN" -s "$STORE" serve --listen 127.0.0.1:0 --ready-file "$TMP/ready" --gc-interval 0 \
  >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
  [ -s "$TMP/ready" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if [ ! -s "$TMP/ready" ]; then
  echo "robust: the server did not become ready in 30 s; its log:"
  cat "$TMP/serve.log"
  failed=1
  summary
fi
URL=$(head -n1 "$TMP/ready")
echo "robust: server pid $PID at $URL, store $STORE"

ROBUST_ENDPOINT=$URL ROBUST_STORE=$STORE ROBUST_SERVER_PID=$PID ROBUST_QUICK=$quick \
ROBUST_A_ID=$(key "$A" access_key_id) ROBUST_A_SECRET=$(key "$A" secret_access_key) \
ROBUST_B_ID=$(key "$B" access_key_id) ROBUST_B_SECRET=$(key "$B" secret_access_key) \
ROBUST_COUNTS=$TMP/counts \
  "$PY" "$HERE/robust_test.py" "${tests[@]}"
if [ -s "$TMP/counts" ]; then
  read -r p f s <"$TMP/counts"
  passed=$((passed + p)); failed=$((failed + f))
  [ "$s" -gt 0 ] && echo "robust: $s skipped"
else
  check "robust_test.py ran to the end" 1 "it stopped without counting (crashed?)"
fi

# Graceful stop: SIGTERM, exit status 0 (waits up to 120 s, then kills).
kill -TERM "$PID"
for _ in $(seq 1200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
  check "server exits on SIGTERM" 1 "still running 120 s after SIGTERM; killed"
  kill -KILL "$PID"
  wait "$PID" 2>/dev/null
else
  wait "$PID"
  rc=$?
  check "server exits 0 on SIGTERM" "$rc" "exit status $rc"
fi
PID=

tmps=$(find "$STORE/packs" -name '*.tmp' 2>/dev/null)
check "no *.tmp pack left after the server stopped" "$([ -z "$tmps" ]; echo $?)" "found: $tmps"

"$BIN" -s "$STORE" verify --full >"$TMP/verify.log" 2>&1
rc=$?
check "verify --full is clean" "$rc" "exit status $rc: $(tail -n 20 "$TMP/verify.log")"

if [ "$failed" -gt 0 ]; then
  echo "robust: last lines of the server's log:"
  tail -n 30 "$TMP/serve.log"
fi
summary
