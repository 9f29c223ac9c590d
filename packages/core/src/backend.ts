import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describeAdapter, tryWebgpu, type WebgpuAdapterReport } from './node/webgpu.js';
import { registerWasmConvGradients } from './wasmKernels.js';

/** The tfjs backends scorekit knows, best first. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** What {@link setupBackend} chose, and why each better backend was not used. */
export interface BackendReport {
  readonly name: BackendName;
  /** The package that provided a `tensorflow` backend (tfjs-node-gpu or tfjs-node). */
  readonly provider?: string;
  /** The GPU adapter of a `webgpu` backend (vendor, architecture, description, limits). */
  readonly adapter?: WebgpuAdapterReport;
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /**
   * A backend to use, or `'auto'` (default; `SCOREKIT_BACKEND` overrides it): tensorflow →
   * webgpu on a hardware adapter → wasm → cpu.
   */
  readonly backend?: BackendName | 'auto';
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

async function tryTensorflow(skipped: { name: string; reason: string }[]): Promise<string | null> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // A non-literal specifier: these optional packages are usually absent.
      const specifier: string = pkg;
      await import(specifier);
      if (await tf.setBackend('tensorflow')) return pkg;
      skipped.push({
        name: pkg,
        reason: 'loaded, but the tensorflow backend failed to initialise',
      });
    } catch (cause) {
      const msg = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
      skipped.push({
        name: pkg,
        reason: `not installed or its native library is missing (${msg})`,
      });
    }
  }
  return null;
}

async function tryWasm(skipped: { name: string; reason: string }[]): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(`${join(pkgDir, 'dist')}/`);
    registerWasmConvGradients();
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return true;
    }
    skipped.push({ name: 'wasm', reason: 'the wasm backend failed to initialise' });
  } catch (cause) {
    skipped.push({ name: 'wasm', reason: cause instanceof Error ? cause.message : String(cause) });
  }
  return false;
}

/**
 * Chooses and initialises a tfjs backend: the named one, or the best one present —
 * `tensorflow` (from `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`), then `wasm`
 * (SIMD; with scorekit's convolution-gradient kernels registered), then the pure-JS `cpu`.
 * For examples, benchmarks and tests only: library code never sets a backend.
 *
 * @example
 * ```ts
 * const report = await setupBackend();
 * console.log(describeBackend(report)); // "wasm (tensorflow unavailable: …)"
 * ```
 */
export async function setupBackend(options: SetupBackendOptions = {}): Promise<BackendReport> {
  await import('@tensorflow/tfjs'); // registers the gradients and the cpu backend
  const wanted = resolveWanted(options.backend);
  const skipped: { name: string; reason: string }[] = [];
  if (wanted === 'auto' || wanted === 'tensorflow') {
    const provider = await tryTensorflow(skipped);
    if (provider) return { name: 'tensorflow', provider, skipped };
    if (wanted === 'tensorflow')
      throw new Error(`backend 'tensorflow' unavailable: ${formatSkipped(skipped)}`);
  }
  if (wanted === 'auto' || wanted === 'webgpu') {
    const adapter = await tryWebgpu(skipped, { requireHardware: wanted === 'auto' });
    if (adapter) return { name: 'webgpu', adapter, skipped };
    if (wanted === 'webgpu')
      throw new Error(`backend 'webgpu' unavailable: ${formatSkipped(skipped)}`);
  }
  if (wanted === 'auto' || wanted === 'wasm') {
    if (await tryWasm(skipped)) return { name: 'wasm', skipped };
    if (wanted === 'wasm') throw new Error(`backend 'wasm' unavailable: ${formatSkipped(skipped)}`);
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
  return { name: 'cpu', skipped };
}

const BACKEND_NAMES: readonly string[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** `auto` yields to `SCOREKIT_BACKEND` when that is set. */
function resolveWanted(backend: BackendName | 'auto' | undefined): BackendName | 'auto' {
  if (backend !== undefined && backend !== 'auto') return backend;
  const env = process.env['SCOREKIT_BACKEND'];
  if (env === undefined || env === '') return 'auto';
  if (!BACKEND_NAMES.includes(env))
    throw new Error(`SCOREKIT_BACKEND: expected one of ${BACKEND_NAMES.join(', ')}, got '${env}'`);
  return env as BackendName | 'auto';
}

function formatSkipped(skipped: BackendReport['skipped']): string {
  return skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
}

/** A one-line description of a {@link BackendReport} for logs. */
export function describeBackend(report: BackendReport): string {
  const via = report.provider
    ? ` via ${report.provider}`
    : report.adapter
      ? ` on ${describeAdapter(report.adapter)}`
      : '';
  const why = report.skipped.length > 0 ? ` (skipped ${formatSkipped(report.skipped)})` : '';
  return `${report.name}${via}${why}`;
}
