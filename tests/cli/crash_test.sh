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

# gc dooms and sweeps its rows a batch at a time (AS_TEST_GC_BATCH=5 here),
# committing each: runs killed after a doom batch (each run gets one batch
# further: through the manifests' dooms into the chunks'), then runs killed
# after a sweep batch, lose nothing live, and the next run collects every row
# they left doomed or live (none is left waiting: the epochs they were doomed
# at belonged to processes that are gone).
test_sigkill_gc_between_batches() {
  init_store || return 1
  local i live_chunks
  for i in $(seq 1 12); do
    rand_file "$TMP/in$i" 300000 $((900 + i))
    as put "$TMP/in$i" --name b/live$i >/dev/null 2>&1 || return 1
  done
  live_chunks=$(as stats --json | grep -o '"chunks":[0-9]*' | cut -d: -f2)
  for i in $(seq 13 30); do
    rand_file "$TMP/dead$i" 300000 $((900 + i))
    as put "$TMP/dead$i" --name b/dead$i >/dev/null 2>&1 || return 1
    as rm b/dead$i || return 1
  done
  local point pause pid
  for point in gc-after-doom-batch gc-after-doom-batch gc-after-doom-batch \
               gc-after-doom-batch gc-after-doom-batch gc-after-doom-batch \
               gc-after-sweep-batch gc-after-sweep-batch; do
    pause=$TMP/pause-$point
    mkdir -p "$pause" && touch "$pause/$point" && rm -f "$pause/$point.reached"
    AS_TEST_GC_BATCH=5 AS_TEST_PAUSE_DIR=$pause "$AS_BIN" -s "$TMP/store" gc --grace 0       --threshold 1.01 --json >"$TMP/gc.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 1000); do [ -s "$pause/$point.reached" ] && break; sleep 0.02; done
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    [ -s "$pause/$point.reached" ] || { fail "gc never reached $point: $(cat "$TMP/gc.out")"; return 1; }
    check_after_kill "$point" b/live $(seq 1 12) || return 1
  done
  AS_TEST_GC_BATCH=5 as gc --grace 0 --threshold 1.01 --json >"$TMP/gc.out" || return 1
  grep -q '"doomed_waiting":0' "$TMP/gc.out" || { fail "rows left waiting: $(cat "$TMP/gc.out")"; return 1; }
  as gc --grace 0 --json >"$TMP/gc.out" || return 1
  grep -q '"dead_chunks":0' "$TMP/gc.out" || { fail "a further gc found garbage: $(cat "$TMP/gc.out")"; return 1; }
  [ "$(as stats --json | grep -o '"chunks":[0-9]*' | cut -d: -f2)" = "$live_chunks" ] ||
    { fail "chunks left: $(as stats --json), want $live_chunks"; return 1; }
  check_after_kill final b/live $(seq 1 12)
}

# The dedup filter's files (docs/index-at-scale.md): a process killed while
# it writes one (held at the filter-write pause point, then SIGKILLed) leaves
# a temporary file and files that no longer reach the index's generation.
# Nothing is lost, the next process rebuilds the filter, and dedup is exact:
# the same bytes again store nothing new.
test_sigkill_during_filter_write() {
  [ -z "${ARTIFACT_STORE_METADATA:-}" ] || { echo "metadata on a server: no dedup filter"; exit 77; }
  init_store || return 1
  rand_file "$TMP/in1" 3000000 11
  rand_file "$TMP/in2" 3000000 12
  as put "$TMP/in1" --name b/one >/dev/null || return 1
  [ -f "$TMP/store/filter/base" ] || { fail "no filter base after a put"; return 1; }
  local pause=$TMP/pause
  mkdir -p "$pause" && touch "$pause/filter-write"
  AS_TEST_PAUSE_DIR=$pause "$AS_BIN" -s "$TMP/store" put "$TMP/in2" --name b/two --json \
    > "$TMP/d2" 2>/dev/null &
  local pid=$!
  for _ in $(seq 1 500); do [ -s "$pause/filter-write.reached" ] && break; sleep 0.02; done
  [ -s "$pause/filter-write.reached" ] || { kill -9 $pid; fail "the put never wrote its filter log"; return 1; }
  grep -q '"new_chunks"' "$TMP/d2" || { kill -9 $pid; fail "put not acknowledged before its filter write"; return 1; }
  kill -9 $pid
  wait $pid 2>/dev/null
  ls "$TMP/store/filter/"*.tmp >/dev/null 2>&1 || { fail "no temporary filter file left by the kill"; return 1; }
  check_after_kill 1 b/ || return 1
  as get b/two -o "$TMP/out" && cmp -s "$TMP/out" "$TMP/in2" || { fail "b/two after the kill"; return 1; }
  # The files miss b/two's keys: this put rebuilds the filter, and finds
  # every chunk stored.
  as put "$TMP/in2" --name b/two-again --json > "$TMP/d3" || return 1
  grep -q '"new_bytes":0,' "$TMP/d3" || { fail "dedup lost after the kill: $(cat "$TMP/d3")"; return 1; }
  as put "$TMP/in1" --name b/one-again --json > "$TMP/d4" || return 1
  grep -q '"new_bytes":0,' "$TMP/d4" || { fail "dedup lost after the kill: $(cat "$TMP/d4")"; return 1; }
  ls "$TMP/store/filter/"*.tmp >/dev/null 2>&1 && { fail "the rebuilt filter left its temporary file"; return 1; }
  as verify --full >/dev/null || fail "verify after the filter rebuild"
}
