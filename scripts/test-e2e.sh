#!/usr/bin/env bash
# End-to-end tests against a real n8n (test/e2e, jest.e2e.config.js): installs n8n into the cache
# outside the clone when it is not there yet, and Chromium for the editor test when it is missing,
# builds the package, runs the suites.
# Arguments go to jest, e.g. `npm run test:e2e -- -t 'community package'`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -d node_modules/jest ]; then
  npm ci --no-audit --no-fund
fi
N8N_BIN="$(bash scripts/install-n8n.sh | tail -n 1)"
export N8N_BIN
bash scripts/ensure-chromium.sh # the editor test drives Debian's chromium (apt-get, once per machine)
npm run build
exec node node_modules/jest/bin/jest.js --config jest.e2e.config.js "$@"
