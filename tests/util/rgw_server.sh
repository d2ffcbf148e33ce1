#!/usr/bin/env bash
# A private single-node Ceph RGW (an S3 server) for the tests, on free
# loopback ports: one monitor, one manager, one OSD (memstore: the data is in
# RAM, at most AS_RGW_MEMSTORE_BYTES, 2 GiB by default) and radosgw (beast).
#
#   rgw_server.sh start STATE  starts them and creates one user with fixed
#                              test keys; writes STATE/endpoint
#                              (http://127.0.0.1:PORT), STATE/access_key,
#                              STATE/secret_key, STATE/credentials (a 0600
#                              AWS credentials file), STATE/env (export lines:
#                              AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#                              AWS_DEFAULT_REGION, AS_TEST_S3_ENDPOINT),
#                              STATE/dir (the cluster dir: ceph.conf, log/)
#                              and STATE/{mon,mgr,osd,rgw}.pid
#   rgw_server.sh stop STATE   stops every daemon by the pid it recorded and
#                              removes its files
#   rgw_server.sh down STATE   stops radosgw only; the cluster keeps its data
#   rgw_server.sh up STATE     starts radosgw again on the same port and waits
#                              until it answers (fault tests)
#
# Where Ceph is not installed, `start` writes STATE/skip with the reason and
# exits 0: the tests that need it skip, saying why (scripts/setup.sh installs
# ceph-mon ceph-osd ceph-mgr radosgw ceph-common). The daemons run as whoever
# runs this (root too), each in the foreground of a session of its own;
# nothing goes outside the cluster dir (no /etc/ceph, /var/lib/ceph,
# /var/log/ceph, systemd). cephx, on 127.0.0.1 only: test data.
set -euo pipefail

cmd=${1:?usage: rgw_server.sh start|stop|down|up STATE}
state=${2:?usage: rgw_server.sh start|stop|down|up STATE}
mkdir -p "$state"
state=$(cd "$state" && pwd)

access_key=ASTESTRGWACCESSKEY01
secret_key=astestrgwsecretkey0123456789abcdefghijkl

# alive PID: the process runs (a zombie, which waits for init to reap it,
# has exited: its ports and memory are free).
alive() {
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "${s%% *}" != Z ]
}

# stop_pids NAME...: SIGTERM to the daemons NAME that STATE records, all
# together, and SIGKILL to those still running 10 s later. A pid counts only
# while its command line names this cluster's config: a pid the kernel has
# since given to another process is left alone.
stop_pids() {
  local n p pids=() conf=""
  [ -f "$state/dir" ] && conf="$(cat "$state/dir")/ceph.conf"
  for n in "$@"; do
    [ -f "$state/$n.pid" ] || continue
    p=$(cat "$state/$n.pid")
    if [ -n "$conf" ] && grep -qaF -- "$conf" "/proc/$p/cmdline" 2>/dev/null; then pids+=("$p"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 100); do
      n=0
      for p in "${pids[@]}"; do alive "$p" && n=1; done
      [ $n = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  for n in "$@"; do rm -f "$state/$n.pid"; done
}

# launch NAME CMD...: runs a daemon in the foreground (-f) of a session of its
# own (out of the caller's process group and terminal: ctest, a shell),
# output in log/NAME.out, pid in STATE/NAME.pid.
launch() {
  local n=$1
  shift
  setsid "$@" -f </dev/null >>"$dir/log/$n.out" 2>&1 &
  echo $! >"$state/$n.pid"
}

# wait_rgw SECONDS: until radosgw answers HTTP; fails at once when a daemon
# has exited.
wait_rgw() {
  local end=$((SECONDS + $1)) n
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$(cat "$state/port")/"; do
    for n in mon osd rgw; do
      alive "$(cat "$state/$n.pid")" || { echo "rgw_server.sh: the $n daemon exited" >&2; return 1; }
    done
    [ $SECONDS -lt $end ] || { echo "rgw_server.sh: radosgw did not answer in $1 s" >&2; return 1; }
    sleep 0.1
  done
}

# logs_tail: the end of each of the cluster's logs, to stderr.
logs_tail() {
  local f
  for f in "$dir"/log/*; do
    [ -s "$f" ] || continue
    echo "==> $f <==" >&2
    tail -n 20 "$f" >&2
  done
}

case "$cmd" in
start)
  # A cluster this state dir still records (an interrupted run, or ctest
  # --repeat, which sets a fixture up again without cleaning up) goes first.
  if [ -f "$state/dir" ] || compgen -G "$state/*.pid" >/dev/null; then
    bash "${BASH_SOURCE[0]}" stop "$state"
  fi
  rm -f "$state/endpoint" "$state/skip"
  for b in ceph-mon ceph-mgr ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
    if ! command -v "$b" >/dev/null; then
      echo "Ceph RGW is not installed (no $b; scripts/setup.sh installs ceph-mon ceph-osd ceph-mgr radosgw ceph-common)" >"$state/skip"
      exit 0
    fi
  done
  memstore_bytes=${AS_RGW_MEMSTORE_BYTES:-2147483648}
  if ! [[ $memstore_bytes =~ ^[0-9]+$ ]]; then
    echo "rgw_server.sh: AS_RGW_MEMSTORE_BYTES is not a number of bytes: $memstore_bytes" >&2
    exit 2
  fi
  dir=$(mktemp -d /tmp/as-rgw.XXXXXX)
  echo "$dir" >"$state/dir"
  # From here on a failure prints the logs and stops what was started.
  trap 'if [ $? -ne 0 ]; then logs_tail; bash "${BASH_SOURCE[0]}" stop "$state"; fi' EXIT
  mkdir -p "$dir"/{log,run,crash,mon,mgr,osd0,rgw}
  # Free ports: bind port 0 three times (all at once, so they differ) and read
  # back what the kernel chose: the monitor's (msgr2, msgr1) and radosgw's.
  # The OSD and the manager pick their own (ms bind port min..max).
  read -r mon2 mon1 port < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
  echo "$port" >"$state/port"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf=$dir/ceph.conf
  # One copy of everything (pool size 1), no autoscaling. A paxos proposal
  # every 50 ms, not every second: radosgw's first start creates its pools one
  # monitor command at a time, which took 10 s of the start at the default.
  # The GC frees deleted objects' data after a minute (2 h by default): the
  # OSD's store is RAM.
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
keyring = $dir/keyring
run dir = $dir/run
crash dir = $dir/crash
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = true
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
auth allow insecure global id reclaim = false

[mon]
mon data = $dir/mon
mon cluster log file = $dir/log/cluster.log
paxos propose interval = 0.05

[mgr]
mgr data = $dir/mgr

[osd]
osd data = $dir/osd\$id
osd objectstore = memstore
memstore device bytes = $memstore_bytes

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw data = $dir/rgw
rgw enable apis = s3, admin
rgw dynamic resharding = false
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
  # One keyring with every entity: ceph-mon --mkfs imports them all, caps too.
  kr=$dir/keyring
  {
    ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *'
    ceph-authtool "$kr" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
    ceph-authtool "$kr" --gen-key -n mgr.x \
      --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *'
    ceph-authtool "$kr" --gen-key -n osd.0 \
      --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd'
    ceph-authtool "$kr" --gen-key -n client.rgw \
      --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw'
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]" "$dir/monmap"
    ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$kr"
  } >"$dir/log/setup.out" 2>&1
  launch mon ceph-mon -c "$conf" -i a
  launch mgr ceph-mgr -c "$conf" -i x
  # The first command to the monitor also waits for it to come up.
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph -c "$conf" --connect-timeout 60 osd new "$osd_uuid" 0 >>"$dir/log/setup.out" 2>&1
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/setup.out" 2>&1
  launch osd ceph-osd -c "$conf" -i 0
  # radosgw waits for the OSD by itself (its first start creates its pools).
  launch rgw radosgw -c "$conf" -n client.rgw
  wait_rgw 90
  radosgw-admin -c "$conf" -n client.admin user create --uid tester --display-name tester \
    --access-key "$access_key" --secret "$secret_key" >>"$dir/log/setup.out" 2>&1
  echo "$access_key" >"$state/access_key"
  echo "$secret_key" >"$state/secret_key"
  # For stores whose packs are on this RGW (init --s3-credentials): AWS's
  # INI form, owner-only as the store requires.
  (umask 077; printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$access_key" "$secret_key" >"$state/credentials")
  cat >"$state/env" <<EOF
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_DEFAULT_REGION=us-east-1
export AS_TEST_S3_ENDPOINT=http://127.0.0.1:$port
EOF
  echo "http://127.0.0.1:$port" >"$state/endpoint"
  ;;
down)
  stop_pids rgw
  ;;
up)
  dir=$(cat "$state/dir")
  stop_pids rgw
  trap 'if [ $? -ne 0 ]; then logs_tail; fi' EXIT
  launch rgw radosgw -c "$dir/ceph.conf" -n client.rgw
  wait_rgw 90
  ;;
stop)
  # radosgw first: without the OSD its shutdown waits (up to 2 min) on
  # requests to it; then the OSD and the manager, then the monitor. The data
  # is thrown away.
  stop_pids rgw
  stop_pids osd mgr
  stop_pids mon
  if [ -f "$state/dir" ]; then rm -rf "$(cat "$state/dir")"; fi
  rm -f "$state/dir" "$state/skip" "$state/port" "$state/endpoint" "$state/access_key" \
    "$state/secret_key" "$state/credentials" "$state/env"
  ;;
*)
  echo "usage: rgw_server.sh start|stop|down|up STATE" >&2
  exit 2
  ;;
esac
