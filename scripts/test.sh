#!/usr/bin/env bash
# Installs everything from the lockfile, builds, type-checks, runs n8n's community-node lint and
# scanner on the package, and runs the whole test suite.
# Works on a fresh machine with any Node.js + npm: Node 24 is provisioned when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
# eslint-plugin-n8n-nodes-base (n8n's lint rules) runs `npx only-allow pnpm` on install where npm
# runs install scripts; let npx fetch it without a prompt.
export npm_config_yes=true
npm ci --no-audit --no-fund
npm run build
npm run typecheck
npm run lint
npm run scan
npm test
