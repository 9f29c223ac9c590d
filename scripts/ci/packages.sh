#!/usr/bin/env bash
# Consumer check of the scorekit library packages (issue 13): needs the packages built
# (`npx nx run-many -t build`) and the npm registry (for tfjs-core, arktype, fp-ts …).
# For every library package it
#   1. `npm pack`s it and checks the tarball (exports' files, README, map sources, no tests),
#   2. installs that tarball with the tarballs of its scorekit dependencies into an empty
#      project and prints the installed footprint (du of node_modules),
#   3. imports each of its entry points from a plain Node ESM script,
#   4. type-checks a consumer of each entry point with tsc, NodeNext and Bundler resolution.
# Any failure fails the script. Usage: bash scripts/ci/packages.sh [package …]
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
TF=4.22.0
PACKAGES=("$@")
[ ${#PACKAGES[@]} -gt 0 ] || PACKAGES=(core losses samplers models datasets metrics training)
# scorekit dependencies of each package (transitive), from its package.json.
sk_deps() {
  node -e '
    const seen = new Set();
    const visit = (n) => {
      const d = require(`./packages/${n}/package.json`).dependencies ?? {};
      for (const k of Object.keys(d)) if (k.startsWith("@scorekit/")) {
        const m = k.slice(10); if (!seen.has(m)) { seen.add(m); visit(m); } }
    };
    visit(process.argv[1]); console.log([...seen].join(" "));' "$1"
}
# entry points (export subpaths) of a package, e.g. ". ./node".
entries() { node -e 'console.log(Object.keys(require(`./packages/${process.argv[1]}/package.json`).exports).join(" "))' "$1"; }
spec() { [ "$2" = "." ] && echo "@scorekit/$1" || echo "@scorekit/$1/${2#./}"; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/tarballs"
for p in core losses samplers models datasets metrics training; do
  [ -f "packages/$p/dist/index.js" ] || { echo "packages/$p/dist missing: build first (npx nx run-many -t build)" >&2; exit 1; }
  (npm pack -w "@scorekit/$p" --pack-destination "$TMP/tarballs" --silent >/dev/null)
done
TSC="$REPO/node_modules/.bin/tsc"
failed=0
declare -A FOOTPRINT
for p in "${PACKAGES[@]}"; do
  echo "=== @scorekit/$p"
  dir="$TMP/consumer-$p"
  mkdir -p "$dir/unpacked"
  tar xzf "$TMP/tarballs/scorekit-$p-0.1.0.tgz" -C "$dir/unpacked"
  node --import tsx "$REPO/scripts/checkTarball.ts" "$dir/unpacked/package" || failed=1
  tgz=("$TMP/tarballs/scorekit-$p-0.1.0.tgz")
  for d in $(sk_deps "$p"); do tgz+=("$TMP/tarballs/scorekit-$d-0.1.0.tgz"); done
  echo '{ "name": "consumer", "private": true, "type": "module" }' >"$dir/package.json"
  (cd "$dir" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "${tgz[@]}") || { echo "@scorekit/$p: npm install failed" >&2; failed=1; continue; }
  FOOTPRINT[$p]=$(du -sm "$dir/node_modules" | cut -f1)
  echo "@scorekit/$p: installed footprint ${FOOTPRINT[$p]} MB ($(ls "$dir/node_modules/@tensorflow" | tr '\n' ' '))"
  # What an application adds: a backend, and the optional peers of the Node entries.
  extra=("@tensorflow/tfjs-backend-cpu@$TF" "@types/node@20")
  [ "$p" = metrics ] && extra+=("@tensorflow/tfjs-converter@$TF" "@tensorflow/tfjs-layers@$TF")
  (cd "$dir" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error --no-save "${extra[@]}" "${tgz[@]}") || { failed=1; continue; }
  : >"$dir/consumer.ts"
  i=0
  for e in $(entries "$p"); do
    s=$(spec "$p" "$e")
    # plain Node ESM: the built JavaScript, no loader, no custom condition.
    if (cd "$dir" && node --input-type=module -e "const m = await import('$s'); if (Object.keys(m).length === 0) throw new Error('no exports'); console.log('import $s: ' + Object.keys(m).length + ' exports');"); then :; else echo "$s: plain Node ESM import failed" >&2; failed=1; fi
    echo "import * as m$i from '$s'; export const n$i: number = Object.keys(m$i).length;" >>"$dir/consumer.ts"
    i=$((i + 1))
  done
  for mode in nodenext bundler; do
    if [ $mode = nodenext ]; then opts='"module": "nodenext", "moduleResolution": "nodenext"'; else opts='"module": "esnext", "moduleResolution": "bundler"'; fi
    echo "{ \"compilerOptions\": { $opts, \"target\": \"es2022\", \"lib\": [\"es2023\", \"dom\"], \"strict\": true, \"noEmit\": true, \"skipLibCheck\": false, \"types\": [\"node\", \"long\"] }, \"files\": [\"consumer.ts\"] }" >"$dir/tsconfig.$mode.json"
    if (cd "$dir" && "$TSC" -p "tsconfig.$mode.json"); then echo "tsc ($mode): ok"; else echo "@scorekit/$p: tsc ($mode) failed" >&2; failed=1; fi
  done
  if [ "$p" = core ]; then
    # tfjs's gradients are registered without the @tensorflow/tfjs umbrella, to second order.
    (cd "$dir" && node --input-type=module -e "
      import * as tf from '@tensorflow/tfjs-core';
      import { logSoftmax } from '@scorekit/core';
      import { setupBackend, describeBackend } from '@scorekit/core/node';
      const r = await setupBackend({ backend: 'cpu' });
      const f = (x) => tf.sum(tf.mul(tf.tanh(x), logSoftmax(x)));
      const g2 = tf.grad((x) => tf.sum(tf.grad(f)(x)))(tf.tensor1d([0.1, -0.5, 2]));
      const v = g2.dataSync();
      if (!v.every(Number.isFinite)) throw new Error('second-order gradient not finite');
      console.log('core: ' + describeBackend(r) + ', second-order gradient ok: ' + Array.from(v).map((x) => x.toFixed(4)).join(' '));
      if (typeof tf.scalar(2).square !== 'function') throw new Error('chained ops not registered');
    ") || { echo "core: gradient check failed" >&2; failed=1; }
  fi
done
echo "=== installed footprint (node_modules of an empty project + the package's tarballs)"
for p in "${PACKAGES[@]}"; do echo "@scorekit/$p: ${FOOTPRINT[$p]:-?} MB"; done
if [ $failed -ne 0 ]; then echo "packages.sh: FAILED" >&2; exit 1; fi
echo "packages.sh: all packages install, import and type-check"
