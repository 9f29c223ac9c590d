/**
 * Helpers of the `gpu` test project: one WebGPU device per worker (a software adapter in CI),
 * and cross-backend comparisons that move data between backends only through async reads
 * (a synchronous read of GPU data is impossible in Node).
 */
import type { Params } from '@scorekit/core';
import { setupBackend, tryWebgpu } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';

const skipped: { name: string; reason: string }[] = [];
/** The adapter of this worker, or `null` when no WebGPU adapter is usable here. */
export const adapter = await tryWebgpu(skipped);
/** Why WebGPU is unavailable (for the one skipped test), or `''`. */
export const unavailable = adapter
  ? ''
  : `no WebGPU adapter: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')} ` +
    '(run scripts/ci/gpu.sh to install the software adapter)';

/**
 * Runs `fn` with `backend` current, then restores `webgpu`. wasm is set up on first use
 * (`setupBackend` registers only the backend it chooses).
 */
export async function onBackend<T>(
  backend: 'webgpu' | 'cpu' | 'wasm',
  fn: () => Promise<T>,
): Promise<T> {
  if (backend === 'wasm' && !tf.findBackendFactory('wasm')) await setupBackend({ backend });
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  try {
    return await fn();
  } finally {
    await tf.setBackend('webgpu');
  }
}

/** Plain arrays of named tensors, readable on any backend. */
export type Arrays = Record<string, { readonly shape: number[]; readonly values: Float32Array }>;

/** Reads named tensors (one await per tensor, none synchronous) and disposes them. */
export async function readAll(ts: Readonly<Record<string, tf.Tensor>>): Promise<Arrays> {
  const out: Arrays = {};
  for (const [name, t] of Object.entries(ts)) {
    out[name] = { shape: [...t.shape], values: (await t.data()) as Float32Array };
    t.dispose();
  }
  return out;
}

/** Tensors from {@link Arrays} on the current backend. */
export function tensorsOf(a: Arrays): Params {
  return Object.fromEntries(Object.entries(a).map(([n, v]) => [n, tf.tensor(v.values, v.shape)]));
}

/**
 * The largest difference between two sets of arrays, each relative to the largest magnitude of
 * its reference tensor, floored at 1e-3 × the largest magnitude of all of them (a gradient
 * that is zero in exact arithmetic, such as a bias before a batch norm, is pure round-off).
 */
export function relativeError(a: Arrays, b: Arrays): { worst: number; tensor: string } {
  const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const overall = Math.max(...Object.values(b).map((r) => maxAbs(r.values)));
  let worst = 0;
  let tensor = '';
  for (const [name, ref] of Object.entries(b)) {
    const got = a[name];
    if (!got) throw new Error(`relativeError: ${name} missing`);
    if (got.values.length !== ref.values.length)
      throw new Error(`relativeError: ${name} sizes differ`);
    let diff = 0;
    for (let i = 0; i < ref.values.length; i++)
      diff = Math.max(diff, Math.abs((got.values[i] as number) - (ref.values[i] as number)));
    const scale = Math.max(maxAbs(ref.values), 1e-3 * overall);
    const r = scale === 0 ? diff : diff / scale;
    if (!(r <= worst)) {
      worst = r;
      tensor = name;
    }
  }
  return { worst, tensor };
}

/**
 * The same computation on webgpu and on cpu from the same inputs: `compute` builds its tensors
 * from `inputs` (see {@link tensorsOf}) and returns named results; both sets are read and
 * compared with {@link relativeError}.
 */
export async function crossBackend(
  inputs: Arrays,
  compute: (inputs: Params) => Record<string, tf.Tensor>,
): Promise<{ gpu: Arrays; cpu: Arrays; worst: number; tensor: string }> {
  const run = async () => {
    const ins = tensorsOf(inputs);
    try {
      return await readAll(compute(ins));
    } finally {
      tf.dispose(Object.values(ins));
    }
  };
  const gpu = await run();
  const cpu = await onBackend('cpu', run);
  return { gpu, cpu, ...relativeError(gpu, cpu) };
}
