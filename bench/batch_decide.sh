#!/usr/bin/env bash
# End-to-end: `eargate decide --batch` on a generated file of one million requests, timed in
# this script against a baseline in the same script (reading and writing the same bytes with
# `cat`, the I/O floor).
#   bench/batch_decide.sh [BUILD_DIR] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
count=${2:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/gen_requests" "$count" 42 > "$tmp/requests.jsonl"
bytes=$(stat -c %s "$tmp/requests.jsonl")
now() { date +%s.%N; }
t0=$(now); cat "$tmp/requests.jsonl" > "$tmp/copy.jsonl"; t1=$(now)
"$build/apps/eargate/eargate" decide --policy examples/policies/letter.yaml --batch "$tmp/requests.jsonl" > "$tmp/decisions.jsonl"
t2=$(now)
lines=$(wc -l < "$tmp/decisions.jsonl")
errors=$(grep -c '^{"error"' "$tmp/decisions.jsonl" || true)
awk -v n="$count" -v l="$lines" -v e="$errors" -v b="$bytes" -v c="$(echo "$t1 - $t0" | bc)" -v d="$(echo "$t2 - $t1" | bc)" 'BEGIN {
  printf "batch decide: %d requests (%.0f MB) -> %d decisions, %d errors\n", n, b/1e6, l, e;
  printf "  eargate decide --batch: %.2f s = %.0f lines/s (%.2fx the 300,000/s target)\n", d, n/d, n/d/3e5;
  printf "  baseline cat (I/O floor): %.2f s = %.0f lines/s; decide runs at %.3f of it\n", c, n/c, (n/d)/(n/c);
}'
