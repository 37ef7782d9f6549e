#!/usr/bin/env bash
# End-to-end gateway benchmark (issue 3), all on this machine, one run:
#   1. /v1/authz (eargate deciding a US person in the US) vs nginx `return 204`
#   2. eargate's OpenAI proxy vs nginx proxy_pass, both to the same upstream (an nginx
#      returning a fixed chat-completion JSON, so the upstream is not the bottleneck)
# Prints requests/s and p99 latency for each and the ratios (targets: authz >= 0.7 with p99
# < 2 ms at 32 connections; proxy >= 0.8).
#
#   bench/gateway_bench.sh [EARGATE_BIN]     env: DURATION=5s CONNECTIONS=32 THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${EARGATE_BIN:-build/release/apps/eargate/eargate}}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool (scripts/bootstrap)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$BIN" ] || { echo "no eargate binary at $BIN (build first)"; exit 1; }

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
worker_processes auto;
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
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)

"$BIN" serve --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UP_PORT" --threads 2 --log-level warn > "$tmp/eargate.out" 2> "$tmp/eargate.err" & pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/eargate.out" 2>/dev/null && break; sleep 0.1; done
EG_PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/eargate.out")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/authz" && break; sleep 0.1; done

cat > "$tmp/authz.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer sk-demo-us-person"
wrk.headers["X-Forwarded-For"] = "8.8.8.8"
wrk.headers["X-Eargate-Item"] = "mythos-5"
LUA
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

# run NAME URL SCRIPT -> "rps p99_ms"
run() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$2")
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-28s %10.0f req/s   p99 %7.3f ms%s\n' "$1" "$rps" "$p99" "${non2xx:+   non-2xx: $non2xx}" >&2
  echo "$rps $p99"
}
echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t$THREADS -c$CONNECTIONS -d$DURATION" >&2
read -r ng_authz ng_authz_p99 < <(run "nginx return 204" "http://127.0.0.1:$NG_PORT/authz" "$tmp/authz.lua")
read -r eg_authz eg_authz_p99 < <(run "eargate /v1/authz" "http://127.0.0.1:$EG_PORT/v1/authz" "$tmp/authz.lua")
read -r ng_proxy ng_proxy_p99 < <(run "nginx proxy_pass" "http://127.0.0.1:$NG_PORT/v1/chat/completions" "$tmp/chat.lua")
read -r eg_proxy eg_proxy_p99 < <(run "eargate proxy" "http://127.0.0.1:$EG_PORT/v1/chat/completions" "$tmp/chat.lua")
python3 - "$ng_authz" "$eg_authz" "$eg_authz_p99" "$ng_proxy" "$eg_proxy" <<'PY'
import sys
ng_a, eg_a, eg_a_p99, ng_p, eg_p = map(float, sys.argv[1:])
ra, rp = eg_a / ng_a, eg_p / ng_p
print(f"authz ratio  {ra:.2f} (target >= 0.70) {'ok' if ra >= 0.7 else 'BELOW'}; eargate p99 {eg_a_p99:.3f} ms (target < 2 ms) {'ok' if eg_a_p99 < 2 else 'ABOVE'}")
print(f"proxy ratio  {rp:.2f} (target >= 0.80) {'ok' if rp >= 0.8 else 'BELOW'}")
PY
