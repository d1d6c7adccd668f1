#!/usr/bin/env bash
# Installs the Debian packages the test suites use beside Node.js, when they are missing:
# zsh and fish (dev mode's printed commands must work in them as printed) and shellcheck
# (lints the scripts). Needs apt-get and root, as on a CI machine; elsewhere it names what
# is missing and the suites that need it skip those cases.
set -euo pipefail

packages=()
for tool in zsh fish shellcheck; do
  command -v "$tool" >/dev/null || packages+=("$tool")
done
[ "${#packages[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-tools: missing ${packages[*]}; install them with your package manager (tests that need them are skipped)" >&2
  exit 0
fi
echo "install-test-tools: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null
}
