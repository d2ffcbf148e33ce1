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
  # shellcheck disable=SC2086  # ALICE_ADD_ARGS: extra `tenant add` options (--encrypt)
  json=$("$AS_BIN" -s "$TMP/store" tenant add alice ${ALICE_ADD_ARGS:-} --json)
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
  wait_ready "$SERVER_PID" "$TMP/ready" server "$TMP/server.log" || return 1
  ENDPOINT=$READY_URL
  HOSTPORT=${ENDPOINT#http://}
  export ENDPOINT HOSTPORT
  write_client_configs
}

# wait_ready PID FILE WHAT LOG: until the --ready-file FILE of the server
# PID holds one line, the same 0.1 s later (30 s at most); sets READY_URL to
# it. Fails when PID exits first (with the end of its LOG) or no
# http://127.0.0.1 URL came.
wait_ready() {
  local pid=$1 file=$2 what=$3 log=$4 i prev="" cur=""
  for i in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { fail "$what exited: $(tail -20 "$log")"; return 1; }
    cur=$(cat "$file" 2>/dev/null || true)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then break; fi
    prev=$cur
    sleep 0.1
  done
  case "$cur" in http://127.0.0.1:[0-9]*) ;; *) fail "$what: no ready file after 30 s ('$cur')"; return 1 ;; esac
  READY_URL=$(printf '%s\n' "$cur" | head -1)
}

# stop_pid PID WHAT SECONDS: SIGTERM to PID (a child of this shell), then up
# to SECONDS for it to exit; sets STOP_RC to the status `wait` gives it. Fails
# (after a SIGKILL) when it still runs then.
stop_pid() {
  local pid=$1 what=$2 secs=$3 i
  STOP_RC=0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq $((secs * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "$what did not exit within $secs s of SIGTERM"; return 1
  fi
  wait "$pid" || STOP_RC=$?
}

# stop_server: SIGTERM, then wait up to 30 s for a clean exit (status 0).
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  local pid=$SERVER_PID
  SERVER_PID=
  stop_pid "$pid" server 30 || return 1
  [ "$STOP_RC" -eq 0 ] || { fail "server exited with status $STOP_RC: $(tail -5 "$TMP/server.log")"; return 1; }
}

on_exit() {
  local rc=$?
  [ -z "${LOAD_PID:-}" ] || touch "$TMP/stop"  # crash_puts.py load, if a failure left it running
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

# aws_at URL ARGS...: awscli as alice (A_KEY, A_SECRET) against the server
# at URL (any server of the store: no profile, path-style).
aws_at() {
  local url=$1
  shift
  [ -s "$TMP/at.aws.config" ] ||
    printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' >"$TMP/at.aws.config"
  AWS_ACCESS_KEY_ID=$A_KEY AWS_SECRET_ACCESS_KEY=$A_SECRET AWS_CONFIG_FILE=$TMP/at.aws.config \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true \
    env -u AWS_PROFILE "$AWS" --endpoint-url "$url" "$@"
}

# down_is_503_then_back BUCKET URL LOG [URL LOG...] -- SCRIPT STATE [SCRIPT STATE...]:
# servers the store relies on (tests/util/pg_server.sh or rgw_server.sh, with
# their state) go down, one after the other, under running artifact-store
# servers (URL, logging to LOG) while 16 threads PUT through them in all
# (crash_puts.py load). While one is down a PUT and a GET through each server
# fail with 503 ServiceUnavailable (which SDKs retry) and each server logs
# them; it stays down until a PUT of the load begun meanwhile has been
# refused through each; once it is up again PUTs succeed through every server
# without a restart. Then: the load saw no failure but 503s, and those only
# while a server was down (or within 5 s of its return), no request took 30
# s; every PUT it saw acknowledged reads back through the next server (URL
# list order); the PUTs refused while a server was down (the load's begun and
# answered within the outage, and the PUT b by hand) left no name, and the
# same requests succeed. The caller starts and stops the servers and verifies
# the store.
down_is_503_then_back() {
  local bucket=$1 urls=() logs=() n i
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do urls+=("$1"); logs+=("$2"); shift 2; done
  shift
  n=${#urls[@]}
  if [ "$n" -eq 0 ] || [ $# -eq 0 ]; then
    fail "usage: down_is_503_then_back BUCKET URL LOG... -- SCRIPT STATE..."; return 1
  fi
  rand_file "$TMP/outage.a" 300000 "$bucket-a"
  rand_file "$TMP/outage.b" 200000 "$bucket-b"
  aws_at "${urls[0]}" s3api create-bucket --bucket "$bucket" >/dev/null
  aws_at "${urls[0]}" s3api put-object --bucket "$bucket" --key a --body "$TMP/outage.a" >/dev/null
  rm -f "$TMP/stop"
  : >"$TMP/outages"
  "$PY" "$CLIENTS_DIR/crash_puts.py" load "$TMP/acked" "$bucket" "$TMP/stop" "${urls[@]}" \
    >"$TMP/load.out" 2>"$TMP/load.err" &
  LOAD_PID=$!
  sleep 1
  local script state t0 t1 t2 t3 sizes rc
  while [ $# -gt 0 ]; do
    script=$1 state=$2
    shift 2
    sizes=()
    for i in "${!logs[@]}"; do sizes+=("$(stat -c %s "${logs[$i]}")"); done
    t0=$(date +%s.%N)
    bash "$script" down "$state"
    t1=$(date +%s.%N)
    # In a subshell, so that the server comes back up whatever fails: the
    # suites after this one share it. (errexit does not hold there: each
    # check says so itself.)
    rc=0
    (
      for i in "${!urls[@]}"; do
        AWS_MAX_ATTEMPTS=1 expect_fail aws_at "${urls[$i]}" s3api put-object \
          --bucket "$bucket" --key b --body "$TMP/outage.b" || exit 1
        expect_in "$ERR" "ServiceUnavailable" || exit 1
        AWS_MAX_ATTEMPTS=1 expect_fail aws_at "${urls[$i]}" s3api get-object \
          --bucket "$bucket" --key a "$TMP/outage.a.down" || exit 1
        expect_in "$ERR" "ServiceUnavailable" || exit 1
        # Not "| grep -q": under pipefail, grep leaving at the first match
        # fails tail with SIGPIPE once the load has logged more than a pipe.
        grep -q "503 ServiceUnavailable" < <(tail -c +$((sizes[i] + 1)) "${logs[$i]}") ||
          { fail "${urls[$i]} did not log the 503s while ${script##*/} was down"; exit 1; }
      done
      # Down until the load has had a PUT begun now refused through each.
      "$PY" "$CLIENTS_DIR/crash_puts.py" seen "$TMP/acked.events" 503 "$t1" "$n" 60 || exit 1
    ) || rc=$?
    t2=$(date +%s.%N)
    bash "$script" up "$state"
    t3=$(date +%s.%N)
    echo "${script##*/} $t0 $t1 $t2 $t3" >>"$TMP/outages"
    [ $rc -eq 0 ] || { touch "$TMP/stop"; wait "$LOAD_PID" || true; LOAD_PID=; return 1; }
    # The load goes on against the servers that are back: a PUT through each
    # succeeds, then 2 s more.
    "$PY" "$CLIENTS_DIR/crash_puts.py" seen "$TMP/acked.events" 200 "$t3" "$n" 30
    sleep 2
  done
  touch "$TMP/stop"
  rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  [ $rc -eq 0 ] || fail "the load failed: $(tail -3 "$TMP/load.err")"
  echo "    load: $(cat "$TMP/load.out"), $(tail -1 "$TMP/load.err")"
  rc=0
  "$PY" "$CLIENTS_DIR/crash_puts.py" report "$TMP/acked.events" "$TMP/outages" 30 5 "$TMP/unacked" \
    >"$TMP/report.out" 2>&1 || rc=$?
  sed 's/^/    /' "$TMP/report.out"
  [ $rc -eq 0 ] || fail "the load through the outages (above)"
  for i in "${!urls[@]}"; do
    ENDPOINT=${urls[$(((i + 1) % n))]} "$PY" "$CLIENTS_DIR/crash_puts.py" check "$TMP/acked.$i" \
      2>"$TMP/check.err" || fail "PUTs acknowledged by ${urls[$i]} lost: $(tail -3 "$TMP/check.err")"
    echo "    through ${urls[$(((i + 1) % n))]}: $(tail -1 "$TMP/check.err")"
  done
  "$PY" "$CLIENTS_DIR/crash_puts.py" absent "$TMP/unacked" "${urls[@]}" 2>"$TMP/absent.err" ||
    fail "PUTs refused with 503 have names: $(tail -3 "$TMP/absent.err")"
  echo "    $(tail -1 "$TMP/absent.err")"
  for i in "${!urls[@]}"; do
    expect_fail aws_at "${urls[$i]}" s3api head-object --bucket "$bucket" --key b
    expect_in "$ERR" "Not Found"
  done
  aws_at "${urls[0]}" s3api put-object --bucket "$bucket" --key b --body "$TMP/outage.b" >/dev/null
  for i in "${!urls[@]}"; do
    aws_at "${urls[$i]}" s3api get-object --bucket "$bucket" --key a "$TMP/outage.a.got" >/dev/null
    aws_at "${urls[$i]}" s3api get-object --bucket "$bucket" --key b "$TMP/outage.b.got" >/dev/null
    cmp "$TMP/outage.a" "$TMP/outage.a.got"
    cmp "$TMP/outage.b" "$TMP/outage.b.got"
  done
}

# rgw_aws ARGS...: awscli against RGW itself ($AS_TEST_RGW_STATE), with
# RGW's own keys.
rgw_aws() {
  AWS_ACCESS_KEY_ID=$(cat "$AS_TEST_RGW_STATE/access_key") \
    AWS_SECRET_ACCESS_KEY=$(cat "$AS_TEST_RGW_STATE/secret_key") AWS_DEFAULT_REGION=us-east-1 \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    env -u AWS_PROFILE "$AWS" --endpoint-url "$(cat "$AS_TEST_RGW_STATE/endpoint")" "$@"
}

# rgw_uploads BUCKET PREFIX: the ids of RGW's multipart uploads under PREFIX,
# one a line.
rgw_uploads() {
  rgw_aws s3api list-multipart-uploads --bucket "$1" --prefix "$2" \
    --query 'Uploads[].UploadId' --output text | tr '\t' '\n' | grep -v '^None$' | grep . || true
}

# rgw_pack_keys BUCKET PREFIX: the keys of the pack objects under PREFIX, one
# a line.
rgw_pack_keys() {
  rgw_aws s3api list-objects-v2 --bucket "$1" --prefix "$2" \
    --query 'Contents[].Key' --output text | tr '\t' '\n' | grep '\.pack$' || true
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
