// Builds the oneDNN addon (build/scorekit_native.node) when oneDNN's headers and library and a
// C++ compiler are present; otherwise says why and exits 0, so `npm ci` never fails on a
// machine without them (scorekit then runs on plain wasm). `--required` (scripts/ci/native.sh,
// `npm run build:addon`) makes a missing prerequisite or a failed build an error.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const required = process.argv.includes('--required');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'scorekit_native.node');

function skip(reason) {
  const msg = `@scorekit/native: not built (${reason}); scorekit will use plain wasm kernels. For native kernels: apt-get install -y libdnnl-dev g++, then npm run build:addon -w @scorekit/native`;
  if (required) {
    console.error(msg);
    process.exit(1);
  }
  console.log(msg);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`platform ${process.platform}`);
const header = [
  '/usr/include/oneapi/dnnl/dnnl.hpp',
  '/usr/local/include/oneapi/dnnl/dnnl.hpp',
].find(existsSync);
if (!header) skip('oneDNN headers (oneapi/dnnl/dnnl.hpp) not found');
const nodeInclude = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].find((d) => d && existsSync(join(d, 'node_api.h')));
if (!nodeInclude) skip('Node-API headers (node_api.h) not found');
const cxx = process.env.CXX ?? 'g++';
try {
  execFileSync(cxx, ['--version'], { stdio: 'ignore' });
} catch {
  skip(`no C++ compiler (${cxx})`);
}
mkdirSync(join(root, 'build'), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const incDnnl = dirname(dirname(dirname(header)));
try {
  execFileSync(
    cxx,
    [
      '-O3',
      '-std=c++17',
      '-shared',
      '-fPIC',
      '-fopenmp',
      '-DNODE_GYP_MODULE_NAME=scorekit_native',
      `-I${nodeInclude}`,
      `-I${incDnnl}`,
      join(root, 'src', 'addon.cc'),
      '-ldnnl',
      '-o',
      tmp,
    ],
    { stdio: 'inherit' },
  );
  renameSync(tmp, out); // atomic: a half-written addon is never loaded
  console.log(`@scorekit/native: built ${out}`);
} catch (e) {
  skip(`compiling src/addon.cc failed: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
}
