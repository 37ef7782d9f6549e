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
need_tools wrk
need_bin "$BIN"

work=$(mktemp -d "$AUDIT_TMP/eargate-ship-bench.XXXXXX")
gw=""
pg_dir=""
cleanup() {
  [ -n "$gw" ] && kill "$gw" 2>/dev/null || true
  [ -n "$pg_dir" ] && tests/support/pg_harness.sh stop "$pg_dir" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN" serve --listen 127.0.0.1:0 --threads "$GW_THREADS" --log-level warn \
  --audit-dir "$work/log" --audit-durability sync > "$work/gw.out" 2> "$work/gw.err" &
gw=$!
for _ in $(seq 100); do grep -q listening "$work/gw.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/gw.out")
[ -n "$port" ] || { echo "eargate did not start"; cat "$work/gw.err"; exit 1; }
cat > "$work/authz.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer sk-demo-us-person"
wrk.headers["X-Forwarded-For"] = "8.8.8.8"
wrk.headers["X-Eargate-Item"] = "mythos-5"
LUA
rate=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/authz.lua" \
  "http://127.0.0.1:$port/v1/authz" | awk '/Requests\/sec/ {print $2}')
kill "$gw"
wait "$gw" 2>/dev/null || true
gw=""
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
