#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the editor test (test/e2e/editor.test.ts),
# which drives it with playwright-core. Playwright never downloads a browser here: the test launches
# this one. Does nothing when it is there; otherwise installs the `chromium` package with apt-get
# (as root, or through sudo when that works without a password).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: $CHROMIUM is missing and there is no apt-get; install Chromium there yourself" >&2
  exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "ensure-chromium: $CHROMIUM is missing; run as root: apt-get install -y chromium" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing Debian's chromium package (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
"$CHROMIUM" --version >&2
