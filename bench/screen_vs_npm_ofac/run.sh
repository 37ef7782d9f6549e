#!/usr/bin/env bash
# Side by side: eargate screening vs the npm package `ofac` (1.0.21, exact first/last-name
# equality against OFAC's SDN XML) on the same data and the same queries.
#
#   bench/screen_vs_npm_ofac/run.sh [EARGATE_BINARY] [SHARED_SCREENING_DIR]
#
# Data: SDN 2024-05 sdn.csv + 2025-12 alt.csv from the shared folder; the package reads OFAC's
# XML, so an XML with the same individuals and aliases is written from the CSV (the package's
# own download is not used). Queries: SDN individuals of tests/screening/derived_labelled.csv
# `reorder` (full listed name), and heldout_labelled.csv `middle_dropped` / `chimera_person`.
# Needs node + npm (the npm registry). Prints per-kind correct counts and wall times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/build/dev/apps/eargate/eargate}"
shared="${2:-$root/../shared/data/screening}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent ofac@1.0.21 >/dev/null
python3 "$here/prepare.py" "$shared" "$root/tests/screening" "$work"
start=$(date +%s.%N)
"$bin" screen --list "$shared/ofac_sdn_2024-05-03/sdn.csv" --list "$shared/ofac_sdn_aux_2025-12/alt.csv" \
  --limit 10 --batch "$work/qs.jsonl" > "$work/eg_out.jsonl"
eg_s=$(echo "$(date +%s.%N) - $start" | bc)
node "$here/run.js" "$work"
echo "eargate: $(wc -l < "$work/qs.jsonl") queries in ${eg_s} s (lists loaded and indexed included)"
python3 "$here/score.py" "$work"
