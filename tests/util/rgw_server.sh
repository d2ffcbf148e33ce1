#!/usr/bin/env bash
# A private single-node Ceph RGW (an S3 server) for the tests, on free
# loopback ports: one monitor, one manager, one OSD (memstore: the data is in
# RAM, AS_RGW_MEMSTORE_BYTES, 2 GiB by default) and radosgw (beast).
#
#   rgw_server.sh start STATE  starts them and creates one user with fixed
#                              test keys; writes STATE/endpoint
#                              (http://127.0.0.1:PORT), STATE/access_key,
#                              STATE/secret_key, STATE/env (export lines for
#                              the AWS tools and AS_TEST_S3_ENDPOINT), STATE/dir
#                              (the cluster dir) and STATE/*.pid
#   rgw_server.sh stop STATE   stops every daemon by the pid it recorded and
#                              removes its files
#   rgw_server.sh down STATE   stops radosgw only; the cluster keeps its data
#   rgw_server.sh up STATE     starts radosgw again on the same port and waits
#                              until it answers (fault tests)
#
# Where Ceph is not installed, `start` writes STATE/skip with the reason and
# exits 0: the tests that need it skip, saying why (scripts/setup.sh installs
# ceph-mon ceph-osd ceph-mgr radosgw ceph-common). The daemons run as whoever
# runs this (root too), in the foreground of a session of their own, each
# with its pid in STATE; nothing goes outside the cluster dir (no /etc/ceph,
# /var/lib/ceph, /var/log/ceph, systemd). cephx on 127.0.0.1 only: test data.
set -euo pipefail

cmd=${1:?usage: rgw_server.sh start|stop|down|up STATE}
state=${2:?usage: rgw_server.sh start|stop|down|up STATE}
mkdir -p "$state"
state=$(cd "$state" && pwd)

daemons=(rgw osd mgr mon)  # the order they stop in
access_key=ASTESTRGWACCESSKEY01
secret_key=astestrgwsecretkey0123456789abcdefghijkl

# stop_pids TENTHS NAME...: SIGTERM to the daemons NAME that STATE records, all
# together; SIGKILL to those still alive after TENTHS tenths of a second. A pid
# counts only while its command line names this cluster's config (a pid the
# kernel has since given to another process is left alone).
stop_pids() {
  local tenths=$1 n p pids=() alive
  shift
  local conf=""
  [ -f "$state/dir" ] && conf="$(cat "$state/dir")/ceph.conf"
  for n in "$@"; do
    [ -f "$state/$n.pid" ] || continue
    p=$(cat "$state/$n.pid")
    if [ -n "$conf" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$conf"; then
      pids+=("$p")
    fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq "$tenths"); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    # Reaped by init (they are not our children): wait until they are gone.
    for _ in $(seq 50); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
  fi
  for n in "$@"; do rm -f "$state/$n.pid"; done
}

# launch NAME CMD...: runs a daemon in the foreground (-f) of a session of its
# own, its output in LOG/NAME.out, its pid in STATE/NAME.pid.
launch() {
  local n=$1
  shift
  setsid "$@" -f </dev/null >>"$dir/log/$n.out" 2>&1 &
  echo $! >"$state/$n.pid"
}

# wait_rgw SECONDS: until radosgw answers HTTP on its port; fails at once when
# it has exited.
wait_rgw() {
  local end=$((SECONDS + $1)) p
  p=$(cat "$state/rgw.pid")
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$(cat "$state/port")/"; do
    kill -0 "$p" 2>/dev/null || { echo "rgw_server.sh: radosgw exited" >&2; return 1; }
    [ $SECONDS -lt $end ] || { echo "rgw_server.sh: radosgw did not answer in $1 s" >&2; return 1; }
    sleep 0.2
  done
}

# logs_tail: the end of every log of the cluster, to stderr.
logs_tail() {
  local f
  for f in "$dir"/log/*; do
    [ -s "$f" ] || continue
    echo "==> $f <==" >&2
    tail -n 25 "$f" >&2
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
  for b in ceph-mon ceph-mgr ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    if ! command -v "$b" >/dev/null; then
      echo "Ceph RGW is not installed (no $b; scripts/setup.sh installs ceph-mon ceph-osd ceph-mgr radosgw ceph-common)" >"$state/skip"
      exit 0
    fi
  done
  dir=$(mktemp -d /tmp/as-rgw.XXXXXX)
  echo "$dir" >"$state/dir"
  # From here on a failure prints the logs and stops what was started.
  trap 'rc=$?; if [ $rc -ne 0 ]; then logs_tail; bash "${BASH_SOURCE[0]}" stop "$state"; fi' EXIT
  mkdir -p "$dir"/{log,run,mon,mgr,osd0,rgw,crash}
  # Free ports: bind port 0 three times (at once, so they differ) and read
  # back what the kernel chose: the monitor's msgr2 and msgr1, and radosgw's.
  read -r mon2 mon1 port < <(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
  echo "$port" >"$state/port"
  memstore_bytes=${AS_RGW_MEMSTORE_BYTES:-2147483648}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf=$dir/ceph.conf
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

[mgr]
mgr data = $dir/mgr

[osd]
osd data = $dir/osd\$id
osd objectstore = memstore
memstore device bytes = $memstore_bytes

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
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
  } >"$dir/log/mkfs.out" 2>&1
  launch mon ceph-mon -c "$conf" -i a
  launch mgr ceph-mgr -c "$conf" -i x
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  # The first command to the monitor also waits for it to come up.
  ceph -c "$conf" --connect-timeout 60 osd new "$osd_uuid" 0 >>"$dir/log/mkfs.out" 2>&1
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs.out" 2>&1
  launch osd ceph-osd -c "$conf" -i 0
  launch rgw radosgw -c "$conf" -n client.rgw
  wait_rgw 120
  radosgw-admin -c "$conf" -n client.admin user create --uid tester --display-name tester \
    --access-key "$access_key" --secret "$secret_key" >>"$dir/log/mkfs.out" 2>&1
  echo "$access_key" >"$state/access_key"
  echo "$secret_key" >"$state/secret_key"
  cat >"$state/env" <<EOF
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_DEFAULT_REGION=us-east-1
export AS_TEST_S3_ENDPOINT=http://127.0.0.1:$port
EOF
  echo "http://127.0.0.1:$port" >"$state/endpoint"
  ;;
down)
  stop_pids 100 rgw
  ;;
up)
  dir=$(cat "$state/dir")
  stop_pids 100 rgw
  trap 'rc=$?; if [ $rc -ne 0 ]; then logs_tail; fi' EXIT
  launch rgw radosgw -c "$dir/ceph.conf" -n client.rgw
  wait_rgw 120
  ;;
stop)
  stop_pids 100 "${daemons[@]}"
  if [ -f "$state/dir" ]; then rm -rf "$(cat "$state/dir")"; fi
  rm -f "$state/dir" "$state/skip" "$state/port" "$state/endpoint" "$state/access_key" \
    "$state/secret_key" "$state/env"
  ;;
*)
  echo "usage: rgw_server.sh start|stop|down|up STATE" >&2
  exit 2
  ;;
esac
