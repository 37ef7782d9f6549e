#!/usr/bin/env bash
# Opens the impact HTML report in a real headless Chromium and checks the summary numbers the
# browser renders (known answers for tests/report/five.jsonl: advisory opinions -> letter).
#   html_report_test.sh EARGATE_BINARY SOURCE_DIR
set -euo pipefail
eg=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "FAIL: chromium is not installed (scripts/bootstrap installs it)"
  exit 1
fi
"$eg" impact --before "$src/examples/policies/advisory-opinions.yaml" --after "$src/examples/policies/letter.yaml" \
  --people "$src/tests/report/five.jsonl" --items mythos-5 --at 2026-07-01T00:00:00Z --format html --out "$tmp/report.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$tmp/profile" --dump-dom "file://$tmp/report.html" \
  > "$tmp/dom.html" 2> "$tmp/chromium.log"
pass=0
fail=0
check() {
  if grep -q -F -- "$1" "$tmp/dom.html"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "missing in rendered DOM: $1"; fi
}
check '<td class="num" id="people">5</td>'
check '<td class="num" id="pairs">5</td>'
check '<td class="num" id="changed">3</td>'
check '<td class="num" id="t-allow-deny">3</td>'
check 'US-person status unverified'
check 'verify US-person status'
check '<svg'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
