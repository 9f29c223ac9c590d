#!/usr/bin/env bash
# Installs the software WebGPU adapter the `gpu` test project runs on, then checks that Dawn
# (npm package `webgpu`, an optional dependency) finds it. Idempotent; exits non-zero with the
# reason when a package cannot be installed or no adapter appears.
#
# The adapter: Mesa's llvmpipe (OpenGL ES 3.2 through EGL, no display: EGL_PLATFORM=surfaceless)
# under Dawn's OpenGL ES backend in compatibility mode. Debian 12's own lavapipe (Vulkan,
# Mesa 22.3) is refused by Dawn (missing shader*ArrayDynamicIndexing), so it is not used.
# libegl-dev is needed for the unversioned libEGL.so that Dawn dlopens. libvulkan1 is the
# Vulkan loader Dawn uses for real GPUs (harmless without one).
#
# Usage: scripts/ci/gpu.sh        (run from anywhere; needs root for apt, or the packages present)
set -euo pipefail

PACKAGES=(libegl1 libegl-dev libegl-mesa0 libgl1-mesa-dri libgles2 libvulkan1)
cd "$(dirname "$0")/../.."

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "gpu.sh: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "gpu.sh: FAILED: packages ${missing[*]} are missing and this is not root (apt-get needs root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/gpu-apt.log 2>&1; then
    apt-get update >>/tmp/gpu-apt.log 2>&1 || true
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/gpu-apt.log 2>&1; then
      echo "gpu.sh: FAILED: apt-get install ${missing[*]} (log: /tmp/gpu-apt.log)" >&2
      tail -n 20 /tmp/gpu-apt.log >&2
      exit 1
    fi
  fi
else
  echo "gpu.sh: packages present: ${PACKAGES[*]}"
fi

if [[ ! -f node_modules/webgpu/package.json || ! -f node_modules/@tensorflow/tfjs-backend-webgpu/package.json ]]; then
  echo "gpu.sh: FAILED: the optional npm packages webgpu and @tensorflow/tfjs-backend-webgpu are not installed (run npm ci)" >&2
  exit 1
fi

# Dawn must see an adapter through OpenGL ES (what the gpu test project uses).
if ! EGL_PLATFORM=surfaceless node --input-type=module -e "
  import { create } from 'webgpu';
  const a = await create(['backend=opengles']).requestAdapter({ featureLevel: 'compatibility' });
  if (!a) { console.error('no adapter'); process.exit(1); }
  console.log('gpu.sh: adapter: ' + [a.info.device, a.info.description].join(' / '));
" 2> >(grep -v '^Warning: maxDynamic' >&2); then
  echo "gpu.sh: FAILED: Dawn found no OpenGL ES adapter (check libEGL.so and Mesa's EGL: ${PACKAGES[*]})" >&2
  exit 1
fi
echo "gpu.sh: ok (the gpu test project runs with SCOREKIT_BACKEND=webgpu on this adapter)"
