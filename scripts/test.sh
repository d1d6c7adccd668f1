#!/usr/bin/env bash
# Installs everything from the lockfile, builds, type-checks and runs the whole test suite.
# Works on a fresh machine with any Node.js + npm: Node 24 is provisioned when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
npm ci --no-audit --no-fund
npm run build
npm run typecheck
npm test
