#!/usr/bin/env bash
# What the decision log costs the gateway (issue 5): /v1/authz throughput with the log in
# `sync` mode (an answer only after its record is fdatasync'ed; group commit) as a ratio of the
# same run without a log (target >= 0.8), and with `async` for reference. Three gateways (no
# log, sync, async) run side by side with the same settings. At every connection count wrk
# drives each in turn for DURATION, ROUNDS times, the order rotating from round to round; each
# round gives a paired ratio, and the summary is their median and range. (This VM's host
# changes speed by 20-30 % over tens of seconds: short paired runs compare like with like,
# where one long run per gateway compared whatever the host did at the time.)
# Each run also reports the gateway's own CPU time per request (user + system, from
# /proc/PID/stat): what the log costs the server, apart from wrk's share of the two cores.
# At the end, each gateway's capacity: its highest rate over the connection counts (a server's
# throughput is the most it serves, at whatever load that takes; a closed loop's rate at one
# connection count also measures the clients' waiting), and the sync/no-log ratio of
# capacities, both of the medians and round by round (in round r, each gateway's best rate
# over the connection counts: paired, as the runs of a round are close in time).
# A sync run is bounded by the disk: with C connections each waiting for its record's
# fdatasync, throughput <= C / fdatasync latency, so the script samples fdatasync latency on the
# log's filesystem during the sync runs (and before and after) and prints that bound as well,
# then the sync gateway's own syncs from /metrics: records per sync and their durations.
#
#   bench/gateway_audit_bench.sh [EARGATE_BIN]
#   env: DURATION=2s ROUNDS=5 CONNECTIONS="32 64 128 256 512 1024 2048" THREADS=2 GW_THREADS=2
#        AUDIT_TMP=/var/tmp
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${EARGATE_BIN:-build/release/apps/eargate/eargate}}
DURATION=${DURATION:-2s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-32 64 128 256 512 1024 2048}
THREADS=${THREADS:-2}
GW_THREADS=${GW_THREADS:-2}
AUDIT_TMP=${AUDIT_TMP:-/var/tmp}
. bench/lib.sh
need_tools wrk curl python3
need_bin "$BIN"

tmp=$(mktemp -d)
logs=$(mktemp -d "$AUDIT_TMP/eargate-audit-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp" "$logs"
}
trap cleanup EXIT

# fdatasync latency of 1 KiB appends on the log's filesystem: "p50 p90 p99" in ms. With an
# argument: sample every 10 ms for that many seconds (alongside a run) instead of 300 at once.
fsync_probe() {
  python3 - "$logs/probe.$$.${1:-0}" "${1:-0}" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
ts, during = [], float(sys.argv[2])
end = time.monotonic() + during
while (len(ts) < 300) if during == 0 else (time.monotonic() < end):
    os.write(fd, b"x" * 1024)
    t = time.perf_counter(); os.fdatasync(fd); ts.append((time.perf_counter() - t) * 1e3)
    if during: time.sleep(0.01)
os.close(fd); os.unlink(sys.argv[1])
ts.sort()
q = lambda p: ts[min(len(ts) - 1, int(len(ts) * p))]
print(f"{q(0.5):.3f} {q(0.9):.3f} {q(0.99):.3f}")
PY
}
SECONDS_PER_RUN=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)([smh]?)', sys.argv[1]); print(int(m[1]) * {'':1,'s':1,'m':60,'h':3600}[m[2]])" "$DURATION")

# The background verification (a minute after start, reading the whole log) is a daily job
# with its own cost, not the request path's: off here.
start_gateway nolog "$tmp"
start_gateway sync "$tmp" --audit-dir "$logs/sync" --audit-durability sync --audit-verify-interval-minutes 0
start_gateway async "$tmp" --audit-dir "$logs/async" --audit-durability async --audit-verify-interval-minutes 0
authz_lua "$tmp/authz.lua"

# The gateway's CPU time so far (user + system, clock ticks).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# run LABEL PORT CONNECTIONS PID -> "rps p99_ms cpu_us_per_request"
run() {
  local out rps p99 non2xx t0 t1 reqs cpu
  t0=$(cpu_ticks "$4")
  out=$(wrk -t"$THREADS" -c"$3" -d"$DURATION" --latency -s "$tmp/authz.lua" "http://127.0.0.1:$2/v1/authz")
  t1=$(cpu_ticks "$4")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$TICK" 'BEGIN {printf "%.2f", (n > 0 ? d / hz * 1e6 / n : 0)}')
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '  %-22s %10.0f req/s   p99 %8.3f ms   server CPU %6.2f µs/req%s\n' "$1" "$rps" "$p99" "$cpu" \
    "${non2xx:+   non-2xx: $non2xx}" >&2
  echo "$rps $p99 $cpu"
}

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "log filesystem: $(df -T "$logs" | awk 'NR==2 {print $1, $2}'); wrk -t$THREADS -d$DURATION; gateway --threads $GW_THREADS" >&2
read -r f50 f90 f99 < <(fsync_probe)
echo "fdatasync (1 KiB appends, idle): p50 $f50 ms  p90 $f90 ms  p99 $f99 ms" >&2
echo "ROUNDS=$ROUNDS rounds of wrk -d$DURATION per gateway and connection count" >&2
# The sync gateway's own figures: its syncs by duration (a histogram), records and syncs.
log_figures() {
  curl -fsS "http://127.0.0.1:$PORT_sync/metrics" |
    grep -E '^eargate_audit_(sync_duration_seconds_bucket|syncs_total|records_total|sync_seconds_total)'
}
for c in $CONNECTIONS; do
  echo "-c$c" >&2
  : > "$tmp/rounds"
  log_figures > "$tmp/figures0.$c"
  for r in $(seq "$ROUNDS"); do
    names=(nolog sync async)
    declare -A rps=() cpu=()
    for k in 0 1 2; do
      name=${names[$(( (k + r - 1) % 3 ))]}
      if [ "$name" = sync ]; then
        fsync_probe "$SECONDS_PER_RUN" >> "$tmp/probe.$c" & probe_pid=$!
      fi
      port_var=PORT_$name pid_var=PID_$name
      read -r rps[$name] _ cpu[$name] < <(run "round $r $name" "${!port_var}" "$c" "${!pid_var}")
      [ "$name" = sync ] && wait "$probe_pid"
    done
    echo "${rps[nolog]} ${rps[sync]} ${rps[async]} ${cpu[nolog]} ${cpu[sync]} ${cpu[async]}" >> "$tmp/rounds"
    echo "$c $r ${rps[nolog]} ${rps[sync]} ${rps[async]}" >> "$tmp/all_rounds"
  done
  log_figures > "$tmp/figures1.$c"
  python3 - "$c" "$tmp/rounds" "$tmp/probe.$c" "$tmp/figures0.$c" "$tmp/figures1.$c" <<'PY'
import re, statistics, sys
c = int(sys.argv[1])
rounds = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
probes = [list(map(float, l.split())) for l in open(sys.argv[3]) if l.strip()]
sync_r = [x[1] / x[0] for x in rounds]
async_r = [x[2] / x[0] for x in rounds]
med = statistics.median
r = med(sync_r)
print(f"  no log {med([x[0] for x in rounds]):.0f}, sync {med([x[1] for x in rounds]):.0f}, "
      f"async {med([x[2] for x in rounds]):.0f} req/s (medians of {len(rounds)} rounds)")
print(f"  sync/no-log ratio {r:.2f} (median; rounds {min(sync_r):.2f}..{max(sync_r):.2f})"
      f" (target >= 0.80) {'ok' if r >= 0.8 else 'BELOW'}; async/no-log {med(async_r):.2f}"
      f" ({min(async_r):.2f}..{max(async_r):.2f})")
print(f"  server CPU per request: no log {med([x[3] for x in rounds]):.2f}, sync {med([x[4] for x in rounds]):.2f},"
      f" async {med([x[5] for x in rounds]):.2f} µs (medians; what the log costs the gateway itself)")
d50, d90 = med([p[0] for p in probes]), med([p[1] for p in probes])
sync = med([x[1] for x in rounds])
print(f"  fdatasync during the sync runs: p50 {d50:.3f} ms, p90 {d90:.3f} ms; each request waits for one,"
      f" so sync <= {c} / fdatasync = {c / max(d90, 1e-3) * 1e3:.0f} (p90) .. {c / max(d50, 1e-3) * 1e3:.0f} (p50) req/s;"
      f" measured {c / sync * 1e3:.3f} ms per request")
def figures(path):
    f = {}
    for line in open(path):
        name, value = line.rsplit(None, 1)
        f[name] = float(value)
    return f
f0, f1 = figures(sys.argv[4]), figures(sys.argv[5])
delta = {k: f1[k] - f0.get(k, 0) for k in f1}
syncs = delta.get("eargate_audit_syncs_total", 0)
if syncs > 0:
    buckets = sorted((float(re.search(r'le="([^"]+)"', k)[1]), v) for k, v in delta.items()
                     if k.startswith("eargate_audit_sync_duration_seconds_bucket"))
    def pct(q):  # the bucket bound that q of the syncs stayed within
        for bound, n in buckets:
            if n >= q * syncs: return f"<= {bound * 1e3:g} ms" if bound != float("inf") else "> last bound"
    print(f"  the sync gateway's own syncs: {syncs:.0f}, {delta['eargate_audit_records_total'] / syncs:.1f} records each,"
          f" mean {delta['eargate_audit_sync_seconds_total'] / syncs * 1e3:.3f} ms;"
          f" p50 {pct(0.5)}, p90 {pct(0.9)}, p99 {pct(0.99)} (eargate_audit_sync_duration_seconds)")
PY
done
echo "capacity (each gateway's highest rate over -c${CONNECTIONS// /, -c}):"
python3 - "$tmp/all_rounds" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)  # (connections, round) -> rates by gateway
for line in open(sys.argv[1]):
    c, r, *rates = line.split()
    runs[int(c), int(r)] = dict(zip(("nolog", "sync", "async"), map(float, rates)))
conns = sorted({c for c, _ in runs})
rounds = sorted({r for _, r in runs})
med = statistics.median
peak = {}
for g in ("nolog", "sync", "async"):
    by_c = {c: med(runs[c, r][g] for r in rounds) for c in conns}
    best = max(by_c, key=by_c.get)
    peak[g] = by_c[best]
    print(f"  {g:>5}: {peak[g]:.0f} req/s at -c{best} (median of {len(rounds)} rounds)")
for g in ("sync", "async"):
    paired = [max(runs[c, r][g] for c in conns) / max(runs[c, r]["nolog"] for c in conns) for r in rounds]
    mark = (" (target >= 0.80) " + ("ok" if peak[g] / peak["nolog"] >= 0.8 and med(paired) >= 0.8 else "BELOW")
            if g == "sync" else "")
    print(f"  {g}/no-log capacity ratio {peak[g] / peak['nolog']:.2f} (of the medians);"
          f" round by round {med(paired):.2f} ({min(paired):.2f}..{max(paired):.2f}){mark}")
PY
read -r f50 f90 f99 < <(fsync_probe)
echo "fdatasync (after the runs): p50 $f50 ms  p90 $f90 ms  p99 $f99 ms" >&2
for name in sync async; do
  out=$("$BIN" audit verify --dir "$logs/$name" 2>&1) || { echo "audit verify ($name) failed: $out"; exit 1; }
  echo "$name log: $(tail -1 <<<"$out")" >&2
done
