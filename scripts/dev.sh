#!/usr/bin/env bash
# Installs, builds and starts the proxy. With no --config (and no SECURE_PROXY_CONFIG) it
# starts dev mode: an in-memory Vault-API store, a sample upstream and a fresh proxy token.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run build >&2
exec node proxy/dist/cli.js serve "$@"
