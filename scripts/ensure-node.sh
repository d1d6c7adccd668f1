# shellcheck shell=bash
# Sourced by the other scripts: puts Node.js 24 first on PATH.
# When the machine's node is older, a Node 24 binary is installed from the npm registry
# (package node-linux-<arch>) into a cache outside the clone, and reused next time.
# Works on a fresh machine that has any node + npm.
#
# Several scripts may start at once on an empty cache (CI jobs, a test run beside dev.sh):
# the install happens in a temporary folder under a lock and is renamed into place whole, so
# nobody ever runs a half-written binary ("Text file busy") and every caller ends up with the
# same finished install.

SECURE_PROXY_CACHE="${SECURE_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-secure-proxy}"
export SECURE_PROXY_CACHE

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Installs node-linux-$1@24 into $2 (a folder that does not hold a finished install yet).
install_node24() {
  local arch="$1" node_dir="$2" work
  work="$(mktemp -d "$node_dir.partial.XXXXXX")" && chmod 755 "$work" || return 1
  echo "ensure-node: installing Node 24 from the npm registry into $node_dir" >&2
  if ! npm install --prefix "$work" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@24" >&2; then
    rm -rf "$work"
    return 1
  fi
  if [ -x "$node_dir/node_modules/node-linux-$arch/bin/node" ]; then
    rm -rf "$work" # another installer finished first (only possible without flock)
    return 0
  fi
  # Whatever is at $node_dir now is a leftover of an interrupted install.
  rm -rf "$node_dir"
  mv -T "$work" "$node_dir" 2>/dev/null || rm -rf "$work"
}

if [ "$(node_major)" -lt 24 ]; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64 | arm64) node_arch=arm64 ;;
    *) echo "ensure-node: no Node 24 package for $(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  node_dir="$SECURE_PROXY_CACHE/node24-$node_arch"
  node_bin="$node_dir/node_modules/node-linux-$node_arch/bin"
  if [ ! -x "$node_bin/node" ]; then
    mkdir -p "$SECURE_PROXY_CACHE"
    # One installer at a time; the others wait, then find it done. Without flock (not Linux),
    # the rename alone still keeps a half-written binary out of reach.
    (
      if command -v flock >/dev/null; then flock 9; fi
      [ -x "$node_bin/node" ] || install_node24 "$node_arch" "$node_dir"
    ) 9>"$SECURE_PROXY_CACHE/.node24-$node_arch.lock" || return 1
  fi
  export PATH="$node_bin:$PATH"
fi
echo "ensure-node: using node $(node --version) at $(command -v node)" >&2
