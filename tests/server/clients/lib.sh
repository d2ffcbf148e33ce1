# Shared helpers for the S3 client tests. Each test function starts its own
# server on a fresh store in $TMP with two tenants, alice and bob, and talks
# to it with a real client. Only Debian's clients are used: /usr/bin/aws,
# /usr/bin/python3 (boto3), rclone, s3cmd; never what PATH finds first.
AS_BIN=${AS_BIN:?AS_BIN must point at the artifact-store binary}
CLIENTS_DIR=${CLIENTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
PY=/usr/bin/python3
AWS=/usr/bin/aws
export LC_ALL=C.UTF-8
# The server is local: no proxy may see these requests.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy AWS_CA_BUNDLE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
  AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_REGION AWS_ENDPOINT_URL

# Errors stop the test, and the line that failed is named. Every failure exits
# 1, so only an explicit `skip` exits 77 (s3cmd itself uses 77 for "no
# permission").
strict_mode() {
  set -eEuo pipefail
  shopt -s inherit_errexit
  trap 'echo "    at ${BASH_SOURCE[0]##*/}:$LINENO: \`$BASH_COMMAND\` exited $?" >&2; exit 1' ERR
  trap 'exit 143' TERM
}

fail() { echo "    FAIL: $*" >&2; return 1; }
skip() { echo "$*"; exit 77; }

# expect_fail CMD...: the command must fail; its stdout+stderr are kept in $ERR.
expect_fail() {
  if "$@" >"$TMP/expect_fail.out" 2>&1; then
    ERR=$(cat "$TMP/expect_fail.out"); fail "expected failure: $* (got: $ERR)"; return 1
  fi
  ERR=$(cat "$TMP/expect_fail.out")
}

# expect_in TEXT NEEDLE: TEXT must contain NEEDLE.
expect_in() {
  case "$1" in *"$2"*) return 0 ;; esac
  fail "expected '$2' in: $1"
}

# expect_not_in TEXT NEEDLE: TEXT must not contain NEEDLE.
expect_not_in() {
  case "$1" in *"$2"*) fail "did not expect '$2' in: $1"; return 1 ;; esac
}

# Deterministic random bytes: rand_file PATH BYTES SEED
# (openssl dies of SIGPIPE when head has enough: not a failure here).
rand_file() {
  (set +o pipefail
   openssl enc -aes-128-ctr -pass "pass:$3" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null \
     | head -c "$2" > "$1")
}

# A small tree with the names clients get wrong: spaces, unicode, '+', '&',
# nested folders. make_tree DIR
make_tree() {
  mkdir -p "$1/nested/deeper" "$1/sp ace" "$1/ünï"
  rand_file "$1/plain.txt" 1000 t1
  rand_file "$1/with space.txt" 2000 t2
  rand_file "$1/ünïcödé ☃.bin" 3000 t3
  rand_file "$1/a+b&c=d.txt" 4000 t4
  rand_file "$1/nested/deeper/file 2.dat" 70000 t5
  rand_file "$1/nested/x.bin" 300000 t6
  rand_file "$1/sp ace/y z.txt" 10 t7
  rand_file "$1/ünï/€uro.txt" 1 t8
  : > "$1/empty.txt"
}

# "md5  relative/path" for every file under DIR, sorted.
tree_md5() { (cd "$1" && find . -type f -printf '%P\0' | sort -z | xargs -0 -r md5sum); }

# ---- server ----------------------------------------------------------------

# json_field JSON NAME: one string field of a JSON object.
json_field() {
  printf '%s' "$1" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# start_server: store in $TMP/store, tenants alice and bob (keys in
# A_KEY/A_SECRET and B_KEY/B_SECRET), server on a free port ($ENDPOINT,
# $HOSTPORT), client configurations for both tenants.
start_server() {
  "$AS_BIN" -s "$TMP/store" init >/dev/null
  local json
  # Keys are added before serving: a serving process holds the store's lock.
  json=$("$AS_BIN" -s "$TMP/store" tenant add alice --json)
  A_KEY=$(json_field "$json" access_key_id); A_SECRET=$(json_field "$json" secret_access_key)
  json=$("$AS_BIN" -s "$TMP/store" tenant add bob --json)
  B_KEY=$(json_field "$json" access_key_id); B_SECRET=$(json_field "$json" secret_access_key)
  export A_KEY A_SECRET B_KEY B_SECRET
  serve_store
}

# serve_store: serves $TMP/store (already set up by start_server) on a free
# port; sets SERVER_PID, ENDPOINT, HOSTPORT and the client configurations.
serve_store() {
  rm -f "$TMP/ready"
  # shellcheck disable=SC2086  # SERVE_ARGS: extra serve options, word-split
  "$AS_BIN" -s "$TMP/store" serve --listen 127.0.0.1:0 --ready-file "$TMP/ready" ${SERVE_ARGS:-} \
    >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  trap on_exit EXIT
  # The ready file holds one line; take it once it is stable.
  local i prev="" cur
  for i in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { fail "server exited: $(tail -20 "$TMP/server.log")"; return 1; }
    cur=$(cat "$TMP/ready" 2>/dev/null || true)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then break; fi
    prev=$cur
    sleep 0.1
  done
  case "$cur" in http://127.0.0.1:[0-9]*) ;; *) fail "no ready file after 30 s ('$cur')"; return 1 ;; esac
  ENDPOINT=$(printf '%s\n' "$cur" | head -1)
  HOSTPORT=${ENDPOINT#http://}
  export ENDPOINT HOSTPORT
  write_client_configs
}

# stop_server: SIGTERM, then wait up to 30 s for a clean exit (status 0).
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  local pid=$SERVER_PID i
  SERVER_PID=
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    fail "server did not exit within 30 s of SIGTERM"; return 1
  fi
  local rc=0
  wait "$pid" || rc=$?
  [ $rc -eq 0 ] || { fail "server exited with status $rc: $(tail -5 "$TMP/server.log")"; return 1; }
}

on_exit() {
  local rc=$?
  stop_server || rc=1
  if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -s "$TMP/server.log" ]; then
    echo "    --- server log (last 15 lines) ---" >&2
    tail -15 "$TMP/server.log" | sed 's/^/    /' >&2
  fi
  exit $rc
}

write_client_configs() {
  # awscli v2 (and boto3 through the same files): path-style, us-east-1.
  export AWS_CONFIG_FILE=$TMP/aws.config AWS_SHARED_CREDENTIALS_FILE=$TMP/aws.credentials
  export AWS_PROFILE=alice AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
  : > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"; : > "$TMP/rclone.conf"
  local p key secret
  for p in alice bob; do
    if [ $p = alice ]; then key=$A_KEY secret=$A_SECRET; else key=$B_KEY secret=$B_SECRET; fi
    printf '[profile %s]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' $p >> "$AWS_CONFIG_FILE"
    printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' $p "$key" "$secret" \
      >> "$AWS_SHARED_CREDENTIALS_FILE"
    # rclone: remotes alice: and bob:
    printf '[%s]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = us-east-1\nforce_path_style = true\n\n' \
      $p "$key" "$secret" "$ENDPOINT" >> "$TMP/rclone.conf"
    # s3cmd: host_bucket without %(bucket)s means path-style requests.
    printf '[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\ncheck_ssl_certificate = False\nguess_mime_type = True\n' \
      "$key" "$secret" "$HOSTPORT" "$HOSTPORT" > "$TMP/s3cfg.$p"
  done
}

# ---- clients ---------------------------------------------------------------

# down_is_503_then_back SCRIPT STATE BUCKET: a server the store relies on
# (tests/util/pg_server.sh or rgw_server.sh, with its state) goes down under
# a running artifact-store while 16 threads PUT (crash_puts.py load): a PUT
# and a GET fail with 503 ServiceUnavailable (which SDKs retry) and the
# server logs them; once it is up again the failed PUT left nothing, the
# same requests succeed without a restart, and every PUT the load saw
# acknowledged reads back. Stops the server; the caller verifies the store.
down_is_503_then_back() {
  local script=$1 state=$2 bucket=$3
  start_server
  rand_file "$TMP/a" 300000 "$bucket-a"
  rand_file "$TMP/b" 200000 "$bucket-b"
  awsa s3api create-bucket --bucket "$bucket" >/dev/null
  awsa s3api put-object --bucket "$bucket" --key a --body "$TMP/a" >/dev/null
  "$PY" "$CLIENTS_DIR/crash_puts.py" load "$TMP/acked" "$bucket" "$TMP/stop" \
    >"$TMP/load.out" 2>"$TMP/load.err" &
  local load=$!
  sleep 1
  # In a subshell, so that the server comes back up whatever fails: the
  # suites after this one share it.
  bash "$script" down "$state"
  local rc=0
  (
    expect_fail env AWS_MAX_ATTEMPTS=1 "$AWS" --endpoint-url "$ENDPOINT" s3api put-object \
      --bucket "$bucket" --key b --body "$TMP/b"
    expect_in "$ERR" "ServiceUnavailable"
    expect_fail env AWS_MAX_ATTEMPTS=1 "$AWS" --endpoint-url "$ENDPOINT" s3api get-object \
      --bucket "$bucket" --key a "$TMP/a.down"
    expect_in "$ERR" "ServiceUnavailable"
    grep -q "503 ServiceUnavailable" "$TMP/server.log" || fail "the server did not log the 503s"
  ) || rc=$?
  bash "$script" up "$state"
  [ $rc -eq 0 ] || { touch "$TMP/stop"; wait "$load"; return 1; }
  sleep 1  # the load goes on against the server that is back
  touch "$TMP/stop"
  wait "$load" || fail "the load failed: $(tail -3 "$TMP/load.err")"
  local n503
  n503=$(awk '{print $2}' "$TMP/load.out")
  [ "${n503:-0}" -gt 0 ] || fail "the load saw no 503 while the server was down: $(cat "$TMP/load.out")"
  "$PY" "$CLIENTS_DIR/crash_puts.py" check "$TMP/acked" ||
    fail "acknowledged PUTs lost: $(tail -3 "$TMP/load.err")"
  expect_fail awsa s3api head-object --bucket "$bucket" --key b
  expect_in "$ERR" "Not Found"
  awsa s3api put-object --bucket "$bucket" --key b --body "$TMP/b" >/dev/null
  awsa s3api get-object --bucket "$bucket" --key a "$TMP/a.got" >/dev/null
  awsa s3api get-object --bucket "$bucket" --key b "$TMP/b.got" >/dev/null
  cmp "$TMP/a" "$TMP/a.got"
  cmp "$TMP/b" "$TMP/b.got"
  stop_server
}

awsa() { "$AWS" --endpoint-url "$ENDPOINT" "$@"; }
awsb() { AWS_PROFILE=bob "$AWS" --endpoint-url "$ENDPOINT" "$@"; }
rcl() { rclone --config "$TMP/rclone.conf" --retries 1 --low-level-retries 1 "$@"; }
s3c() {
  local rc=0
  s3cmd -c "$TMP/s3cfg.alice" "$@" || rc=$?
  [ $rc -eq 0 ] || { fail "s3cmd $* exited $rc"; return 1; }
}

# boto3 CASE: runs one case of boto3_suite.py (77 = skipped).
boto3_case() {
  local rc=0
  "$PY" "$CLIENTS_DIR/boto3_suite.py" "$1" || rc=$?
  [ $rc -eq 77 ] && exit 77
  [ $rc -eq 0 ] || { fail "boto3_suite.py $1 exited $rc"; return 1; }
}

need_client() {
  case "$1" in
    aws) [ -x "$AWS" ] || skip "/usr/bin/aws not installed" ;;
    rclone | s3cmd | b3sum | curl | restic) command -v "$1" >/dev/null || skip "$1 not installed" ;;
    boto3) "$PY" -c 'import boto3' 2>/dev/null || skip "python3-boto3 not installed" ;;
  esac
}
