#!/usr/bin/env bash
# Can a fleet node's shipping keep up with its decisions (issue 5: "each node keeps its own
# chain of decisions and ships records to PostgreSQL for search")? A gateway with a sync
# decision log serves /v1/authz under wrk for DURATION (its decision rate R: records per
# second into its log); then `eargate audit ship` copies that log to a fresh PostgreSQL (the
# test harness's server on this machine, fsync off: the store's disk is not what is measured)
# and to a fresh SQLite file, timed (ship rate S). S / R >= 1: a node at full load ships as
# fast as it decides. Both runs in this script, on this machine.
#
#   bench/ship_bench.sh [EARGATE_BIN]
#   env: DURATION=3s CONNECTIONS=256 THREADS=2 GW_THREADS=2 AUDIT_TMP=/var/tmp
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${EARGATE_BIN:-build/release/apps/eargate/eargate}}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
GW_THREADS=${GW_THREADS:-2}
AUDIT_TMP=${AUDIT_TMP:-/var/tmp}
. bench/lib.sh
need_tools wrk curl
need_bin "$BIN"

work=$(mktemp -d "$AUDIT_TMP/eargate-ship-bench.XXXXXX")
pids=()
pg_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$pg_dir" ] && tests/support/pg_harness.sh stop "$pg_dir" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_gateway node "$work" --audit-dir "$work/log" --audit-durability sync
port=$PORT_node
authz_lua "$work/authz.lua"
rate=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/authz.lua" \
  "http://127.0.0.1:$port/v1/authz" | awk '/Requests\/sec/ {print $2}')
kill "$PID_node"
wait "$PID_node" 2>/dev/null || true
pids=()
records=$("$BIN" audit verify --dir "$work/log" | sed -n 's/^intact: \([0-9]*\) records.*/\1/p')
[ -n "$records" ] || { echo "audit verify failed"; exit 1; }
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')" >&2
printf 'node: %.0f decisions/s (sync log, wrk -c%s -d%s): %s records\n' "$rate" "$CONNECTIONS" "$DURATION" "$records" >&2

read -r pg_url pg_dir < <(tests/support/pg_harness.sh start $$)
# ship NAME URL: ships the log to a fresh store and prints the rate.
ship() {
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$BIN" audit ship --dir "$work/log" --store "$2" --node bench)
  t1=$(date +%s.%N)
  grep -q "shipped $records records" <<<"$out" || { echo "ship to $1: $out" >&2; exit 1; }
  awk -v name="$1" -v n="$records" -v t0="$t0" -v t1="$t1" -v r="$rate" 'BEGIN {
    t = t1 - t0
    printf "ship to %s: %d records in %.2f s = %.0f records/s; ship rate / decision rate %.2f (>= 1: a node at full load keeps up)\n", name, n, t, n / t, n / t / r
  }' >&2
}
ship postgresql "$pg_url"
ship sqlite "sqlite://$work/store.db"
