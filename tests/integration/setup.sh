#!/usr/bin/env bash
# Installs the integration tests' npm dependencies (the real `openai` client) from the
# committed package-lock.json into tests/integration/node_modules (gitignored). Skips the
# install when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
   [ -d node_modules/openai ]; then
  echo "integration setup: node_modules up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "integration setup: installed $(node -p "require('./node_modules/openai/package.json').version" 2>/dev/null || echo '?') openai"
