#!/usr/bin/env bash
# The real parts the test suite uses, installed when missing (idempotent; a no-op taking a
# second or two when everything is present). Run by `npm test` (its `pretest` script) and by
# .ci/run. As root it installs Debian packages with apt; otherwise it says what is missing and
# goes on (the tests that need a missing part then fail or skip, naming it).
#   - oneDNN (libdnnl-dev) + @scorekit/native's addon   scripts/ci/native.sh
#   - Mesa's software WebGPU adapter (EGL/GLES)          scripts/ci/gpu.sh
#   - Debian's Chromium (playground browser test)        scripts/ci/browser.sh
#   - redis-server (queue tests start their own)         scripts/ci/redis.sh install
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${SCOREKIT_SKIP_SETUP:-}" = 1 ]; then exit 0; fi
root=0
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && root=1

missing=()
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] && [ -f packages/native/build/scorekit_native.node ] || missing+=(native)
for p in libegl1 libegl-dev libegl-mesa0 libgl1-mesa-dri libgles2 libvulkan1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || { missing+=(gpu); break; }
done
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(browser)
command -v redis-server >/dev/null 2>&1 || missing+=(redis)

if [ "${#missing[@]}" = 0 ]; then exit 0; fi
if [ "$root" = 0 ]; then
  echo "setup.sh: missing ${missing[*]} and not root with apt-get: run 'sudo bash scripts/ci/setup.sh' (tests needing them will fail or skip, naming what is missing)" >&2
  exit 0
fi
status=0
for part in "${missing[@]}"; do
  case "$part" in
    native) bash scripts/ci/native.sh || status=1 ;;
    gpu) bash scripts/ci/gpu.sh || status=1 ;;
    browser) bash scripts/ci/browser.sh || status=1 ;;
    redis) bash scripts/ci/redis.sh install || status=1 ;;
  esac
done
exit "$status"
