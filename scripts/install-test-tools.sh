#!/usr/bin/env bash
# Installs the Debian packages the test suites use beside Node.js, when they are missing:
# zsh and fish (dev mode's printed commands must work in them as printed), shellcheck
# (lints the scripts) and systemd (systemd-analyze verifies deploy/systemd's unit). Needs
# apt-get and root, as on a CI machine; elsewhere it names what is missing and the suites
# that need it skip those cases. kubectl (which renders deploy/kubernetes with its kustomize)
# is not installed from here: Debian's kubernetes-client carries kustomize v2, too old for
# the kustomization format, so scripts/validate-deploy.mjs uses a kubectl the machine has
# (with kustomize v4 or newer) and otherwise says that rendering was skipped.
set -euo pipefail

packages=()
for tool in zsh fish shellcheck systemd-analyze; do
  package="$tool"
  [ "$tool" = systemd-analyze ] && package=systemd
  command -v "$tool" >/dev/null || packages+=("$package")
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
