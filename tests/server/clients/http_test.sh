# Plain HTTP endpoints next to the S3 API: health and Prometheus metrics.

test_healthz_needs_no_auth() {
  need_client curl
  start_server
  local code
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$ENDPOINT/healthz")
  [ "$code" = 200 ] || fail "GET /healthz: $code $(cat "$TMP/body")"
}

test_metrics_prometheus_text() {
  need_client curl
  start_server
  # Some traffic first, so the request counters have samples.
  curl -s -o /dev/null "$ENDPOINT/healthz"
  curl -s -o /dev/null "$ENDPOINT/some-bucket/some-key"
  local code
  code=$(curl -s -o "$TMP/metrics" -D "$TMP/headers" -w '%{http_code}' "$ENDPOINT/metrics")
  [ "$code" = 200 ] || fail "GET /metrics: $code"
  grep -qi '^content-type: text/plain' "$TMP/headers" || fail "content type: $(cat "$TMP/headers")"
  grep -q '^as_http_requests_total' "$TMP/metrics" || fail "no as_http_requests_total: $(head -40 "$TMP/metrics")"
  # Every sample line is "name{labels} value" or "name value".
  "$PY" - "$TMP/metrics" <<'PY'
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$')
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = sample.match(line)
    assert m, "line %d: %r" % (n, line)
    float(m.group(3))  # a number, +Inf, -Inf or NaN
PY
}
