# The OCI registry under /v2 on the S3 port (issue 23, first part): the
# version check and HTTP Basic authentication with a tenant's access key,
# as curl and `skopeo login` send them. Pull and push are not built yet:
# other /v2 endpoints answer 405 UNSUPPORTED. The store's back end does not
# matter here: run once, with the store on SQLite.

test_oci_version_check_and_basic_auth() {
  need_client curl
  [ -z "${AS_TEST_PG_URL:-}${AS_TEST_RGW_STATE:-}" ] ||
    skip "the OCI ping is tested once, with the store on SQLite"
  start_server
  local out
  # No credentials: 401, a Basic challenge, the spec's JSON error.
  out=$(curl -sS -D "$TMP/h" "$ENDPOINT/v2/" -w ' %{http_code}')
  expect_in "$out" '"code":"UNAUTHORIZED"'
  expect_in "$out" " 401"
  expect_in "$(cat "$TMP/h")" 'WWW-Authenticate: Basic realm="artifact-store"'
  expect_in "$(cat "$TMP/h")" "Docker-Distribution-API-Version: registry/2.0"
  # A tenant's access key id and secret.
  out=$(curl -sS -D "$TMP/h" -u "$A_KEY:$A_SECRET" "$ENDPOINT/v2/" -w ' %{http_code}')
  [ "$out" = "{} 200" ] || fail "GET /v2/ with credentials: $out"
  expect_in "$(cat "$TMP/h")" "Docker-Distribution-API-Version: registry/2.0"
  out=$(curl -sS -u "$A_KEY:wrong" "$ENDPOINT/v2/" -w ' %{http_code}')
  expect_in "$out" " 401"
  out=$(curl -sS -u "nosuchkey:$A_SECRET" "$ENDPOINT/v2/" -w ' %{http_code}')
  expect_in "$out" " 401"
  out=$(curl -sS -u "$A_KEY:$A_SECRET" "$ENDPOINT/v2/_catalog" -w ' %{http_code}')
  expect_in "$out" '"code":"UNSUPPORTED"'
  expect_in "$out" " 405"
  # S3, /healthz and /metrics on the same port, as before.
  awsa s3 mb s3://oci-side >/dev/null
  expect_in "$(awsa s3 ls)" oci-side
  [ "$(curl -sS "$ENDPOINT/healthz")" = ok ] || fail "healthz"
  expect_in "$(curl -sS "$ENDPOINT/metrics")" 'op="OciPing"'
  if command -v skopeo >/dev/null; then
    REGISTRY_AUTH_FILE=$TMP/auth.json skopeo login --tls-verify=false -u "$A_KEY" -p "$A_SECRET" \
      "$HOSTPORT" >"$TMP/login.out" 2>&1 || fail "skopeo login: $(cat "$TMP/login.out")"
    expect_in "$(cat "$TMP/login.out")" "Login Succeeded"
    expect_fail env REGISTRY_AUTH_FILE=$TMP/auth2.json skopeo login --tls-verify=false -u "$A_KEY" \
      -p wrong "$HOSTPORT"
    echo "    skopeo login: $(cat "$TMP/login.out"); with a wrong secret: $(echo "$ERR" | tail -1)"
  else
    echo "    skopeo not installed: its login skipped"
  fi
}
