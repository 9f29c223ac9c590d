import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../gradients.js';
import { registerReductionGradients } from '../reductionGradients.js';
import { registerSecondOrderGradients } from '../secondOrder.js';
import { registerWasmConvGradients } from '../wasmKernels.js';
import { describeAdapter, tryWebgpu } from './webgpu.js';
import type { WebgpuAdapterReport } from './webgpuAdapter.js';

/** The tfjs backends scorekit knows, best first. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** A backend choice: one backend by name, or `'auto'` (the best one present). */
export type BackendChoice = BackendName | 'auto';

/** What {@link setupBackend} chose, and why each better backend was not used. */
export interface BackendReport {
  readonly name: BackendName;
  /** The package that provided a `tensorflow` backend (tfjs-node-gpu or tfjs-node). */
  readonly provider?: string;
  /** Native kernels registered on the wasm backend (`@scorekit/native`), e.g. "oneDNN 2.6.3". */
  readonly native?: string;
  /** The GPU adapter of a `webgpu` backend (vendor, architecture, description, limits). */
  readonly adapter?: WebgpuAdapterReport;
  /** Where the choice came from: the caller's option, `SCOREKIT_BACKEND`, or automatic. */
  readonly source: 'option' | 'SCOREKIT_BACKEND' | 'auto';
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /**
   * A backend to use, or `'auto'` (default): the backend named by `SCOREKIT_BACKEND` if that
   * is set, otherwise the best present (tensorflow → webgpu on a hardware adapter → wasm → cpu). A backend named here wins
   * over `SCOREKIT_BACKEND`.
   */
  readonly backend?: BackendChoice;
  /** The environment to read `SCOREKIT_BACKEND` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * The backend choice named by `SCOREKIT_BACKEND` in `env`, or `undefined` when it is unset or
 * empty. Throws a clear error naming the variable for any other value.
 */
export function backendFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): BackendChoice | undefined {
  const raw = env['SCOREKIT_BACKEND'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim().toLowerCase();
  if (!(CHOICES as readonly string[]).includes(value))
    throw new Error(
      `SCOREKIT_BACKEND: expected one of ${CHOICES.join(' | ')}, got ${JSON.stringify(raw)}`,
    );
  return value as BackendChoice;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

function firstLine(cause: unknown): string {
  return cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause);
}

async function tryTensorflow(skipped: { name: string; reason: string }[]): Promise<string | null> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // A non-literal specifier: these optional packages are usually absent.
      const specifier: string = pkg;
      await import(specifier);
      // tfjs-node loads the @tensorflow/tfjs umbrella, which re-registers tfjs's own gradients
      // over scorekit's second-order-safe ones: register ours again.
      registerSecondOrderGradients({ force: true });
      registerReductionGradients({ force: true });
      if (await tf.setBackend('tensorflow')) return pkg;
      skipped.push({
        name: pkg,
        reason: 'loaded, but the tensorflow backend failed to initialise',
      });
    } catch (cause) {
      skipped.push({
        name: pkg,
        reason: `not installed or its native library is missing (${firstLine(cause)})`,
      });
    }
  }
  return null;
}

async function tryWasm(skipped: { name: string; reason: string }[]): Promise<boolean> {
  try {
    const specifier: string = '@tensorflow/tfjs-backend-wasm';
    const wasm = (await import(specifier)) as { setWasmPaths(prefix: string): void };
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve(`${specifier}/package.json`));
    wasm.setWasmPaths(`${join(pkgDir, 'dist')}/`);
    registerWasmConvGradients();
    await tryNative(skipped);
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return true;
    }
    skipped.push({ name: 'wasm', reason: 'the wasm backend failed to initialise' });
  } catch (cause) {
    skipped.push({
      name: 'wasm',
      reason: `@tensorflow/tfjs-backend-wasm not installed or failed to load (${firstLine(cause)})`,
    });
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
    skipped.push({ name: 'native kernels', reason: firstLine(cause) || 'unavailable' });
  }
}

/**
 * Registers the pure-JS `cpu` backend from `@tensorflow/tfjs-backend-cpu` when it is installed
 * and not yet registered (it is the fallback, and tests compare other backends against it).
 * Returns why it is unavailable, or `null`.
 */
async function registerCpu(): Promise<string | null> {
  if (tf.findBackendFactory('cpu') !== null) return null;
  try {
    const specifier: string = '@tensorflow/tfjs-backend-cpu';
    await import(specifier);
    return null;
  } catch (cause) {
    return `install @tensorflow/tfjs-backend-cpu 4.22 (${firstLine(cause)})`;
  }
}

/**
 * Chooses and initialises a tfjs backend in Node: the named one, or the best one present —
 * `tensorflow` (from `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`), then `webgpu`
 * (the optional `webgpu` Dawn package, only on a hardware adapter when automatic), then `wasm`
 * (`@tensorflow/tfjs-backend-wasm`, SIMD; with scorekit's convolution-gradient kernels
 * registered), then the pure-JS `cpu` (`@tensorflow/tfjs-backend-cpu`, registered whenever it
 * is installed, as the fallback and the reference backend of tests). With `backend: 'auto'`
 * (the default) the environment variable `SCOREKIT_BACKEND=tensorflow|webgpu|wasm|cpu|auto` names the
 * backend. The backend packages are the application's dependencies; scorekit's libraries never
 * set a backend. Node only: import it from `@scorekit/core/node`.
 *
 * @example
 * ```ts
 * const report = await setupBackend();
 * console.log(describeBackend(report)); // "wasm (skipped @tensorflow/tfjs-node-gpu: …)"
 * ```
 */
export async function setupBackend(options: SetupBackendOptions = {}): Promise<BackendReport> {
  const fromEnv = backendFromEnv(options.env ?? process.env);
  const explicit = options.backend !== undefined && options.backend !== 'auto';
  const wanted: BackendChoice = explicit ? (options.backend as BackendName) : (fromEnv ?? 'auto');
  const source: BackendReport['source'] = explicit
    ? 'option'
    : fromEnv !== undefined && fromEnv !== 'auto'
      ? 'SCOREKIT_BACKEND'
      : 'auto';
  const skipped: { name: string; reason: string }[] = [];
  const cpuMissing = await registerCpu();
  if (wanted === 'auto' || wanted === 'tensorflow') {
    const provider = await tryTensorflow(skipped);
    if (provider) return { name: 'tensorflow', provider, source, skipped };
    if (wanted === 'tensorflow')
      throw new Error(`backend 'tensorflow' unavailable: ${formatSkipped(skipped)}`);
  }
  if (wanted === 'auto' || wanted === 'webgpu') {
    const adapter = await tryWebgpu(skipped, { requireHardware: wanted === 'auto' });
    if (adapter) return { name: 'webgpu', adapter, source, skipped };
    if (wanted === 'webgpu')
      throw new Error(`backend 'webgpu' unavailable: ${formatSkipped(skipped)}`);
  }
  if (wanted === 'auto' || wanted === 'wasm') {
    if (await tryWasm(skipped))
      return { name: 'wasm', source, skipped, ...(nativeVersion ? { native: nativeVersion } : {}) };
    if (wanted === 'wasm') throw new Error(`backend 'wasm' unavailable: ${formatSkipped(skipped)}`);
  }
  if (cpuMissing !== null) throw new Error(`backend 'cpu' unavailable: ${cpuMissing}`);
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  await tf.ready();
  return { name: 'cpu', source, skipped };
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
      : report.native
        ? ` + native kernels (${report.native})`
        : '';
  const from = report.source === 'SCOREKIT_BACKEND' ? ' (from SCOREKIT_BACKEND)' : '';
  const why = report.skipped.length > 0 ? ` (skipped ${formatSkipped(report.skipped)})` : '';
  return `${report.name}${via}${from}${why}`;
}
