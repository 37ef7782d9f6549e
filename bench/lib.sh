# Shared by the bench scripts (sourced): checks that stop a run early with what to install.

# need_tools TOOL...: each on PATH, or exit naming the first missing one.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap)"; exit 1; }
  done
}

# need_bin PATH: an executable eargate binary there, or exit.
need_bin() {
  [ -x "$1" ] || { echo "no eargate binary at $1 (build first)"; exit 1; }
}

# authz_lua FILE: a wrk script for /v1/authz as the sample US person (examples/people).
authz_lua() {
  cat > "$1" <<'LUA'
wrk.headers["Authorization"] = "Bearer sk-demo-us-person"
wrk.headers["X-Forwarded-For"] = "8.8.8.8"
wrk.headers["X-Eargate-Item"] = "mythos-5"
LUA
}

# start_gateway NAME DIR [serve flags...]: starts "$BIN serve" on a free port with
# $GW_THREADS threads (output in DIR/NAME.out, .err), checks that /v1/authz allows the sample
# US person, and sets PID_<NAME> and PORT_<NAME>. The pid is added to the caller's array
# `pids` (for its cleanup) at once.
start_gateway() {
  local name=$1 dir=$2; shift 2
  "$BIN" serve --listen 127.0.0.1:0 --threads "$GW_THREADS" --log-level warn "$@" \
    > "$dir/$name.out" 2> "$dir/$name.err" &
  pids+=("$!")
  printf -v "PID_$name" '%s' "$!"
  for _ in $(seq 100); do grep -q listening "$dir/$name.out" 2>/dev/null && break; sleep 0.1; done
  local port code
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/$name.out")
  [ -n "$port" ] || { echo "eargate ($name) did not start"; cat "$dir/$name.err"; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-demo-us-person' \
    -H 'X-Forwarded-For: 8.8.8.8' -H 'X-Eargate-Item: mythos-5' "http://127.0.0.1:$port/v1/authz")
  [ "$code" = 200 ] || { echo "eargate ($name) authz answered $code, expected 200"; cat "$dir/$name.err"; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
}
