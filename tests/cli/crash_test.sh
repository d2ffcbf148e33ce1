# Crash safety: SIGKILL real `artifact-store put` processes at random moments.
# After each kill, `verify --full` must be clean and every artifact whose put
# was acknowledged (exit 0 with a digest) must read back byte for byte.

# After round $1's kill: verify --full is clean, and for each further
# argument j, the acknowledged put of $TMP/in<j> as <$2><j> reads back.
check_after_kill() {
  local round=$1 prefix=$2
  shift 2
  as verify --full > "$TMP/v" || { fail "round $round: verify after kill: $(cat "$TMP/v")"; return 1; }
  for j in "$@"; do
    as get "$prefix$j" -o "$TMP/out" || { fail "round $round: acknowledged $prefix$j unreadable"; return 1; }
    cmp -s "$TMP/out" "$TMP/in$j" || { fail "round $round: $prefix$j differs"; return 1; }
  done
}

# init_store [encrypted]: a store, with every tenant encrypted when asked
# (its master key in $TMP/master.key, for every command after).
init_store() {
  if [ "${1:-}" = encrypted ]; then
    export ARTIFACT_STORE_MASTER_KEY_FILE=$TMP/master.key
    as init --encrypt >/dev/null 2>&1 || return 1
  else
    as init >/dev/null || return 1
  fi
}

test_sigkill_during_put() {
  sigkill_puts plain 12
}

# Encrypted tenants keep every promise above: sealed frames of an
# interrupted put never read as data, acknowledged ones read back.
test_sigkill_during_encrypted_put() {
  sigkill_puts encrypted 6
}

# sigkill_puts plain|encrypted ROUNDS
sigkill_puts() {
  init_store "$1" || return 1
  local rounds=$2
  local seed=${AS_TEST_SEED:-$RANDOM}
  echo "crash test seed $seed"
  RANDOM=$seed
  declare -A acked=()
  for i in $(seq 1 "$rounds"); do
    size=$(( (RANDOM % 40 + 1) * 1000000 ))
    rand_file "$TMP/in$i" $size $((seed + i))
    "$AS_BIN" -s "$TMP/store" put "$TMP/in$i" --name b/k$i --codec lz4 > "$TMP/d$i" 2>/dev/null &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    kill -9 $pid 2>/dev/null
    if wait $pid 2>/dev/null && [ -s "$TMP/d$i" ]; then acked[$i]=1; fi
    check_after_kill "$i" b/k "${!acked[@]}" || return 1
  done
  echo "acknowledged ${#acked[@]} of $rounds puts"
  as gc --grace 0 >/dev/null || return 1
  left=$(find "$TMP/store/packs" -name '*.tmp' | wc -l)
  [ "$left" -eq 0 ] || { fail "$left .tmp files after gc"; return 1; }
  as verify --full >/dev/null || fail "verify after gc"
}

# The same with delta chunks: edited versions of one file, each put killed at
# a random moment; halfway, the original is removed and collected, so later
# versions build on bases that only earlier versions' delta chunks keep.
test_sigkill_during_delta_puts() {
  sigkill_delta_puts plain
}

test_sigkill_during_encrypted_delta_puts() {
  sigkill_delta_puts encrypted
}

sigkill_delta_puts() {
  init_store "$1" || return 1
  local seed=${AS_TEST_SEED:-$RANDOM}
  echo "crash test seed $seed"
  RANDOM=$seed
  rand_file "$TMP/base" 20000000 $seed
  as put "$TMP/base" --name b/base >/dev/null 2>&1 || return 1
  declare -A acked=()
  for i in $(seq 1 8); do
    cp "$TMP/base" "$TMP/in$i"
    for e in 1 2 3 4 5 6; do
      printf 'edit %d of version %d' $e $i |
        dd of="$TMP/in$i" bs=1 seek=$(( (RANDOM * 32768 + RANDOM) % 19000000 )) conv=notrunc status=none
    done
    "$AS_BIN" -s "$TMP/store" put "$TMP/in$i" --name b/v$i --json > "$TMP/d$i" 2>/dev/null &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    kill -9 $pid 2>/dev/null
    if wait $pid 2>/dev/null && [ -s "$TMP/d$i" ]; then acked[$i]=1; fi
    if [ $i -eq 4 ]; then
      as rm b/base && as gc --threshold 1.01 --grace 0 >/dev/null || { fail "gc after rm of base"; return 1; }
    fi
    check_after_kill "$i" b/v "${!acked[@]}" || return 1
  done
  deltas=$(cat "$TMP"/d* | grep -o '"delta_chunks":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s + 0}')
  echo "acknowledged ${#acked[@]} of 8 puts, ${deltas:-0} delta chunks"
  as gc --grace 0 >/dev/null || return 1
  as verify --full >/dev/null || fail "verify after gc"
}
