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
  # Room on the disk, for alerts before it fills; serve keeps a 16 MiB reserve.
  awk '$1 == "as_store_fs_free_bytes" && $2 > 0 {ok = 1} END {exit !ok}' "$TMP/metrics" ||
    fail "no as_store_fs_free_bytes above 0"
  awk '$1 == "as_store_reserve_bytes" && $2 == 16777216 {ok = 1} END {exit !ok}' "$TMP/metrics" ||
    fail "no as_store_reserve_bytes of 16 MiB: $(grep reserve "$TMP/metrics")"
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

# A new version of an object, uploaded over S3, is stored as deltas against
# the old one: the store's counter says so, and the object reads back whole.
test_metrics_count_delta_chunks_of_an_edited_upload() {
  need_client curl
  need_client aws
  start_server
  rand_file "$TMP/v1" 3000000 71
  cp "$TMP/v1" "$TMP/v2"
  printf 'an edit' | dd of="$TMP/v2" bs=1 seek=1500000 conv=notrunc status=none
  awsa s3 mb s3://deltas >/dev/null || return 1
  awsa s3 cp "$TMP/v1" s3://deltas/app.bin >/dev/null || return 1
  awsa s3 cp "$TMP/v2" s3://deltas/app.bin >/dev/null || return 1
  awsa s3 cp s3://deltas/app.bin "$TMP/back" >/dev/null || return 1
  cmp "$TMP/v2" "$TMP/back" || { fail "v2 read back differs"; return 1; }
  curl -s -o "$TMP/metrics" "$ENDPOINT/metrics" || return 1
  n=$(awk '$1 == "as_store_delta_chunks_total" {print $2}' "$TMP/metrics")
  [ -n "$n" ] && [ "${n%.*}" -ge 1 ] || fail "as_store_delta_chunks_total: '$n'"
}
