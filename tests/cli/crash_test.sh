# Crash safety: SIGKILL real `artifact-store put` processes at random moments.
# After each kill, `verify --full` must be clean and every artifact whose put
# was acknowledged (exit 0 with a digest) must read back byte for byte.

test_sigkill_during_put() {
  as init >/dev/null || return 1
  local seed=${AS_TEST_SEED:-$RANDOM}
  echo "crash test seed $seed"
  RANDOM=$seed
  declare -A acked
  for i in $(seq 1 12); do
    size=$(( (RANDOM % 40 + 1) * 1000000 ))
    rand_file "$TMP/in$i" $size $((seed + i))
    "$AS_BIN" -s "$TMP/store" put "$TMP/in$i" --name b/k$i --codec lz4 > "$TMP/d$i" 2>/dev/null &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    kill -9 $pid 2>/dev/null
    if wait $pid 2>/dev/null && [ -s "$TMP/d$i" ]; then acked[$i]=1; fi
    as verify --full > "$TMP/v" || { fail "round $i: verify after kill: $(cat "$TMP/v")"; return 1; }
    for j in "${!acked[@]}"; do
      as get b/k$j -o "$TMP/out" || { fail "round $i: acknowledged b/k$j unreadable"; return 1; }
      cmp -s "$TMP/out" "$TMP/in$j" || { fail "round $i: b/k$j differs"; return 1; }
    done
  done
  echo "acknowledged ${#acked[@]} of 12 puts"
  as gc --grace 0 >/dev/null || return 1
  left=$(find "$TMP/store/packs" -name '*.tmp' | wc -l)
  [ "$left" -eq 0 ] || { fail "$left .tmp files after gc"; return 1; }
  as verify --full >/dev/null || fail "verify after gc"
}
