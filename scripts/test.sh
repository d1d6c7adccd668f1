#!/usr/bin/env bash
# Installs everything from the lockfile, builds, checks formatting, type-checks, lints (n8n's
# community-node rules on the package, type-checked rules on the proxy, dev mode, tests, bench
# and scripts), runs n8n's scanner on the package, runs the unit and integration suites, and
# runs the bench's smoke mode (a second per case: fails on errors, non-2xx, Vault calls per
# request or a body that does not stream, never on a speed ratio).
# Works on a fresh machine with any Node.js + npm: Node 24 is provisioned when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
npm ci --no-audit --no-fund
npm run build
npm run format:check
npm run typecheck
npm run lint
if command -v shellcheck >/dev/null; then npm run lint:shell; else echo 'test.sh: shellcheck is not installed; scripts/install-test-tools.sh installs it' >&2; fi
npm run scan
npm test
npm run bench:smoke
