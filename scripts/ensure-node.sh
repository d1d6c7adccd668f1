# Sourced by the other scripts: puts Node.js 24 first on PATH.
# When the machine's node is older, a Node 24 binary is installed from the npm registry
# (package node-linux-<arch>) into a cache outside the clone, and reused next time.
# Works on a fresh machine that has any node + npm.

SECURE_PROXY_CACHE="${SECURE_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-secure-proxy}"
export SECURE_PROXY_CACHE

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 24 ]; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64 | arm64) node_arch=arm64 ;;
    *) echo "ensure-node: no Node 24 package for $(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  node_dir="$SECURE_PROXY_CACHE/node24-$node_arch"
  node_bin="$node_dir/node_modules/node-linux-$node_arch/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "ensure-node: installing Node 24 from the npm registry into $node_dir" >&2
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund "node-linux-$node_arch@24" >&2 || return 1
  fi
  export PATH="$node_bin:$PATH"
fi
echo "ensure-node: using node $(node --version) at $(command -v node)" >&2
