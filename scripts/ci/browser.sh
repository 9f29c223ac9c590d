#!/usr/bin/env bash
# Installs Debian's Chromium for the playground's end-to-end test (examples/playground/src/
# e2e.test.ts drives /usr/bin/chromium with playwright-core; no browser is downloaded).
# Idempotent: does nothing when Chromium already runs. Needs root (apt-get).
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "browser.sh: $("$CHROMIUM" --version) already installed at $CHROMIUM"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "browser.sh: Chromium missing at $CHROMIUM and not root: run as root (apt-get install -y chromium)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends chromium >/dev/null || {
    echo "browser.sh: apt-get install chromium failed" >&2
    exit 1
  }
fi

if ! "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "browser.sh: installed the chromium package but $CHROMIUM does not run" >&2
  exit 1
fi
echo "browser.sh: installed $("$CHROMIUM" --version) at $CHROMIUM"
