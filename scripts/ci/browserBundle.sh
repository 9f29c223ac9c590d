#!/usr/bin/env bash
# Browser check of the scorekit libraries (issue 13): bundles each browser-safe entry point
# with esbuild for `--platform=browser` and fails on any import esbuild cannot resolve for a
# browser (a Node built-in such as node:fs, node:path, zlib …) or any other bundling error.
# Needs the packages built (`npx nx run-many -t build`): the bundles use their dist, as an
# application's bundler would. Node-only entries (`@scorekit/*/node`, training) are not checked.
# Usage: bash scripts/ci/browserBundle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ESBUILD=node_modules/.bin/esbuild
[ -x "$ESBUILD" ] || { echo "esbuild missing: npm ci (root devDependency esbuild)" >&2; exit 1; }
ENTRIES=(core losses samplers models datasets metrics)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failed=0
for p in "${ENTRIES[@]}"; do
  [ -f "packages/$p/dist/index.js" ] || { echo "packages/$p/dist missing: build first" >&2; exit 1; }
  entry="$TMP/entry-$p.js"
  echo "import * as m from '@scorekit/$p'; globalThis.scorekit = m;" >"$entry"
  # resolveDir: the repo root, so @scorekit/* resolve to the workspace packages.
  if "$ESBUILD" --bundle --platform=browser --format=esm --log-level=error --log-limit=0 \
    --outfile="$TMP/$p.js" <"$entry" --sourcefile="entry-$p.js" 2>"$TMP/$p.err"; then
    size=$(du -k "$TMP/$p.js" | cut -f1)
    echo "@scorekit/$p: browser bundle ok (${size} kB, tfjs-core included)"
  else
    echo "@scorekit/$p: browser bundle FAILED:" >&2
    cat "$TMP/$p.err" >&2
    failed=1
  fi
done
if [ $failed -ne 0 ]; then echo "browserBundle.sh: FAILED" >&2; exit 1; fi
echo "browserBundle.sh: every browser-safe entry bundles for --platform=browser"
