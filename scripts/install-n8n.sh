#!/usr/bin/env bash
# Installs the n8n that the end-to-end tests run against into a cache outside the clone, once.
# Prints the path of the n8n command as the last line on stdout; everything else goes to stderr.
#
#   N8N_BIN="$(bash scripts/install-n8n.sh | tail -n1)"
#
# Works on a fresh machine with node/npm, python3, make and g++ and only the npm registry:
# - `--ignore-scripts`: an optional Kafka dependency of n8n downloads sources from the internet
#   in its install script and fails offline; n8n needs none of the other install scripts.
# - sqlite3 (n8n's default database driver) is then built from source against the headers of the
#   Node.js that runs n8n; prebuilt binaries would come from GitHub, which we cannot reach.
# A marker file is written only after everything succeeded; an install without it is redone.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh

N8N_VERSION=2.41.1 # the one place the n8n version for tests and CI is pinned

dest="$SECURE_PROXY_CACHE/n8n-$N8N_VERSION"
marker="$dest/.install-complete"
n8n_bin="$dest/node_modules/.bin/n8n"
node_version="$(node --version)"
# sqlite3 is a Node-API addon: one build serves every Node.js of the same major version.
stamp="n8n@$N8N_VERSION node@$(node -p 'process.versions.node.split(".")[0]')"

installed_ok() { [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -x "$n8n_bin" ]; }

# Prints a directory whose include/node holds the headers of the running Node.js (npm's
# `nodedir`). Official Node builds and the node-linux-<arch> npm package ship them beside bin/;
# otherwise the matching node-linux-<arch> package is fetched from the npm registry for them.
node_headers_dir() {
  local prefix major
  prefix="$(dirname "$(dirname "$(node -p 'require("fs").realpathSync(process.execPath)')")")"
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if grep -qs "define NODE_MAJOR_VERSION $major\$" "$prefix/include/node/node_version.h"; then
    echo "$prefix"
    return
  fi
  local arch headers
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "install-n8n: no Node.js headers for $(uname -m); set npm_config_nodedir yourself" >&2; return 1 ;;
  esac
  headers="$SECURE_PROXY_CACHE/node-headers-$node_version"
  if [ ! -f "$headers/node_modules/node-linux-$arch/include/node/node.h" ]; then
    echo "install-n8n: fetching Node.js $node_version headers (node-linux-$arch) into $headers" >&2
    npm install --prefix "$headers" --no-save --no-audit --no-fund --ignore-scripts "node-linux-$arch@${node_version#v}" >&2
  fi
  echo "$headers/node_modules/node-linux-$arch"
}

install_n8n() {
  local work="$dest.partial.$$"
  rm -rf "$dest".partial.* # left by interrupted runs; we hold the lock
  mkdir -p "$work"
  trap 'rm -rf "$work"' EXIT
  echo '{ "name": "n8n-for-tests", "private": true }' >"$work/package.json"

  echo "install-n8n: installing n8n@$N8N_VERSION into $dest (takes a few minutes the first time)" >&2
  (cd "$work" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "n8n@$N8N_VERSION") >&2

  local nodedir
  nodedir="$(node_headers_dir)"
  echo "install-n8n: building sqlite3 against $nodedir/include/node" >&2
  (cd "$work" && npm_config_nodedir="$nodedir" npm_config_build_from_source=true \
    npm rebuild sqlite3 --foreground-scripts --loglevel=error) >&2
  (cd "$work" && node -e 'new (require("sqlite3").Database)(":memory:").close()') >&2

  # Swap the finished install in; a leftover without the marker is from an interrupted run.
  rm -rf "$dest"
  mv "$work" "$dest"
  trap - EXIT
  echo "$stamp" >"$marker"
}

if installed_ok; then
  echo "install-n8n: n8n@$N8N_VERSION already installed in $dest" >&2
else
  mkdir -p "$SECURE_PROXY_CACHE"
  # One install at a time; a second caller waits and then finds it done.
  exec 9>"$SECURE_PROXY_CACHE/.n8n-install.lock"
  if command -v flock >/dev/null; then flock 9; fi
  installed_ok || install_n8n
fi
"$n8n_bin" --version >&2
echo "$n8n_bin"
