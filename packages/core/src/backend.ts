import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmConvGradients } from './wasmKernels.js';

/** The tfjs backends scorekit knows, best first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What {@link setupBackend} chose, and why each better backend was not used. */
export interface BackendReport {
  readonly name: BackendName;
  /** The package that provided a `tensorflow` backend (tfjs-node-gpu or tfjs-node). */
  readonly provider?: string;
  /** Native kernels registered on the wasm backend (`@scorekit/native`), e.g. "oneDNN 2.6.3". */
  readonly native?: string;
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /** A backend to use, or `'auto'` (default): tensorflow → wasm → cpu. */
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
    await tryNative(skipped);
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

let nativeVersion: string | undefined;

/** Registers `@scorekit/native`'s oneDNN kernels on wasm when that package's addon is built. */
async function tryNative(skipped: { name: string; reason: string }[]): Promise<void> {
  try {
    const specifier: string = '@scorekit/native'; // optional: absent or not built is fine
    const native = (await import(specifier)) as {
      registerNativeKernels(): { version: string };
    };
    nativeVersion = `oneDNN ${native.registerNativeKernels().version}`;
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    skipped.push({ name: 'native kernels', reason: msg ?? 'unavailable' });
  }
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
  const wanted = options.backend ?? 'auto';
  const skipped: { name: string; reason: string }[] = [];
  if (wanted === 'auto' || wanted === 'tensorflow') {
    const provider = await tryTensorflow(skipped);
    if (provider) return { name: 'tensorflow', provider, skipped };
    if (wanted === 'tensorflow')
      throw new Error(`backend 'tensorflow' unavailable: ${formatSkipped(skipped)}`);
  }
  if (wanted === 'auto' || wanted === 'wasm') {
    if (await tryWasm(skipped))
      return { name: 'wasm', skipped, ...(nativeVersion ? { native: nativeVersion } : {}) };
    if (wanted === 'wasm') throw new Error(`backend 'wasm' unavailable: ${formatSkipped(skipped)}`);
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
  return { name: 'cpu', skipped };
}

function formatSkipped(skipped: BackendReport['skipped']): string {
  return skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
}

/** A one-line description of a {@link BackendReport} for logs. */
export function describeBackend(report: BackendReport): string {
  const via = report.provider
    ? ` via ${report.provider}`
    : report.native
      ? ` + native kernels (${report.native})`
      : '';
  const why = report.skipped.length > 0 ? ` (skipped ${formatSkipped(report.skipped)})` : '';
  return `${report.name}${via}${why}`;
}
