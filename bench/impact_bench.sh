#!/usr/bin/env bash
# Impact over 10,000,000 synthetic people (issue 6), with wall time and peak memory, and its
# throughput as a ratio to single-policy batch decide measured in the same run.
#   bench/impact_bench.sh [BUILD_DIR] [PEOPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
people=${2:-10000000}
eg="$build/apps/eargate/eargate"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/gen_requests" 1000000 42 > "$tmp/requests.jsonl"
now() { date +%s.%N; }
t0=$(now)
"$eg" decide --policy examples/policies/letter.yaml --batch "$tmp/requests.jsonl" > /dev/null
t1=$(now)
/usr/bin/time -f "%e %M" -o "$tmp/time" "$eg" impact --before examples/policies/advisory-opinions.yaml \
  --after examples/policies/letter.yaml --people "synth:$people:1" --items mythos-5 \
  --at 2026-07-01T00:00:00Z --max-changed 0 > "$tmp/impact.txt"
read -r secs kb < "$tmp/time"
head -4 "$tmp/impact.txt" | tail -1
awk -v b="$(echo "$t1 - $t0" | bc)" -v s="$secs" -v kb="$kb" -v n="$people" 'BEGIN {
  printf "impact: %d people x 1 item x 2 policies in %.2f s (target < 10 s), peak memory %.0f MB\n", n, s, kb/1024;
  printf "  %.0f pairs/s; single-policy batch decide in this run: %.0f lines/s; ratio %.2f\n", n/s, 1e6/b, (n/s)/(1e6/b);
}'
