# Several `artifact-store serve` processes on one store (scale-out part 2):
# the metadata on PostgreSQL, the packs on Ceph RGW, each server in a
# directory of its own holding a copy of the store's STORE and CONFIG (same
# database, bucket prefix and store uuid). The CLI (gc, verify, stats) runs on
# further copies while the servers serve: "gc on another server". Runs only
# with both parts on servers (`make rgw-test`: AS_TEST_PG_URL and
# AS_TEST_RGW_STATE, which parts_test_env.sh turns into ARTIFACT_STORE_METADATA
# and ARTIFACT_STORE_PACKS). Races are forced with the binary's test-only pause
# points: with AS_TEST_PAUSE_DIR=DIR, a process reaching point P while DIR/P
# exists appends its pid to DIR/P.reached and waits until DIR/P is removed.

so_needed() {
  need_client boto3
  if [ -z "${ARTIFACT_STORE_METADATA:-}" ] || [ -z "${ARTIFACT_STORE_PACKS:-}" ] ||
     [ -z "${AS_TEST_RGW_STATE:-}" ]; then
    skip "needs the metadata on PostgreSQL and the packs on RGW (make rgw-test: AS_TEST_PG_URL and AS_TEST_RGW_STATE)"
  fi
  case "$ARTIFACT_STORE_METADATA" in postgres://* | postgresql://*) ;;
    *) skip "needs the metadata on PostgreSQL (ARTIFACT_STORE_METADATA is $ARTIFACT_STORE_METADATA)" ;;
  esac
  case "$ARTIFACT_STORE_PACKS" in s3://*) ;;
    *) skip "needs the packs on RGW (ARTIFACT_STORE_PACKS is $ARTIFACT_STORE_PACKS)" ;;
  esac
  SO_BUCKET=${ARTIFACT_STORE_PACKS#s3://}
  SO_PREFIX=${SO_BUCKET#*/}
  SO_BUCKET=${SO_BUCKET%%/*}
  SO_LOAD=$CLIENTS_DIR/scaleout_load.py
  # Sessions as the scale-out tests want them (SCALEOUT.md 4): a killed
  # server's session is expelled seconds after its last heartbeat, not 30 s.
  export AS_TEST_HEARTBEAT_MS=${AS_TEST_HEARTBEAT_MS:-250} AS_TEST_SESSION_TTL_MS=${AS_TEST_SESSION_TTL_MS:-5000}
  PAUSE=$TMP/pause
  mkdir -p "$PAUSE"
}

# ---- servers and copies ----------------------------------------------------

declare -gA SO_PID=() SO_EP=()
SO_BG=()

# so_store COPY...: a store in $TMP/a (its parts where parts_test_env.sh put
# them) with tenant alice (A_KEY, A_SECRET), and copies $TMP/COPY of its
# directory: each names the same database, bucket and store uuid.
so_store() {
  "$AS_BIN" -s "$TMP/a" init >/dev/null
  local json d
  json=$("$AS_BIN" -s "$TMP/a" tenant add alice --json)
  A_KEY=$(json_field "$json" access_key_id); A_SECRET=$(json_field "$json" secret_access_key)
  export A_KEY A_SECRET
  for d in "$@"; do
    mkdir -p "$TMP/$d"
    cp "$TMP/a/STORE" "$TMP/a/CONFIG" "$TMP/$d/"
  done
  trap so_on_exit EXIT
}

# so_serve NAME [VAR=VALUE...]: serves $TMP/NAME on a free port, with the
# environment variables given; sets SO_PID[NAME] and SO_EP[NAME].
so_serve() {
  local name=$1 ready=$TMP/$1.ready
  shift
  rm -f "$ready"
  env "$@" "$AS_BIN" -s "$TMP/$name" serve --listen 127.0.0.1:0 --ready-file "$ready" \
    --gc-interval 0 >>"$TMP/$name.log" 2>&1 &
  SO_PID[$name]=$!
  if wait_ready "${SO_PID[$name]}" "$ready" "server $name" "$TMP/$name.log"; then
    SO_EP[$name]=$READY_URL
    return 0
  fi
  # One that exited is no longer for the EXIT trap to stop.
  kill -0 "${SO_PID[$name]}" 2>/dev/null || { wait "${SO_PID[$name]}" || true; unset "SO_PID[$name]"; }
  return 1
}

# so_stop NAME: SIGTERM, a clean exit (status 0) within 30 s.
so_stop() {
  local name=$1 pid=${SO_PID[$1]:-}
  [ -n "$pid" ] || return 0
  unset "SO_PID[$name]"
  stop_pid "$pid" "server $name" 30 || return 1
  [ "$STOP_RC" -eq 0 ] || { fail "server $name exited with status $STOP_RC: $(tail -5 "$TMP/$name.log")"; return 1; }
}

# so_kill NAME: SIGKILL, no questions.
so_kill() {
  local pid=${SO_PID[$1]:-}
  [ -n "$pid" ] || return 0
  unset "SO_PID[$1]"
  kill -KILL "$pid" 2>/dev/null || fail "server $1 had already exited: $(tail -5 "$TMP/$1.log")"
  wait "$pid" 2>/dev/null || true
}

# so_bg PID: a background helper the EXIT trap kills if it still runs.
so_bg() { SO_BG+=("$1"); }

# so_ours PID: PID runs (not a zombie) and is a child of this shell, not a
# pid given to another process since.
so_ours() {
  local s state ppid
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  read -r state ppid _ <<<"$s"
  [ "$state" != Z ] && [ "$ppid" = "$$" ]
}

so_on_exit() {
  local rc=$? name pid
  [ -z "${SO_LB_PID:-}" ] || so_lb_stop || rc=1
  [ -z "${LOAD_PID:-}" ] || touch "$TMP/stop"  # crash_puts.py load (lib.sh down_is_503_then_back)
  # Whatever waits at a pause point goes on (a server stops only once its
  # requests are answered).
  [ -z "${PAUSE:-}" ] || rm -f "$PAUSE"/*
  if [ -n "${SO_GCLOOP:-}" ] && so_ours "$SO_GCLOOP"; then
    touch "$TMP/gcloop.stop"  # ends after its gc run
    for _ in $(seq 300); do so_ours "$SO_GCLOOP" || break; sleep 0.1; done
  fi
  for pid in "${SO_BG[@]}"; do
    if so_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for name in "${!SO_PID[@]}"; do
    so_stop "$name" || rc=1
  done
  so_rgw_cleanup
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for name in a b c; do
      [ -s "$TMP/$name.log" ] || continue
      echo "    --- server $name log (last 10 lines) ---" >&2
      tail -10 "$TMP/$name.log" | sed 's/^/    /' >&2
    done
    if [ -s "$TMP/nginx/error.log" ]; then
      echo "    --- nginx error log (last 10 lines) ---" >&2
      tail -10 "$TMP/nginx/error.log" | sed 's/^/    /' >&2
    fi
  fi
  exit $rc
}

# so_py ARGS...: the load helper (in the background, run "$PY" "$SO_LOAD"
# itself, so that $! is its pid).
so_py() { "$PY" "$SO_LOAD" "$@"; }

# so_gc COPY [ARGS...]: one gc run on $TMP/COPY (--json); appends its report
# to $TMP/gc.jsonl. Fails naming gc's own error.
so_gc() {
  local copy=$1 rc=0
  shift
  "$AS_BIN" -s "$TMP/$copy" gc --json "$@" >"$TMP/gc.out" 2>"$TMP/gc.err" || rc=$?
  [ $rc -eq 0 ] || { fail "gc on copy $copy exited $rc: $(cat "$TMP/gc.err")"; return 1; }
  cat "$TMP/gc.out" >>"$TMP/gc.jsonl"
}

# so_gc_sum FIELD: the sum of FIELD over the gc reports in $TMP/gc.jsonl,
# or "none" when no report has the field.
so_gc_sum() {
  "$PY" -c '
import json, sys
n, seen = 0, False
for line in open(sys.argv[1]):
    line = line.strip()
    if not line: continue
    r = json.loads(line)
    if sys.argv[2] in r:
        seen = True
        n += int(r[sys.argv[2]])
print(n if seen else "none")' "$TMP/gc.jsonl" "$1"
}

# so_gc_field FIELD [FILE]: FIELD of the gc report in FILE (default: the last
# line of $TMP/gc.jsonl), or "none" when the report has no such field.
so_gc_field() {
  local line
  line=$(tail -1 "${2:-$TMP/gc.jsonl}")
  "$PY" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], "none"))' "$line" "$1"
}

# so_stat FIELD COPY: one field of `stats --json` on $TMP/COPY.
so_stat() {
  local out
  out=$("$AS_BIN" -s "$TMP/$2" stats --json 2>&1) || { fail "stats on copy $2: $out"; return 1; }
  json_field "$out" "$1"
}

# so_metrics NAME REGEX: the lines of server NAME's /metrics that match
# REGEX, on one line (for the log; empty when there are none).
so_metrics() {
  "$PY" -c '
import re, sys, urllib.request
try:
    text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=10).read().decode()
except Exception as e:
    print(f"(no /metrics: {e})"); sys.exit(0)
print("; ".join(l for l in text.splitlines() if not l.startswith("#") and re.search(sys.argv[2], l)))
' "${SO_EP[$1]}" "$2"
}

# so_verify COPY: `verify --full` on $TMP/COPY is clean.
so_verify() {
  "$AS_BIN" -s "$TMP/$1" verify --full >"$TMP/verify.out" 2>&1 ||
    fail "verify --full on copy $1: $(tail -5 "$TMP/verify.out")"
}

# so_wait_reached POINT SECONDS: until a process has reached pause point
# POINT (its pid in $PAUSE/POINT.reached).
so_wait_reached() {
  local i
  for i in $(seq $(($2 * 10))); do
    [ -s "$PAUSE/$1.reached" ] && return 0
    sleep 0.1
  done
  fail "nothing reached the pause point $1 in $2 s (does this binary read AS_TEST_PAUSE_DIR?)"
}

# so_uploads: the multipart uploads under the store's prefix, one id a line.
so_uploads() { rgw_uploads "$SO_BUCKET" "$SO_PREFIX/"; }

# so_rgw_cleanup: the store's objects and uploads go from RGW, whose OSD
# keeps them in RAM (2 GiB for the whole rgw-test run; these tests write
# several hundred MiB). The database schema goes with parts_test_end.
so_rgw_cleanup() {
  [ -n "${SO_PREFIX:-}" ] && [ -x "$AWS" ] || return 0
  local id key
  rgw_aws s3api list-multipart-uploads --bucket "$SO_BUCKET" --prefix "$SO_PREFIX/" \
    --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null | grep -v '^None$' |
    while read -r key id; do
      [ -n "$id" ] || continue
      rgw_aws s3api abort-multipart-upload --bucket "$SO_BUCKET" --key "$key" --upload-id "$id" \
        >/dev/null 2>&1 || true
    done || true
  rgw_aws s3 rm --recursive --quiet "s3://$SO_BUCKET/$SO_PREFIX/" >/dev/null 2>&1 || true
}

# ---- tests -----------------------------------------------------------------

# Three servers: every write through one is seen at once through the others.
test_read_after_write_across_servers() {
  so_needed
  so_store b c d
  so_serve a; so_serve b; so_serve c
  so_py rw "${SO_EP[a]}" "${SO_EP[b]}" "${SO_EP[c]}" || fail "read-after-write across A, B and C"
  so_verify d
  so_stop a; so_stop b; so_stop c
}

# The same bodies through two servers at the same moment: one chunk row per
# distinct chunk, as many as a single store gets for the two bodies.
test_same_bodies_through_two_servers_at_once() {
  so_needed
  so_store b c
  rand_file "$TMP/big" $((64 << 20)) so-same-big
  so_serve a; so_serve b
  so_py same "${SO_EP[a]}" "${SO_EP[b]}" "$TMP/big" || fail "the same bodies through A and B"
  so_verify c
  local got want
  got=$(so_stat chunks c)
  # The same two bodies in a fresh single store (SQLite, local packs).
  "$PY" -c 'import random, sys; open(sys.argv[1], "wb").write(random.Random("same/small").randbytes(100 * 1024))' \
    "$TMP/small"
  # shellcheck disable=SC2016  # the inner script's own arguments
  env -u ARTIFACT_STORE_METADATA -u ARTIFACT_STORE_PACKS -u ARTIFACT_STORE_S3_ENDPOINT \
    -u ARTIFACT_STORE_S3_CREDENTIALS sh -ec '
      "$1" -s "$2" init
      "$1" -s "$2" put "$3" -n x/big
      "$1" -s "$2" put "$4" -n x/small' sh "$AS_BIN" "$TMP/ref" "$TMP/big" "$TMP/small" \
    >"$TMP/ref.out" 2>&1 || fail "the single reference store: $(cat "$TMP/ref.out")"
  want=$(so_stat chunks ref)
  echo "    chunk rows: $got on the shared store, $want in a single store for the same two bodies"
  echo "    pack bytes: $(so_stat pack_bytes c) on the shared store, $(so_stat pack_bytes ref) in the single store"
  [ "$got" = "$want" ] ||
    fail "$got chunk rows after the same bodies went through A and B at once; a single store has $want"
  so_stop a; so_stop b
}

# A server SIGKILLed with PUTs held before their commit and a large PUT
# half sent: no name through the other server, everything acknowledged
# before reads back, the same PUTs succeed once it is back, and gc on a
# third copy leaves no multipart upload in the bucket.
test_sigkill_mid_put() {
  need_client aws
  so_needed
  so_store b c
  so_serve a "AS_TEST_PAUSE_DIR=$PAUSE"
  so_serve b
  # Acknowledged before the kill.
  so_py put "${SO_EP[a]}" so-kill before 20 s1 "$TMP/acked.before" --all
  rand_file "$TMP/big" $((48 << 20)) so-kill-big
  # Held between their lookup and their commit.
  touch "$PAUSE/put-before-commit"
  "$PY" "$SO_LOAD" put "${SO_EP[a]}" so-kill held 64 s1 "$TMP/acked.held" >"$TMP/held.out" 2>&1 &
  local held=$! stall i
  so_bg $held
  # 40 MiB of 48, then nothing: A has sent its pack's first parts to RGW.
  "$PY" "$SO_LOAD" stall "${SO_EP[a]}" so-kill big "$TMP/big" $((40 << 20)) >"$TMP/stall.out" 2>&1 &
  stall=$!
  so_bg $stall
  so_wait_reached put-before-commit 60
  for i in $(seq 100); do
    [ -n "$(so_uploads)" ] && break
    sleep 0.2
  done
  [ -n "$(so_uploads)" ] || echo "    note: no pack upload of the large PUT showed in RGW within 20 s"
  sleep 1  # the rest of the 64 arrive and queue
  echo "    $(grep -c . "$PAUSE/put-before-commit.reached") arrivals at put-before-commit before the kill"
  so_kill a
  wait $held || fail "the held PUTs' client failed: $(cat "$TMP/held.out")"
  kill -KILL $stall 2>/dev/null || true
  wait $stall 2>/dev/null || true
  grep -q "answered a PUT" "$TMP/stall.out" && fail "$(cat "$TMP/stall.out")"
  rm -f "$PAUSE/put-before-commit"
  [ ! -s "$TMP/acked.held" ] ||
    fail "$(grep -c . "$TMP/acked.held") PUTs held at put-before-commit were acknowledged: $(head -3 "$TMP/acked.held")"
  local keys=()
  for i in $(seq 0 63); do keys+=("held/$(printf %03d "$i")"); done
  so_py absent "${SO_EP[b]}" so-kill held "${keys[@]}" ||
    fail "PUTs held before their commit on A (SIGKILLed) have names through B"
  so_py absent "${SO_EP[b]}" so-kill big big || fail "the large PUT cut off by A's SIGKILL has a name through B"
  so_py check "${SO_EP[b]}" so-kill "$TMP/acked.before" ||
    fail "PUTs acknowledged by A before its SIGKILL do not read back through B"
  # A again, on the same directory: the same PUTs succeed.
  so_serve a
  so_py put "${SO_EP[a]}" so-kill held 64 s1 "$TMP/acked.again" --all ||
    fail "the held PUTs, sent again to the restarted A"
  so_py putfile "${SO_EP[a]}" so-kill big "$TMP/big" || fail "the large PUT, sent again to the restarted A"
  so_py check "${SO_EP[b]}" so-kill "$TMP/acked.again"
  echo "big $(sha256sum <"$TMP/big" | cut -d' ' -f1)" >"$TMP/acked.big"
  so_py check "${SO_EP[b]}" so-kill "$TMP/acked.big" || fail "the large PUT does not read back through B"
  # gc on a third copy aborts the killed server's pack upload (once its
  # session has expired, if gc waits for that).
  echo "    $(so_uploads | wc -l) multipart uploads in RGW before gc"
  local start=$SECONDS
  while :; do
    so_gc c --grace 0
    [ -z "$(so_uploads)" ] && break
    [ $((SECONDS - start)) -lt 90 ] ||
      fail "gc on copy c still leaves multipart uploads in RGW after 90 s: $(so_uploads | tr '\n' ' ')"
    sleep 2
  done
  echo "    no multipart upload left after $((SECONDS - start)) s of gc on copy c ($(grep -c . "$TMP/gc.jsonl") runs, sessions expelled: $(so_gc_sum sessions_expelled))"
  so_verify c
  so_py check "${SO_EP[b]}" so-kill "$TMP/acked.before"
  so_stop a; so_stop b
}

# A server SIGKILLed in the middle of a group commit: the group's pack is
# sealed and in the bucket, its transaction not begun. None of the group's
# PUTs was answered and none has a name; every PUT acknowledged before reads
# back through B; gc on a third copy expels the dead session and removes the
# group's pack object (its pending row names a dead writer), so the bucket
# holds as many packs as the index names.
test_sigkill_mid_group_commit() {
  so_needed
  so_store b c
  so_serve a "AS_TEST_PAUSE_DIR=$PAUSE"
  so_serve b
  so_py put "${SO_EP[a]}" so-group before 16 g1 "$TMP/acked.before" --all
  touch "$PAUSE/group-commit"
  "$PY" "$SO_LOAD" put "${SO_EP[a]}" so-group held 32 g2 "$TMP/acked.held" >"$TMP/held.out" 2>&1 &
  local held=$! i
  so_bg $held
  so_wait_reached group-commit 60
  sleep 1  # the rest queue behind the held leader
  so_kill a
  wait $held || fail "the held PUTs' client failed: $(cat "$TMP/held.out")"
  rm -f "$PAUSE/group-commit"
  [ ! -s "$TMP/acked.held" ] ||
    fail "$(grep -c . "$TMP/acked.held") PUTs of the held group commit were acknowledged"
  local keys=()
  for i in $(seq 0 31); do keys+=("held/$(printf %03d "$i")"); done
  so_py absent "${SO_EP[b]}" so-group held "${keys[@]}" ||
    fail "PUTs of a group commit killed before its transaction have names through B"
  so_py check "${SO_EP[b]}" so-group "$TMP/acked.before" ||
    fail "PUTs acknowledged by A before its SIGKILL do not read back through B"
  so_gc c --grace 3600  # the dead writer's pack goes at once, not after the grace
  local objects rows
  objects=$(rgw_pack_keys "$SO_BUCKET" "$SO_PREFIX/packs/" | grep -c . || true)
  rows=$(so_stat packs c)
  [ "$objects" = "$rows" ] ||
    fail "after gc the bucket holds $objects pack objects, the index names $rows"
  echo "    sessions expelled: $(so_gc_sum sessions_expelled); pack objects = rows = $rows"
  so_verify c
  so_stop b
}

# A churns (versions, overwrites, deletes, copies, multipart) while gc runs
# every second on another copy; puts held between lookup and commit see a
# whole gc run go by. Every acknowledged key reads back through B.
test_gc_while_another_server_ingests() {
  so_needed
  so_store b c
  so_serve a "AS_TEST_PAUSE_DIR=$PAUSE"
  so_serve b
  : >"$TMP/gc.jsonl"
  "$PY" "$SO_LOAD" churn "${SO_EP[a]}" so-churn "$TMP/state.json" 60 200 >"$TMP/churn.out" 2>&1 &
  local load=$!
  so_bg $load
  so_gc_loop_start
  sleep 8
  # Garbage that puts held across a gc run reference again: R, PUT and
  # deleted through B, comes back through A (the same bytes, and an edit),
  # looked up before the gc run dooms R's rows, committed after it.
  so_gc_loop_stop
  rand_file "$TMP/r" $((3 << 20)) so-churn-r
  cp "$TMP/r" "$TMP/r2"
  printf 'X' | dd of="$TMP/r2" bs=1 seek=$((1 << 20)) conv=notrunc status=none
  so_py putfile "${SO_EP[b]}" so-race race/r "$TMP/r"
  so_py delete "${SO_EP[b]}" so-race race/r
  touch "$PAUSE/put-before-commit"
  "$PY" "$SO_LOAD" putfile "${SO_EP[a]}" so-race race/r1 "$TMP/r" >"$TMP/r1.out" 2>&1 &
  local r1=$!
  so_bg $r1
  "$PY" "$SO_LOAD" putfile "${SO_EP[a]}" so-race race/r2 "$TMP/r2" >"$TMP/r2.out" 2>&1 &
  local r2=$!
  so_bg $r2
  so_wait_reached put-before-commit 60
  sleep 1
  echo "    $(grep -c . "$PAUSE/put-before-commit.reached") arrivals at put-before-commit; one gc run while they wait"
  # gc may finish while they wait, or wait for them (the horizon: it sweeps
  # nothing an operation begun before its doom may still reference); either
  # way it must finish once they are let go, and they must succeed.
  "$AS_BIN" -s "$TMP/c" gc --json >"$TMP/gc.out" 2>"$TMP/gc.err" &
  local gc=$! rc=0 waited=0
  so_bg $gc
  for i in $(seq 150); do
    kill -0 $gc 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 $gc 2>/dev/null; then
    waited=1
    echo "    gc still runs after 15 s with puts held at put-before-commit: letting them go"
  else
    echo "    gc finished while puts were held at put-before-commit"
  fi
  rm -f "$PAUSE/put-before-commit"
  local released=$SECONDS
  for i in $(seq 1200); do
    kill -0 $gc 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 $gc 2>/dev/null; then
    kill -KILL $gc
    fail "gc did not finish within 120 s of the held puts' release"
  fi
  wait $gc || rc=$?
  [ $rc -eq 0 ] || fail "gc while puts were held at put-before-commit exited $rc: $(cat "$TMP/gc.err")"
  [ $waited = 0 ] || echo "    gc finished $((SECONDS - released)) s after the release"
  cat "$TMP/gc.out" >>"$TMP/gc.jsonl"
  wait $r1 || fail "race/r1 (deleted bytes PUT again, held across a gc run): $(cat "$TMP/r1.out")"
  wait $r2 || fail "race/r2 (an edit of deleted bytes, held across a gc run): $(cat "$TMP/r2.out")"
  sed 's/^/    /' "$TMP/r1.out" "$TMP/r2.out"
  echo "    the gc run across the held puts: $(cat "$TMP/gc.out")"
  local waiting
  waiting=$(so_gc_field doomed_waiting "$TMP/gc.out")
  if [ "$waiting" != none ] && [ $waited = 0 ]; then
    [ "$waiting" -gt 0 ] ||
      fail "the gc run that finished while puts were held left no doomed row waiting for them"
  fi
  so_gc_loop_start
  wait $load || rc=$?
  so_gc_loop_stop
  sed 's/^/    /' "$TMP/churn.out"
  [ $rc -eq 0 ] || fail "the churn on A failed"
  so_py state "${SO_EP[b]}" so-churn "$TMP/state.json" ||
    fail "acknowledged keys do not read back right through B"
  printf 'race/r1 %s\nrace/r2 %s\n' "$(sha256sum <"$TMP/r" | cut -d' ' -f1)" \
    "$(sha256sum <"$TMP/r2" | cut -d' ' -f1)" >"$TMP/acked.race"
  so_py check "${SO_EP[b]}" so-race "$TMP/acked.race" ||
    fail "puts held across a gc run do not read back through B"
  for _ in 1 2 3; do so_gc c --grace 0; done
  # Once nothing runs, no doomed row is left waiting for long.
  local start=$SECONDS
  while [ "$(so_gc_field doomed_waiting)" != none ] && [ "$(so_gc_field doomed_waiting)" != 0 ]; do
    [ $((SECONDS - start)) -lt 30 ] ||
      fail "gc still reports $(so_gc_field doomed_waiting) doomed rows waiting 30 s after the load stopped"
    sleep 1
    so_gc c --grace 0
  done
  so_verify c
  so_py state "${SO_EP[b]}" so-churn "$TMP/state.json" || fail "keys lost to the gc runs after the load"
  so_py check "${SO_EP[b]}" so-race "$TMP/acked.race"
  local runs res
  runs=$(grep -c . "$TMP/gc.jsonl")
  res=$(so_gc_sum resurrected)
  echo "    $runs gc runs; resurrected in all: $res"
  echo "    server A's /metrics: $(so_metrics a 'resurrect|refs_gone|horizon|expel')"
  if [ "$res" != none ]; then
    [ "$res" -gt 0 ] || fail "no gc run reported a resurrected row: the race did not happen"
  fi
  so_stop a; so_stop b
}

# so_gc_loop_start / so_gc_loop_stop: gc --json on copy c every second (a
# run that finds gc busy is counted, any other failure stops the test at
# so_gc_loop_stop).
so_gc_loop_start() {
  rm -f "$TMP/gcloop.stop"
  (
    set +e
    trap - ERR
    while [ ! -e "$TMP/gcloop.stop" ]; do
      if "$AS_BIN" -s "$TMP/c" gc --json >"$TMP/gcloop.out" 2>"$TMP/gcloop.err"; then
        cat "$TMP/gcloop.out" >>"$TMP/gc.jsonl"
      elif grep -qi busy "$TMP/gcloop.err"; then
        echo busy >>"$TMP/gcloop.busy"
      else
        cat "$TMP/gcloop.err" >>"$TMP/gcloop.failed"
      fi
      sleep 1
    done
  ) &
  SO_GCLOOP=$!
  so_bg $SO_GCLOOP
}

so_gc_loop_stop() {
  touch "$TMP/gcloop.stop"
  wait "$SO_GCLOOP" || true
  [ ! -s "$TMP/gcloop.failed" ] || fail "gc in the loop on copy c failed: $(head -3 "$TMP/gcloop.failed")"
}

# so_gc_killed_at POINT COPY: a gc run on $TMP/COPY held at pause point
# POINT (a run that ends without reaching it is run again, 3 tries), a gc
# run on copy c meanwhile (it must not run beside it: busy, or waiting),
# then SIGKILL.
so_gc_killed_at() {
  local point=$1 copy=$2 gc="" try rc
  touch "$PAUSE/$point"
  for try in 1 2 3; do
    AS_TEST_PAUSE_DIR=$PAUSE "$AS_BIN" -s "$TMP/$copy" gc --json >"$TMP/gcp.out" 2>"$TMP/gcp.err" &
    gc=$!
    so_bg $gc
    for _ in $(seq 300); do
      [ -s "$PAUSE/$point.reached" ] && break
      kill -0 $gc 2>/dev/null || break
      sleep 0.1
    done
    [ -s "$PAUSE/$point.reached" ] && break
    rc=0
    wait $gc || rc=$?
    [ $rc -eq 0 ] || fail "gc on copy $copy exited $rc before it reached $point: $(cat "$TMP/gcp.err")"
    echo "    gc run $try on copy $copy finished without reaching $point"
    cat "$TMP/gcp.out" >>"$TMP/gc.jsonl"
    gc=""
  done
  [ -n "$gc" ] || fail "no gc run on copy $copy reached $point in 3 tries (does this binary read AS_TEST_PAUSE_DIR?)"
  grep -qx "$gc" "$PAUSE/$point.reached" ||
    fail "the pid at $point is $(cat "$PAUSE/$point.reached"), not gc's $gc"
  rc=0
  timeout 10 "$AS_BIN" -s "$TMP/c" gc --json >"$TMP/gc2.out" 2>"$TMP/gc2.err" || rc=$?
  case $rc in
    0) fail "gc on copy c ran to the end while gc on copy $copy held $point: two gc runs at once" ;;
    124) echo "    gc on copy c waited (10 s) while gc on copy $copy held $point" ;;
    *) grep -qi busy "$TMP/gc2.err" ||
         fail "gc on copy c while gc on copy $copy held $point: $(cat "$TMP/gc2.err") (want busy)"
       echo "    gc on copy c while gc on copy $copy held $point: $(cat "$TMP/gc2.err")" ;;
  esac
  kill -KILL "$gc"
  wait "$gc" 2>/dev/null || true
  rm -f "$PAUSE/$point" "$PAUSE/$point.reached"
  echo "    gc on copy $copy SIGKILLed at $point"
}

# gc paused after its doom mark and SIGKILLed: gc on another copy takes over
# (not "busy"), and nothing live is lost.
test_gc_owner_killed_mid_run_and_another_takes_over() {
  so_needed
  so_store b c
  so_serve a
  : >"$TMP/gc.jsonl"
  so_py put "${SO_EP[a]}" so-gc live 20 s5 "$TMP/acked.live" --all
  local live_chunks
  live_chunks=$(so_stat chunks c)
  # Garbage: PUT, then deleted.
  so_py put "${SO_EP[a]}" so-gc junk 30 s6 "$TMP/acked.junk" --all
  rand_file "$TMP/junkbig" $((6 << 20)) so-junk
  so_py putfile "${SO_EP[a]}" so-gc junkbig "$TMP/junkbig"
  # shellcheck disable=SC2046  # one key a word
  so_py delete "${SO_EP[a]}" so-gc junkbig $(cut -d' ' -f1 "$TMP/acked.junk")
  # Killed once after dooming manifests, once after dooming chunks.
  so_gc_killed_at gc-after-manifest-doom b
  so_gc_killed_at gc-after-doom b
  sleep 0.5
  if ! "$AS_BIN" -s "$TMP/c" gc --json >"$TMP/gc.out" 2>"$TMP/gc.err"; then
    grep -qi busy "$TMP/gc.err" &&
      fail "gc on copy c is refused after the gc owner on copy b was SIGKILLed: $(cat "$TMP/gc.err")"
    fail "gc on copy c after the gc owner on copy b was SIGKILLed: $(cat "$TMP/gc.err")"
  fi
  cat "$TMP/gc.out" >>"$TMP/gc.jsonl"
  echo "    the takeover run on copy c: $(cat "$TMP/gc.out")"
  so_py check "${SO_EP[a]}" so-gc "$TMP/acked.live" || fail "live keys lost after the takeover"
  so_verify c
  # The garbage the killed run doomed goes (once the killed run's session,
  # if it has one, has expired): as many chunk rows as before it was PUT.
  local start=$SECONDS runs=1 chunks
  while :; do
    so_gc c --grace 0
    runs=$((runs + 1))
    chunks=$(so_stat chunks c)
    [ "$chunks" != "$live_chunks" ] || break
    [ $((SECONDS - start)) -lt 30 ] ||
      fail "$chunks chunk rows after $runs gc runs on copy c in 30 s; $live_chunks before the garbage"
    sleep 1
  done
  echo "    chunk rows: $live_chunks before the garbage, the same after $runs gc runs on copy c; resurrected: $(so_gc_sum resurrected)"
  so_verify c
  so_py check "${SO_EP[a]}" so-gc "$TMP/acked.live" || fail "live keys lost to the gc runs after the takeover"
  # shellcheck disable=SC2046
  so_py absent "${SO_EP[a]}" so-gc junk junkbig $(cut -d' ' -f1 "$TMP/acked.junk") || fail "deleted keys came back"
  so_stop a
}

# PostgreSQL restarted, then RGW stopped and started, while 8 threads PUT
# through each of two servers (lib.sh down_is_503_then_back): the failures
# are 503s, and only during the outages; after each, PUTs succeed through
# both servers without a restart; what either acknowledged reads back through
# the other, a PUT refused while the database or RGW was down has no name,
# and verify --full on a spare copy is clean.
test_pg_and_rgw_restart_while_two_servers_ingest() {
  need_client aws
  so_needed
  [ -n "${AS_TEST_PG_STATE:-}" ] || skip "needs a PostgreSQL this test may stop (AS_TEST_PG_STATE)"
  so_store b c
  so_serve a; so_serve b
  down_is_503_then_back so-outage "${SO_EP[a]}" "$TMP/a.log" "${SO_EP[b]}" "$TMP/b.log" -- \
    "$CLIENTS_DIR/../../util/pg_server.sh" "$AS_TEST_PG_STATE" \
    "$CLIENTS_DIR/../../util/rgw_server.sh" "$AS_TEST_RGW_STATE"
  echo "    server a's /metrics: $(so_metrics a 'as_http_requests_total\{[^}]*code="5|renewal|fenced')"
  so_stop a; so_stop b
  so_verify c
}

# ---- behind a load balancer -------------------------------------------------

SO_NGINX=/usr/sbin/nginx

# so_lb_start NAME...: nginx with docs/examples/nginx.conf on a free
# 127.0.0.1 port, its upstream the servers NAME... (each with the example's
# server options), everything it writes in $TMP/nginx (access log
# $TMP/nginx/artifact-store.log); sets SO_LB_PID and SO_LB (its URL). The
# EXIT trap stops it.
so_lb_start() {
  local example=$CLIENTS_DIR/../../../docs/examples/nginx.conf dir=$TMP/nginx port user="" ups="" name i
  [ -f "$example" ] || { fail "no $example"; return 1; }
  mkdir -p "$dir/tmp"
  for name in "$@"; do ups+=" ${SO_EP[$name]#http://}"; done
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # As root the workers would run as www-data, which cannot enter $TMP.
  [ "$(id -u)" != 0 ] || user="user root;"
  # The example's paths go to $dir, its listen to the port, its first
  # upstream server line becomes one per server (the others go).
  awk -v dir="$dir" -v port="$port" -v user="$user" -v ups="$ups" '
    /^user / { if (user != "") print user; print "daemon off;"; next }
    /^pid / { print "pid " dir "/nginx.pid;"; next }
    /^error_log / { print "error_log " dir "/error.log;"; next }
    /^http \{/ { print; print "    client_body_temp_path " dir "/tmp/body;"
                 print "    proxy_temp_path " dir "/tmp/proxy;"; print "    fastcgi_temp_path " dir "/tmp/fastcgi;"
                 print "    uwsgi_temp_path " dir "/tmp/uwsgi;"; print "    scgi_temp_path " dir "/tmp/scgi;"; next }
    /^ *access_log \/var\/log\/nginx\// { sub(/\/var\/log\/nginx\//, dir "/"); print; next }
    /^ *listen 80;/ { sub(/listen 80;/, "listen 127.0.0.1:" port ";"); print; next }
    /^ *server 10\.0\.0\.[0-9]+:9000[ ;]/ {
      if (!done) { n = split(ups, u, " "); for (i = 1; i <= n; i++) { l = $0; sub(/10\.0\.0\.[0-9]+:9000/, u[i], l); print l } }
      done = 1; next }
    { print }' "$example" >"$dir/nginx.conf"
  # The example changed under this rewrite: say so, rather than test another file.
  if [ "$(grep -c '^ *server 127\.0\.0\.1:[0-9]*[ ;]' "$dir/nginx.conf")" != $# ] ||
     ! grep -q "listen 127.0.0.1:$port;" "$dir/nginx.conf" || ! grep -q "access_log $dir/" "$dir/nginx.conf" ||
     grep -qE '/(var|run)/' "$dir/nginx.conf"; then
    fail "docs/examples/nginx.conf no longer has the lines this test rewrites (server 10.0.0.N:9000, listen 80, /var/log/nginx/, pid, error_log): $(grep -nE 'server 1|listen|/(var|run)/' "$dir/nginx.conf" | tr '\n' ' ')"
    return 1
  fi
  "$SO_NGINX" -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/test.out" 2>&1 ||
    { fail "nginx -t: $(cat "$dir/test.out") $(tail -3 "$dir/error.log" 2>/dev/null)"; return 1; }
  "$SO_NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stderr" 2>&1 &
  SO_LB_PID=$!
  SO_LB=http://127.0.0.1:$port
  for i in $(seq 100); do
    kill -0 "$SO_LB_PID" 2>/dev/null || { fail "nginx exited: $(cat "$dir/stderr") $(tail -5 "$dir/error.log")"; return 1; }
    curl -s -o /dev/null "$SO_LB/healthz" && return 0
    sleep 0.1
  done
  fail "nginx does not answer on $SO_LB after 10 s: $(tail -5 "$dir/error.log")"
}

# so_lb_stop: nginx's fast shutdown (SIGTERM to the master, which stops its
# workers), within 10 s.
so_lb_stop() {
  local pid=${SO_LB_PID:-}
  [ -n "$pid" ] || return 0
  SO_LB_PID=
  stop_pid "$pid" nginx 10  # its exit status is not checked
}

# so_lb_aws ARGS...: awscli through nginx as alice (5 MiB multipart parts).
so_lb_aws() {
  [ -s "$TMP/lb.aws.config" ] ||
    printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    multipart_threshold = 8MB\n    multipart_chunksize = 5MB\n' \
      >"$TMP/lb.aws.config"
  AWS_ACCESS_KEY_ID=$A_KEY AWS_SECRET_ACCESS_KEY=$A_SECRET AWS_CONFIG_FILE=$TMP/lb.aws.config \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true \
    env -u AWS_PROFILE "$AWS" --endpoint-url "$SO_LB" "$@"
}

# so_lb_upstreams FILTER: the upstream that answered each request of nginx's
# access log whose line matches the ERE FILTER, one a line ("A, B" when
# nginx went on to B; the last one answered).
so_lb_upstreams() {
  grep -E "$1" "$TMP/nginx/artifact-store.log" | sed -n 's/.* up=\([^/]*\)\/.*/\1/p' || true
}

# Two servers behind nginx configured as docs/examples/nginx.conf: awscli's
# multipart parts go to both, what is written reads back through either,
# and once one server is stopped every request (no SDK retries) still
# succeeds: nginx goes on to the other.
test_behind_nginx_load_balancer() {
  need_client aws
  need_client curl
  [ -x "$SO_NGINX" ] || skip "nginx not installed ($SO_NGINX)"
  so_needed
  so_store b c
  so_serve a; so_serve b
  so_lb_start a b
  local hp_a=${SO_EP[a]#http://} hp_b=${SO_EP[b]#http://} parts n_a n_b out i
  echo "    nginx on $SO_LB; servers a $hp_a, b $hp_b"
  rand_file "$TMP/big" $((20 << 20)) so-lb-big
  so_lb_aws s3api create-bucket --bucket so-lb >/dev/null
  so_lb_aws s3 cp --no-progress "$TMP/big" s3://so-lb/dir/big >"$TMP/cp.out" 2>&1 ||
    fail "s3 cp of 20 MiB through nginx: $(cat "$TMP/cp.out")"
  parts=$(so_lb_upstreams '"PUT [^"]*" part=[0-9]')
  n_a=$(grep -c "$hp_a\$" <<<"$parts" || true); n_b=$(grep -c "$hp_b\$" <<<"$parts" || true)
  echo "    the 20 MiB upload's parts: $n_a to server a, $n_b to server b"
  echo "    UploadPart on a: $(so_metrics a 'as_http_requests_total\{op="UploadPart"')"
  echo "    UploadPart on b: $(so_metrics b 'as_http_requests_total\{op="UploadPart"')"
  [ $((n_a + n_b)) -ge 4 ] || fail "nginx logged $((n_a + n_b)) part uploads, want 4: $(tail -8 "$TMP/nginx/artifact-store.log")"
  if [ "$n_a" = 0 ] || [ "$n_b" = 0 ]; then
    fail "the parts all went to one server: $(tr '\n' ' ' <<<"$parts")"
  fi
  out=$(so_lb_aws s3 ls s3://so-lb/dir/)
  expect_in "$out" "20971520 big"
  so_lb_aws s3 cp --no-progress s3://so-lb/dir/big "$TMP/big.got" >/dev/null
  cmp "$TMP/big" "$TMP/big.got" || fail "the 20 MiB object read back through nginx differs"
  # And through each server directly.
  echo "dir/big $(sha256sum <"$TMP/big" | cut -d' ' -f1)" >"$TMP/acked.big"
  so_py check "${SO_EP[a]}" so-lb "$TMP/acked.big" || fail "the object PUT through nginx does not read back through a"
  so_py check "${SO_EP[b]}" so-lb "$TMP/acked.big" || fail "the object PUT through nginx does not read back through b"
  so_lb_aws s3 rm s3://so-lb/dir/big >/dev/null
  expect_fail so_lb_aws s3api head-object --bucket so-lb --key dir/big
  expect_in "$ERR" "Not Found"
  out=$(curl -sS -w ' %{http_code}' "$SO_LB/healthz")
  [ "$out" = "ok
 200" ] || fail "GET /healthz through nginx: '$out', want 'ok' 200"
  echo "    requests in nginx's access log: $(grep -c "up=[^ ]*$hp_a/" "$TMP/nginx/artifact-store.log") answered by a, $(grep -c "up=[^ ]*$hp_b/" "$TMP/nginx/artifact-store.log") by b"

  # Server b goes; nginx sends everything to a. No SDK retries: nginx's own.
  so_stop b
  local lines_before
  lines_before=$(wc -l <"$TMP/nginx/artifact-store.log")
  rand_file "$TMP/small" 100000 so-lb-small
  for i in 1 2 3 4 5 6; do
    AWS_MAX_ATTEMPTS=1 so_lb_aws s3api put-object --bucket so-lb --key "after/$i" --body "$TMP/small" \
      >"$TMP/put.out" 2>&1 || fail "PUT after/$i through nginx with server b stopped: $(cat "$TMP/put.out")"
    AWS_MAX_ATTEMPTS=1 so_lb_aws s3api get-object --bucket so-lb --key "after/$i" "$TMP/small.got" \
      >"$TMP/get.out" 2>&1 || fail "GET after/$i through nginx with server b stopped: $(cat "$TMP/get.out")"
    cmp "$TMP/small" "$TMP/small.got"
  done
  AWS_MAX_ATTEMPTS=1 so_lb_aws s3 cp --no-progress "$TMP/big" s3://so-lb/after/big >"$TMP/cp.out" 2>&1 ||
    fail "s3 cp of 20 MiB through nginx with server b stopped: $(cat "$TMP/cp.out")"
  AWS_MAX_ATTEMPTS=1 so_lb_aws s3 cp --no-progress s3://so-lb/after/big "$TMP/big.got2" >/dev/null
  cmp "$TMP/big" "$TMP/big.got2" || fail "the 20 MiB object PUT with server b stopped reads back different"
  out=$(curl -sS -w ' %{http_code}' "$SO_LB/healthz")
  [ "$out" = "ok
 200" ] || fail "GET /healthz through nginx with server b stopped: '$out', want 'ok' 200"
  local after went_on
  after=$(tail -n +$((lines_before + 1)) "$TMP/nginx/artifact-store.log")
  went_on=$(grep -c "up=$hp_b, $hp_a/" <<<"$after" || true)
  echo "    with server b stopped: $(grep -c . <<<"$after") requests, $(grep -c " up=$hp_a/" <<<"$after" || true) straight to a, $went_on tried b first and went on to a"
  echo "    nginx's error log: $(grep -m1 -o 'connect() failed ([^)]*) while connecting to upstream' "$TMP/nginx/error.log" || echo none)"
  grep -E '" part=[^ ]* [^2][0-9][0-9] ' <<<"$after" && fail "requests through nginx failed with server b stopped"
  [ "$went_on" -gt 0 ] || fail "no request tried the stopped server b: nginx's failover was not exercised"
  so_lb_stop
  so_stop a
  so_verify c
}
