#!/usr/bin/env bash
# A private PostgreSQL server for the tests, on a free loopback port.
#
#   pg_server.sh start STATE   initdb (no fsync) + start; writes STATE/url
#                              (a libpq URI) and STATE/dir (the cluster dir)
#   pg_server.sh stop STATE    stops the server by the pid it recorded and
#                              removes its files
#   pg_server.sh down STATE    stops it (fast shutdown) and keeps its data
#   pg_server.sh up STATE      starts it again on the same port (fault tests)
#
# Where PostgreSQL is not installed, `start` writes STATE/skip with the reason
# and exits 0: the tests that need it skip, saying why (scripts/setup.sh
# installs postgresql-15). As root, the server runs as the `postgres` user
# (initdb refuses root). Trust authentication on 127.0.0.1 only: test data.
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop|down|up STATE}
state=${2:?usage: pg_server.sh start|stop|down|up STATE}
mkdir -p "$state"

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; fi
done

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  # A server this state dir still records (an interrupted run, or ctest
  # --repeat, which sets a fixture up again without cleaning up) goes first.
  if [ -f "$state/pid" ]; then bash "${BASH_SOURCE[0]}" stop "$state"; fi
  rm -f "$state/url" "$state/skip"
  if [ -z "$bindir" ]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; scripts/setup.sh installs postgresql-15)" >"$state/skip"
    exit 0
  fi
  dir=$(mktemp -d /tmp/as-pg.XXXXXX)
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  echo "$dir" >"$state/dir"
  as_pg "$bindir/initdb" --no-sync -A trust -U postgres -E UTF8 --locale=C -D "$dir/data" \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # A free port: bind port 0 and read back what the kernel chose.
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off: test data only, and CI's disks are slow; the crash tests of
  # the store's own durability run against SQLite and the packs.
  # AS_PG_DURABLE=1 (benchmarks) keeps PostgreSQL's durable defaults.
  sync_opts="-c fsync=off -c full_page_writes=off"
  [ "${AS_PG_DURABLE:-0}" = 1 ] && sync_opts=""
  echo "$sync_opts" >"$state/sync_opts"
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $sync_opts -c max_connections=200" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  head -1 "$dir/data/postmaster.pid" >"$state/pid"
  echo "$port" >"$state/port"
  echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$state/url"
  ;;
down)
  dir=$(cat "$state/dir")
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  ;;
up)
  dir=$(cat "$state/dir")
  port=$(cat "$state/port")
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $(cat "$state/sync_opts") -c max_connections=200" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  head -1 "$dir/data/postmaster.pid" >"$state/pid"
  ;;
stop)
  if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    # SIGQUIT: immediate shutdown; the data is thrown away next.
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ -f "$state/dir" ]; then rm -rf "$(cat "$state/dir")"; fi
  rm -f "$state/pid" "$state/url" "$state/dir" "$state/skip" "$state/port" "$state/sync_opts"
  ;;
*)
  echo "usage: pg_server.sh start|stop|down|up STATE" >&2
  exit 2
  ;;
esac
