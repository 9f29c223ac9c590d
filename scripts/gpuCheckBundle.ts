/**
 * `npm run gpu-check -- --bundle DIR`: a self-contained copy of the GPU check to carry to a GPU
 * server: DIR/gpu-check.mjs (scorekit, tfjs and the WebGPU backend bundled by esbuild), Dawn's
 * prebuilt DIR/dawn.node for this platform and tfjs's wasm binaries (the wasm comparison).
 * Runs with a bare `node DIR/gpu-check.mjs [--quick]`, no node_modules. Written atomically:
 * built in DIR.tmp-<pid>, then renamed.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The size limit of the bundle folder (Dawn alone is ≈ 21 MB on linux-x64). */
export const BUNDLE_LIMIT_BYTES = 40 * 1024 * 1024;

/** What {@link writeBundle} wrote. */
export interface BundleReport {
  readonly dir: string;
  readonly files: Record<string, number>;
  readonly totalBytes: number;
  readonly run: string;
}

/** Builds the bundle folder `dir` (replacing it); throws when it exceeds 40 MB. */
export async function writeBundle(dir: string): Promise<BundleReport> {
  const target = resolve(dir);
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const dawn = join(
    dirname(require.resolve('webgpu/package.json')),
    'dist',
    `${process.platform}-${arch}`,
    'dawn.node',
  );
  await build({
    entryPoints: [join(here, 'gpuCheck.ts')],
    outfile: join(tmp, 'gpu-check.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@scorekit/source'],
    // the optional packages are loaded from dawn.node next to the script, never imported
    external: [
      'webgpu',
      '@tensorflow/tfjs-node',
      '@tensorflow/tfjs-node-gpu',
      'esbuild',
      './gpuCheckBundle.js',
    ],
    banner: {
      // CommonJS dependencies (require, __dirname: tfjs-backend-wasm) inside an ES module bundle
      js: [
        "import { createRequire as __cr } from 'node:module';",
        "import { fileURLToPath as __fu } from 'node:url';",
        "import { dirname as __dn } from 'node:path';",
        'const require = __cr(import.meta.url);',
        'const __filename = __fu(import.meta.url);',
        'const __dirname = __dn(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
    legalComments: 'none',
  });
  await copyFile(dawn, join(tmp, 'dawn.node'));
  const wasmDist = join(
    dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
    'dist',
  );
  for (const f of await readdir(wasmDist))
    if (f.endsWith('.wasm')) await copyFile(join(wasmDist, f), join(tmp, f));
  const files: Record<string, number> = {};
  let totalBytes = 0;
  for (const f of await readdir(tmp)) {
    const size = (await stat(join(tmp, f))).size;
    files[f] = size;
    totalBytes += size;
  }
  if (totalBytes > BUNDLE_LIMIT_BYTES) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`--bundle: expected at most ${BUNDLE_LIMIT_BYTES} bytes, got ${totalBytes}`);
  }
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
  return { dir: target, files, totalBytes, run: `node ${join(target, 'gpu-check.mjs')} [--quick]` };
}
