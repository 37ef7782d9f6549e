#!/usr/bin/env bash
# End-to-end gateway benchmark (issue 3), all on this machine, one run:
#   1. /v1/authz (eargate deciding a US person in the US) vs nginx `return 204`
#   2. eargate's OpenAI proxy vs nginx proxy_pass, both to the same upstream (an nginx
#      returning a fixed chat-completion JSON, so the upstream is not the bottleneck)
# Prints requests/s and p99 latency for each and the ratios (targets: authz >= 0.7 with p99
# < 2 ms at 32 connections; proxy >= 0.8). Also the CPU time each server spent per request
# (user+system, from /proc): on a machine shared with other work, throughput follows the
# background load, while CPU per request stays a property of the code.
#
# Two settings, one after the other (unless PIN is given):
#   shared  everything on all cores: the throughput ratios. Latency here includes the servers'
#           fight with wrk for the CPU (nginx's own p99 is several ms).
#   pinned  PIN=1:0: the servers on CPU 1, wrk on CPU 0 (taskset), as a load generator on
#           another machine would be: nginx gets one worker and eargate one I/O thread per
#           server CPU, wrk one thread per client CPU. The latency figure: what the server adds,
#           not the scheduler. The busy share of the client cores is printed: near 100 % means
#           wrk, not the server, limited the run, so its throughput ratio says little.
# PIN=SERVER_CPUS:CLIENT_CPUS runs just the pinned setting with those CPUs; PIN= (empty) just
# the shared one.
#
#   bench/gateway_bench.sh [EARGATE_BIN]     env: DURATION=5s CONNECTIONS=32 THREADS=2 GW_THREADS=2 RUNS=1 PIN=
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PIN+set}" ]; then
  echo "== shared: servers and wrk on all $(nproc) cores (throughput ratios)" >&2
  PIN= "$0" "$@"
  if [ "$(nproc)" -ge 2 ]; then
    echo "== pinned: servers on CPU 1, wrk on CPU 0 (server latency)" >&2
    PIN=1:0 "$0" "$@"
  fi
  exit 0
fi
BIN=${1:-${EARGATE_BIN:-build/release/apps/eargate/eargate}}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
RUNS=${RUNS:-1}
PIN=${PIN:-}
server_cpus=""; client_cpus=""; on_server=(); on_client=(); workers=auto
if [ -n "$PIN" ]; then
  [[ "$PIN" =~ ^([0-9,-]+):([0-9,-]+)$ ]] || { echo "PIN must be SERVER_CPUS:CLIENT_CPUS, e.g. 1:0"; exit 1; }
  server_cpus=${BASH_REMATCH[1]}; client_cpus=${BASH_REMATCH[2]}
  command -v taskset >/dev/null || { echo "missing taskset (util-linux)"; exit 1; }
  count_cpus() { python3 -c 'import sys; print(sum(int(b) - int(a) + 1 if "-" in r else 1 for r in sys.argv[1].split(",") for a, _, b in [r.partition("-")]))' "$1"; }
  workers=$(count_cpus "$server_cpus"); GW_THREADS=$workers; THREADS=$(count_cpus "$client_cpus")
  on_server=(taskset -c "$server_cpus"); on_client=(taskset -c "$client_cpus")
fi
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool (scripts/bootstrap)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
. bench/lib.sh
need_bin "$BIN"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NG_PORT=$(free_port); UP_PORT=$(free_port)
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"
cat > "$tmp/nginx.conf" <<CONF
$user_line
worker_processes $workers;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fcgi;
  uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  upstream model { server 127.0.0.1:$UP_PORT; keepalive 64; }
  server {   # the model server both proxies forward to
    listen 127.0.0.1:$UP_PORT;
    location / {
      default_type application/json;
      return 200 '{"id":"chatcmpl-bench","object":"chat.completion","created":1781000000,"model":"mythos-5","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the model."},"finish_reason":"stop"}]}';
    }
  }
  server {   # the baselines
    listen 127.0.0.1:$NG_PORT;
    location = /authz { return 204; }
    location /v1/ {
      proxy_pass http://model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
"${on_server[@]}" "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
nginx_master=$!

"${on_server[@]}" "$BIN" serve --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UP_PORT" --threads "${GW_THREADS:-2}" --log-level warn > "$tmp/eargate.out" 2> "$tmp/eargate.err" & pids+=($!)
eargate_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/eargate.out" 2>/dev/null && break; sleep 0.1; done
EG_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/eargate.out")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/authz" && break; sleep 0.1; done

authz_lua "$tmp/authz.lua"
cat > "$tmp/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"mythos-5","messages":[{"role":"user","content":"hi"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-demo-us-person"
wrk.headers["X-Forwarded-For"] = "8.8.8.8"
LUA

# Sanity: eargate allows what we measure.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-demo-us-person' \
  -H 'X-Forwarded-For: 8.8.8.8' -H 'X-Eargate-Item: mythos-5' "http://127.0.0.1:$EG_PORT/v1/authz")
[ "$code" = 200 ] || { echo "eargate authz answered $code, expected 200"; cat "$tmp/eargate.err"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-demo-us-person' -H 'X-Forwarded-For: 8.8.8.8' \
  -d '{"model":"mythos-5","messages":[]}' "http://127.0.0.1:$EG_PORT/v1/chat/completions")
[ "$code" = 200 ] || { echo "eargate proxy answered $code, expected 200"; cat "$tmp/eargate.err"; exit 1; }

# CPU ticks (user+system) used so far by the given processes.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
# nginx's workers (whose CPU the baselines count; for proxy_pass they also serve the upstream,
# as they do behind eargate, so the two proxy CPU figures are not comparable: eargate's is
# its own only).
nginx_workers() { pgrep -P "$nginx_master" | tr '\n' ' '; }

# Busy jiffies and all jiffies, summed over the client CPUs (/proc/stat).
client_jiffies() {
  python3 - "$client_cpus" <<'PY'
import sys
cpus = set()
for r in sys.argv[1].split(","):
    a, _, b = r.partition("-")
    cpus.update(range(int(a), int(b or a) + 1))
busy = total = 0
for line in open("/proc/stat"):
    f = line.split()
    if f[0].startswith("cpu") and f[0][3:].isdigit() and int(f[0][3:]) in cpus:
        v = list(map(int, f[1:8]))
        total += sum(v); busy += sum(v) - v[3] - v[4]
print(busy, total)
PY
}

# run NAME URL SCRIPT PIDS... -> "rps p99_ms cpu_us_per_request"
run() {
  local name=$1 url=$2 script=$3; shift 3
  local out t0 t1
  local c0=(0 0) c1=(0 0) client=""
  [ -z "$PIN" ] || read -ra c0 < <(client_jiffies)
  t0=$(ticks "$@")
  out=$("${on_client[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$url")
  t1=$(ticks "$@")
  if [ -n "$PIN" ]; then
    read -ra c1 < <(client_jiffies)
    client=$(awk -v b=$((c1[0] - c0[0])) -v t=$((c1[1] - c0[1])) 'BEGIN {printf "   client cores %3.0f%% busy", t ? 100 * b / t : 0}')
  fi
  local rps p99 non2xx total cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$total" 'BEGIN {printf "%.2f", n ? d / hz * 1e6 / n : 0}')
  printf '%-22s %8.0f req/s   p99 %7.3f ms   server CPU %5.2f us/req%s%s\n' "$name" "$rps" "$p99" "$cpu" \
    "$client" "${non2xx:+   non-2xx: $non2xx}" >&2
  echo "$rps $p99 $cpu"
}
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t$THREADS -c$CONNECTIONS -d$DURATION${PIN:+; servers on CPU $server_cpus (nginx $workers workers, eargate $GW_THREADS I/O threads), wrk on CPU $client_cpus}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$RUNS"); do
  [ "$RUNS" = 1 ] || echo "run $r (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  # shellcheck disable=SC2046
  read -r ng_authz ng_authz_p99 ng_authz_cpu < <(run "nginx return 204" "http://127.0.0.1:$NG_PORT/authz" "$tmp/authz.lua" $(nginx_workers))
  read -r eg_authz eg_authz_p99 eg_authz_cpu < <(run "eargate /v1/authz" "http://127.0.0.1:$EG_PORT/v1/authz" "$tmp/authz.lua" "$eargate_pid")
  # shellcheck disable=SC2046
  read -r ng_proxy ng_proxy_p99 ng_proxy_cpu < <(run "nginx proxy_pass" "http://127.0.0.1:$NG_PORT/v1/chat/completions" "$tmp/chat.lua" $(nginx_workers))
  read -r eg_proxy eg_proxy_p99 eg_proxy_cpu < <(run "eargate proxy" "http://127.0.0.1:$EG_PORT/v1/chat/completions" "$tmp/chat.lua" "$eargate_pid")
  python3 - "${PIN:+pinned}" "$ng_authz" "$eg_authz" "$eg_authz_p99" "$ng_proxy" "$eg_proxy" "$ng_authz_cpu" "$eg_authz_cpu" <<'PY'
import sys
pinned = sys.argv[1] == "pinned"
ng_a, eg_a, eg_a_p99, ng_p, eg_p, ng_a_cpu, eg_a_cpu = map(float, sys.argv[2:])
ra, rp = eg_a / ng_a, eg_p / ng_p
# Each setting judges what it measures: shared the throughput ratios, pinned the latency.
ratio_note = " (pinned: wrk may limit both; the shared setting judges ratios)" if pinned else ""
p99_note = "" if pinned else " (shared cores: includes the fight with wrk; the pinned setting judges p99)"
print(f"authz ratio  {ra:.2f} (target >= 0.70) {'ok' if ra >= 0.7 else 'BELOW'}{ratio_note}")
print(f"             eargate p99 {eg_a_p99:.3f} ms (target < 2 ms) {'ok' if eg_a_p99 < 2 else 'ABOVE'}{p99_note}")
print(f"             CPU per request: nginx / eargate = {ng_a_cpu / eg_a_cpu if eg_a_cpu else 0:.2f}")
print(f"proxy ratio  {rp:.2f} (target >= 0.80) {'ok' if rp >= 0.8 else 'BELOW'}{ratio_note}")
PY
done
