# TLS (serve --listen https://HOST:PORT --tls-cert --tls-key): awscli,
# rclone, boto3, curl and openssl s_client against a certificate made here by
# `openssl req`, as the README shows, beside a plain listener on the same
# server. TLS belongs to the transport, whatever holds the store: these run
# once, with the store on SQLite, and skip (saying so) in the PostgreSQL and
# RGW passes.

tls_once() {
  [ -z "${AS_TEST_PG_URL:-}${AS_TEST_RGW_STATE:-}" ] ||
    skip "TLS is tested once, with the store on SQLite (the transport is the same on every back end)"
}

# tls_cert CN: a self-signed certificate for CN (SAN localhost, s3.test and
# its subdomains for virtual-hosted-style buckets, and 127.0.0.1)
# in $TMP/tls/cert.pem and key.pem, each renamed into place.
tls_cert() {
  mkdir -p "$TMP/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$1" \
    -addext "subjectAltName=DNS:localhost,DNS:s3.test,DNS:*.s3.test,IP:127.0.0.1" \
    -keyout "$TMP/tls/key.tmp" -out "$TMP/tls/cert.tmp" 2>"$TMP/tls/openssl.err" ||
    { fail "openssl req: $(cat "$TMP/tls/openssl.err")"; return 1; }
  mv "$TMP/tls/key.tmp" "$TMP/tls/key.pem"
  mv "$TMP/tls/cert.tmp" "$TMP/tls/cert.pem"
}

# tls_serve: the test server with a plain listener ($ENDPOINT) and a TLS one
# ($TLS_ENDPOINT, certificate CN=one), virtual-hosted-style buckets under
# s3.test, and a bucket "tls" made over TLS.
tls_serve() {
  need_client aws
  tls_once
  tls_cert one
  SERVE_ARGS="--listen https://127.0.0.1:0 --tls-cert $TMP/tls/cert.pem --tls-key $TMP/tls/key.pem --domain s3.test" \
    start_server
  TLS_ENDPOINT=$(sed -n 2p "$TMP/ready")
  case $TLS_ENDPOINT in
    https://127.0.0.1:[0-9]*) ;;
    *) fail "no https:// URL on the ready file's second line: $(cat "$TMP/ready")"; return 1 ;;
  esac
  CA=$TMP/tls/cert.pem
  tls_aws s3 mb s3://tls >/dev/null
}

tls_aws() { "$AWS" --endpoint-url "$TLS_ENDPOINT" --ca-bundle "$CA" "$@"; }

# The subject of the certificate a new TLS connection gets.
tls_subject() {
  openssl s_client -connect "${TLS_ENDPOINT#https://}" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -subject
}

tls_metric() {
  curl -sS "$ENDPOINT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

test_tls_awscli_rclone_boto3_curl_and_refusals() {
  tls_serve
  # Multipart both ways (awscli: 8 MiB parts), a range, a presigned URL.
  rand_file "$TMP/big" $((20 << 20)) tls-big
  tls_aws s3 cp --only-show-errors "$TMP/big" s3://tls/big
  tls_aws s3 cp --only-show-errors s3://tls/big "$TMP/big.got"
  cmp "$TMP/big" "$TMP/big.got"
  tls_aws s3api get-object --bucket tls --key big --range bytes=1000000-1999999 "$TMP/range" >/dev/null
  dd if="$TMP/big" of="$TMP/range.want" bs=1000000 skip=1 count=1 status=none
  cmp "$TMP/range" "$TMP/range.want"
  local url
  url=$(tls_aws s3 presign s3://tls/big --expires-in 300)
  case $url in https://127.0.0.1:*) ;; *) fail "presigned URL is not https: $url" ;; esac
  curl -sSf --cacert "$CA" -o "$TMP/presigned" "$url"
  cmp "$TMP/big" "$TMP/presigned"
  # A client that does not trust the certificate stops at the handshake.
  expect_fail "$AWS" --endpoint-url "$TLS_ENDPOINT" s3 ls s3://tls
  expect_in "$ERR" "CERTIFICATE_VERIFY_FAILED"
  # rclone, told of the certificate.
  if command -v rclone >/dev/null; then
    printf '[tls]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = us-east-1\nforce_path_style = true\n' \
      "$A_KEY" "$A_SECRET" "$TLS_ENDPOINT" >>"$TMP/rclone.conf"
    make_tree "$TMP/tree"
    rcl --ca-cert "$CA" copy "$TMP/tree" tls:tls/tree
    rcl --ca-cert "$CA" check "$TMP/tree" tls:tls/tree
    echo "    rclone copy and check over TLS: ok"
  else
    echo "    rclone not installed: its part skipped"
  fi
  # boto3, verify= the certificate: put, get, a multipart upload.
  TLS_ENDPOINT=$TLS_ENDPOINT CA=$CA BIG=$TMP/big "$PY" - <<'EOF'
import os, boto3, botocore.config
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=os.environ["TLS_ENDPOINT"], verify=os.environ["CA"],
                  config=botocore.config.Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="tls", Key="small", Body=b"over tls")
assert s3.get_object(Bucket="tls", Key="small")["Body"].read() == b"over tls"
s3.upload_file(os.environ["BIG"], "tls", "boto3-big",
               Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
got = s3.get_object(Bucket="tls", Key="boto3-big")["Body"].read()
assert got == open(os.environ["BIG"], "rb").read(), "boto3 multipart round trip differs"
print("    boto3 put, get and multipart over TLS: ok")
# Virtual-hosted-style (BUCKET.s3.test, what the Go, Java and JavaScript SDKs
# send for a DNS endpoint), presigned too: only the name lookup is ours.
import socket, ssl, urllib.error, urllib.request
real_getaddrinfo = socket.getaddrinfo
def resolve(host, *args, **kwargs):
    if host == "s3.test" or host.endswith(".s3.test"):
        host = "127.0.0.1"
    return real_getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = resolve
port = os.environ["TLS_ENDPOINT"].rsplit(":", 1)[1]
vh = boto3.client("s3", endpoint_url="https://s3.test:" + port, verify=os.environ["CA"],
                  config=botocore.config.Config(s3={"addressing_style": "virtual"},
                                                signature_version="s3v4"))
vh.put_object(Bucket="tls", Key="vhost key", Body=b"virtual over tls")
assert vh.get_object(Bucket="tls", Key="vhost key")["Body"].read() == b"virtual over tls"
url = vh.generate_presigned_url("get_object", Params={"Bucket": "tls", "Key": "vhost key"}, ExpiresIn=60)
assert url.startswith("https://tls.s3.test:"), url
ctx = ssl.create_default_context(cafile=os.environ["CA"])
try:
    got = urllib.request.urlopen(url, context=ctx).read()
except urllib.error.HTTPError as e:
    raise SystemExit(f"presigned virtual-hosted GET over TLS: {e.code}: {e.read()[:300]!r}")
assert got == b"virtual over tls", got
print("    virtual-hosted-style and its presigned URL over TLS: ok")
EOF
  # curl: the TLS port and the plain one serve the same store.
  [ "$(curl -sS --cacert "$CA" "$TLS_ENDPOINT/healthz")" = ok ] || fail "healthz over TLS"
  [ "$(curl -sS "$ENDPOINT/healthz")" = ok ] || fail "healthz on the plain port"
  # Bad input: plain HTTP to the TLS port is told so; TLS 1.1 and a
  # handshake of garbage are refused; the server goes on serving.
  local body
  body=$(curl -sS -w ' %{http_code}' "http://${TLS_ENDPOINT#https://}/healthz")
  expect_in "$body" "speaks HTTPS"
  expect_in "$body" " 400"
  expect_fail openssl s_client -connect "${TLS_ENDPOINT#https://}" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
  expect_in "$ERR" "alert"
  head -c 5000 /dev/urandom | timeout 10 curl -sS --max-time 5 -o /dev/null \
    --data-binary @- "http://${TLS_ENDPOINT#https://}/" >/dev/null 2>&1 || true
  expect_in "$(tls_aws s3 ls s3://tls/)" big
  local conns failures
  conns=$(( $(tls_metric as_tls_connections_userspace_total) + $(tls_metric as_tls_connections_kernel_total) ))
  failures=$(tls_metric as_tls_handshake_failures_total)
  [ "$conns" -ge 5 ] || fail "as_tls_connections_*_total: $conns"
  [ "$failures" -ge 2 ] || fail "as_tls_handshake_failures_total: $failures (want the TLS 1.1 and plain HTTP ones)"
  echo "    TLS connections: $conns ($(tls_metric as_tls_connections_kernel_total) with kernel TLS), failed handshakes: $failures"
}

# SIGHUP while a download over TLS runs: the download completes on its
# session; new connections get the new certificate. A broken pair on SIGHUP
# is refused, logged, and the one in use stays.
test_tls_sighup_reloads_the_certificate_while_a_download_runs() {
  tls_serve
  rand_file "$TMP/big" $((200 << 20)) tls-reload
  aws_at "$ENDPOINT" s3 cp --only-show-errors "$TMP/big" s3://tls/big
  expect_in "$(tls_subject)" "CN = one"
  local url pid
  url=$(tls_aws s3 presign s3://tls/big --expires-in 300)
  # About 4 s at this rate: the certificate changes under it.
  curl -sSf --cacert "$CA" --limit-rate 50M -o "$TMP/big.got" "$url" &
  pid=$!
  sleep 1
  kill -0 "$pid" 2>/dev/null || fail "the download ended before the reload; nothing was tested"
  tls_cert two
  kill -HUP "$SERVER_PID"
  local i
  for i in $(seq 50); do grep -q "SIGHUP: reloaded" "$TMP/server.log" && break; sleep 0.1; done
  grep -q "SIGHUP: reloaded the TLS certificate: subject /CN=two" "$TMP/server.log" ||
    fail "no reload logged: $(tail -3 "$TMP/server.log")"
  expect_in "$(tls_subject)" "CN = two"
  kill -0 "$pid" 2>/dev/null || fail "the download ended before the new certificate was checked"
  wait "$pid" || fail "the download over TLS failed across the reload"
  cmp "$TMP/big" "$TMP/big.got"
  echo "    a 200 MiB download completed across the reload; new connections get CN=two"
  # A key that does not match: refused, said, the pair in use stays.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$TMP/tls/key.pem" -out /dev/null 2>/dev/null
  kill -HUP "$SERVER_PID"
  for i in $(seq 50); do grep -q "SIGHUP: kept" "$TMP/server.log" && break; sleep 0.1; done
  grep "SIGHUP: kept the certificate in use" "$TMP/server.log" | grep "does not match" >/dev/null ||
    fail "a mismatched key on SIGHUP was not refused: $(tail -3 "$TMP/server.log")"
  expect_in "$(tls_subject)" "CN = two"
  expect_in "$(tls_aws s3 ls s3://tls/)" big
}

# A 2 GiB object up and down over TLS (awscli multipart, 10 parts at once):
# the same bytes back, and the server's peak RSS stays bounded (not the
# object's size).
test_tls_2gib_object_round_trip_in_bounded_memory() {
  need_client aws
  tls_once
  local free
  free=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
  [ "$free" -gt $((7 << 20)) ] || skip "needs 7 GiB free in $TMP for a 2 GiB round trip (has $((free >> 20)) GiB)"
  tls_serve
  rand_file "$TMP/huge" $((2 << 30)) tls-huge
  tls_aws s3 cp --only-show-errors "$TMP/huge" s3://tls/huge
  tls_aws s3 cp --only-show-errors s3://tls/huge "$TMP/huge.got"
  cmp "$TMP/huge" "$TMP/huge.got"
  local hwm
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")
  echo "    2 GiB up and down over TLS; server peak RSS $((hwm >> 10)) MiB"
  [ "$hwm" -lt $((256 << 10)) ] || fail "server peak RSS $((hwm >> 10)) MiB over a 2 GiB TLS round trip (bound 256 MiB)"
}

# Kernel TLS where this kernel has it (the tls module: /proc/net/tls_stat):
# a large GET's bytes go through it (sendfile), counted by the kernel and in
# /metrics. Elsewhere skipped, saying so: the userspace path then served
# every test above.
test_tls_kernel_tls_sends_large_gets_when_the_kernel_has_it() {
  need_client aws
  tls_once
  [ -r /proc/net/tls_stat ] ||
    skip "kernel TLS: this kernel has no tls module loaded (/proc/net/tls_stat absent; \`modprobe tls\` as root loads it): the userspace path served the other TLS tests"
  tls_serve
  rand_file "$TMP/big" $((64 << 20)) tls-ktls
  aws_at "$ENDPOINT" s3 cp --only-show-errors "$TMP/big" s3://tls/big
  local before after
  before=$(awk '$1 == "TlsTxSw" || $1 == "TlsTxDevice" { n += $2 } END { print n + 0 }' /proc/net/tls_stat)
  tls_aws s3 cp --only-show-errors s3://tls/big "$TMP/big.got"
  cmp "$TMP/big" "$TMP/big.got"
  after=$(awk '$1 == "TlsTxSw" || $1 == "TlsTxDevice" { n += $2 } END { print n + 0 }' /proc/net/tls_stat)
  [ "$(tls_metric as_tls_connections_kernel_total)" -ge 1 ] ||
    fail "the kernel has TLS but no connection used it (OpenSSL built without kTLS, or the cipher not offloaded): $(grep as_tls "$TMP/metrics" 2>/dev/null)"
  [ "$after" -gt "$before" ] || fail "/proc/net/tls_stat counted no kernel TLS sessions"
  echo "    kernel TLS sessions: $before -> $after"
}

# What an operator gets wrong is an error at start that names the file (or
# the option), before the store is opened: exit status 1, nothing served,
# no store created.
test_tls_mistakes_are_errors_at_start_naming_the_file() {
  tls_once
  tls_cert one
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$TMP/tls/other.key" -out "$TMP/tls/other.pem" 2>/dev/null
  echo "not a certificate" >"$TMP/tls/junk.pem"
  local -a cases=(
    "--listen https://127.0.0.1:0 --tls-cert $TMP/tls/missing.pem --tls-key $TMP/tls/key.pem|missing.pem: No such file"
    "--listen https://127.0.0.1:0 --tls-cert $TMP/tls/cert.pem --tls-key $TMP/tls/other.key|other.key does not match the certificate in $TMP/tls/cert.pem"
    "--listen https://127.0.0.1:0 --tls-cert $TMP/tls/junk.pem --tls-key $TMP/tls/key.pem|junk.pem: no PEM certificate"
    "--listen https://127.0.0.1:0|needs --tls-cert FILE and --tls-key FILE"
    "--listen 127.0.0.1:0 --tls-cert $TMP/tls/cert.pem --tls-key $TMP/tls/key.pem|no https:// listener"
    "--listen ftp://127.0.0.1:0|must be http:// or https://"
  )
  local c args want rc
  for c in "${cases[@]}"; do
    args=${c%%|*} want=${c#*|}
    rc=0
    # shellcheck disable=SC2086  # args: options, word-split
    timeout 20 "$AS_BIN" -s "$TMP/never" serve $args >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = 1 ] || fail "serve $args: exit status $rc (want 1): $(cat "$TMP/err")"
    expect_in "$(cat "$TMP/err")" "$want"
    [ ! -e "$TMP/never" ] || fail "serve $args created the store before refusing"
    echo "    serve $args: $(head -1 "$TMP/err")"
  done
}
