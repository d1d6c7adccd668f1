#!/usr/bin/env bash
# Try the proxy: installs and builds what the proxy needs, then starts it. With no --config
# (and no SECURE_PROXY_CONFIG) it starts dev mode: an in-memory Vault-API store, a sample
# upstream and a fresh proxy token. Arguments go to `secure-proxy serve`, e.g. --dev-port 0.
#
# Only the proxy and dev-mode workspaces are installed (not n8n's lint and test stack), and
# install and build are skipped when nothing they depend on changed, so a warm start takes
# seconds. `./scripts/test.sh` installs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh

# The packages the proxy and dev mode need resolve, from an install at least as new as the lockfile.
# shellcheck disable=SC2016 # the node script uses JavaScript template strings, not shell expansion
proxy_installed() {
  [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] &&
    node -e '
      const { existsSync, readFileSync } = require("node:fs");
      for (const workspace of ["proxy", "dev"]) {
        const manifest = JSON.parse(readFileSync(`${workspace}/package.json`, "utf8"));
        for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
          const installed = [`${workspace}/node_modules/${name}`, `node_modules/${name}`].some((dir) => existsSync(`${dir}/package.json`));
          if (!installed) process.exit(1);
        }
      }'
}

# Something the build reads is newer than the last build of that workspace.
needs_build() {
  local workspace="$1" stamp="$1/dist/.build-complete"
  [ ! -f "$stamp" ] || [ -n "$(find "$workspace/src" "$workspace/package.json" "$workspace/tsconfig.json" proxy/tsconfig.json -newer "$stamp" -print -quit)" ]
}

if ! proxy_installed; then
  echo "dev: installing the proxy's dependencies (npm ci for the proxy and dev workspaces)" >&2
  npm ci --no-audit --no-fund --workspace proxy --workspace dev >&2
fi
# dev mode builds on the proxy's library: when the proxy is rebuilt, so is dev mode.
if needs_build proxy; then
  echo "dev: building the proxy" >&2
  npm run --silent build --workspace proxy >&2
  touch proxy/dist/.build-complete
  rm -f dev/dist/.build-complete
fi
if needs_build dev; then
  echo "dev: building dev mode" >&2
  npm run --silent build --workspace dev >&2
  touch dev/dist/.build-complete
fi
exec node proxy/dist/cli.js serve "$@"
