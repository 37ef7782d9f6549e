#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: initdb in a temporary directory, started on a free
# TCP port on 127.0.0.1 (and a Unix socket in the same directory), torn down afterwards.
#
#   tests/support/pg_harness.sh start [OWNER_PID]   prints "URL DIR" on stdout: the connection
#                                                    URL and the directory to pass to stop.
#                                                    With OWNER_PID, a watchdog stops the server
#                                                    when that process exits (a crashed test
#                                                    leaves nothing running).
#   tests/support/pg_harness.sh stop DIR
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user
# (Debian package postgresql) via runuser. Binaries: $PG_BIN, else Debian's newest in
# /usr/lib/postgresql/*/bin. Settings favour speed over durability (fsync off): test data only.
set -euo pipefail

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$d" ]; then
    echo "pg_harness: PostgreSQL not installed (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    # No python: a random high port; a clash makes pg_ctl fail and start() tries another.
    echo $(( 20000 + RANDOM % 40000 ))
  fi
}

start() {
  local owner="${1:-}" bin dir port
  bin=$(find_bin)
  dir=$(mktemp -d /tmp/eg_pg.XXXXXX)
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U eargate -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; exit 1; }
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
        start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      if [ -n "$owner" ]; then
        ( trap '' HUP; while kill -0 "$owner" 2>/dev/null; do sleep 1; done
          "$0" stop "$dir" >/dev/null 2>&1 ) </dev/null >/dev/null 2>&1 &
        disown || true
      fi
      echo "postgresql://eargate@127.0.0.1:$port/postgres $dir"
      return 0
    fi
  done
  cat "$dir/server.log" >&2 || true
  rm -rf "$dir"
  echo "pg_harness: could not start PostgreSQL" >&2
  exit 1
}

stop() {
  local dir="$1" bin
  bin=$(find_bin)
  case "$dir" in /tmp/eg_pg.*) ;; *) echo "pg_harness: refusing to remove $dir" >&2; exit 2 ;; esac
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [OWNER_PID] | stop DIR" >&2; exit 2 ;;
esac
