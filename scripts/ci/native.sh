#!/usr/bin/env bash
# Native CPU kernels for CI (issue 15): installs oneDNN (Debian libdnnl-dev) and a C++
# compiler if missing, then (re)builds @scorekit/native's addon, failing clearly if it cannot.
# Idempotent. Afterwards setupBackend reports "wasm + native kernels (oneDNN 2.6.3)" and the
# `native` vitest project checks every native kernel against the cpu backend.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || need+=(libdnnl-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ "${#need[@]}" -gt 0 ]; then
  echo "native.sh: apt-get install -y ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" \
    || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; } \
    || { echo "native.sh: could not install ${need[*]}" >&2; exit 1; }
fi
node packages/native/scripts/install.mjs --required
node -e "
const a = require('./packages/native/build/scorekit_native.node');
console.log('native.sh: addon loads, oneDNN ' + a.version() + ', ' + a.getThreads() + ' threads');
"
