# Durability under load: 16 clients PUT small objects (group-committed) while
# the server is killed with SIGKILL at a random moment; after a restart every
# PUT that was acknowledged reads back intact and `verify --full` is clean.

test_sigkill_during_concurrent_puts_loses_nothing_acknowledged() {
  need_client boto3
  start_server
  local round
  for round in 1 2 3; do
    "$PY" "$CLIENTS_DIR/crash_puts.py" put "$TMP/acked.$round" "r$round" 2>"$TMP/put.$round.log" &
    local client=$! i
    # Once PUTs are flowing (the client takes a while to start), a random
    # moment within the next 1.5 s.
    for i in $(seq 600); do
      [ "$(wc -l < "$TMP/acked.$round" 2>/dev/null || echo 0)" -ge 20 ] && break
      kill -0 "$client" 2>/dev/null || break
      sleep 0.1
    done
    sleep "$(( RANDOM % 2 )).$(( RANDOM % 10 ))"
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    wait "$client" || fail "round $round: the client failed: $(tail -3 "$TMP/put.$round.log")"
    [ -s "$TMP/acked.$round" ] || fail "round $round: no PUT was acknowledged before the kill"
    "$AS_BIN" -s "$TMP/store" verify --full >"$TMP/verify.$round" 2>&1 ||
      fail "round $round: verify --full after SIGKILL: $(tail -5 "$TMP/verify.$round")"
    serve_store
    # This round's, and the earlier rounds' again.
    "$PY" "$CLIENTS_DIR/crash_puts.py" check "$TMP"/acked.* ||
      fail "round $round: acknowledged PUTs lost"
  done
  stop_server
}
