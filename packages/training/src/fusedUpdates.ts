import * as tf from '@tensorflow/tfjs-core';
import {
  getBackend,
  getKernel,
  type KernelFunc,
  type NamedTensorMap,
  registerKernel,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Fused parameter updates: the whole Adam step (or EMA step) of every parameter tensor as one
 * tfjs kernel instead of 13 (or 3) per tensor. On a CPU backend a step of a model with a few
 * hundred parameter tensors otherwise spends more time dispatching thousands of small kernels
 * than computing. Each element goes through the same float32 operations in the same order as
 * the per-tensor ops (every product, sum, quotient and square root rounded to float32 with
 * `Math.fround`, which is exact for these operations), so the results are bit-identical to
 * them. Registered for the backends whose tensors can be read synchronously (cpu, wasm,
 * tensorflow); elsewhere (webgpu) the callers use the per-tensor ops.
 */
const adamKernelName = 'ScorekitAdamUpdate';
const emaKernelName = 'ScorekitEmaUpdate';
const hostBackends = ['cpu', 'wasm', 'tensorflow'] as const;

/** The part of a tfjs backend the fused kernels use: synchronous read and write. */
interface HostBackend {
  readSync(dataId: object): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
}

type KernelArgs = Parameters<KernelFunc>[0];

/** The scalars of one Adam step (see {@link fusedAdamUpdate}). */
export interface AdamStepScalars {
  readonly beta1: number;
  readonly beta2: number;
  /** lr_t / (1 − β1ᵗ). */
  readonly stepSize: number;
  /** √(1 − β2ᵗ). */
  readonly bc2Sqrt: number;
  readonly eps: number;
  readonly weightDecay: number;
}

function read(backend: HostBackend, t: TensorInfo, what: string): Float32Array {
  const values = backend.readSync(t.dataId);
  if (t.dtype !== 'float32' || !(values instanceof Float32Array))
    throw new TypeError(`${what}: expected float32 values, got ${t.dtype}`);
  return values;
}

function output(backend: HostBackend, values: Float32Array, shape: number[]): TensorInfo {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

const f = Math.fround;

function adamKernel({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const host = backend as unknown as HostBackend;
  const a = attrs as unknown as AdamStepScalars & { n: number; clipped: boolean };
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  const bc2 = f(a.bc2Sqrt);
  const eps = f(a.eps);
  const lr = f(a.stepSize);
  const wd = f(a.weightDecay);
  const coef = a.clipped ? read(host, inputs.coef as TensorInfo, 'adam: clip coefficient')[0]! : 1;
  const out: TensorInfo[] = [];
  for (let i = 0; i < a.n; i++) {
    const pInfo = inputs[`p${i}`] as TensorInfo;
    const p = read(host, pInfo, 'adam: parameter');
    const g = read(host, inputs[`g${i}`] as TensorInfo, 'adam: gradient');
    const m = read(host, inputs[`m${i}`] as TensorInfo, 'adam: exp_avg');
    const v = read(host, inputs[`v${i}`] as TensorInfo, 'adam: exp_avg_sq');
    const len = p.length;
    const pT = new Float32Array(len);
    const mT = new Float32Array(len);
    const vT = new Float32Array(len);
    for (let j = 0; j < len; j++) {
      let gj = g[j]!;
      if (a.clipped) gj = f(gj * coef);
      if (wd !== 0) gj = f(gj + f(p[j]! * wd));
      const mj = f(f(m[j]! * b1) + f(gj * c1));
      const vj = f(f(v[j]! * b2) + f(f(gj * gj) * c2));
      const denom = f(f(f(Math.sqrt(vj)) / bc2) + eps);
      pT[j] = f(p[j]! - f(f(mj / denom) * lr));
      mT[j] = mj;
      vT[j] = vj;
    }
    out.push(
      output(host, pT, pInfo.shape),
      output(host, mT, pInfo.shape),
      output(host, vT, pInfo.shape),
    );
  }
  return out;
}

function emaKernel({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const host = backend as unknown as HostBackend;
  const { n, oneMinusDecay } = attrs as unknown as { n: number; oneMinusDecay: number };
  const c = f(oneMinusDecay);
  const out: TensorInfo[] = [];
  for (let i = 0; i < n; i++) {
    const sInfo = inputs[`s${i}`] as TensorInfo;
    const s = read(host, sInfo, 'ema: shadow');
    const p = read(host, inputs[`p${i}`] as TensorInfo, 'ema: parameter');
    const sT = new Float32Array(s.length);
    for (let j = 0; j < s.length; j++) sT[j] = f(s[j]! - f(f(s[j]! - p[j]!) * c));
    out.push(output(host, sT, sInfo.shape));
  }
  return out;
}

/**
 * Every list in `others` has, at every i, a tensor of the shape of `first[i]` (the kernels read
 * that many elements of each).
 */
function sameShapes(
  fn: string,
  first: readonly tf.Tensor[],
  others: Record<string, readonly tf.Tensor[]>,
): void {
  for (const [name, list] of Object.entries(others)) {
    if (list.length !== first.length)
      throw new RangeError(`${fn}: expected ${first.length} ${name}, got ${list.length}`);
    list.forEach((t, i) => {
      if (t.shape.join() !== first[i]!.shape.join())
        throw new RangeError(
          `${fn}: ${name}[${i}] has shape [${t.shape}], expected [${first[i]!.shape}]`,
        );
    });
  }
}

let registered = false;

/**
 * Whether the fused updates run on `backendName` (default: the active backend): a backend whose
 * tensors can be read synchronously (cpu, wasm, tensorflow). Registers the kernels on first use.
 *
 * @example
 * ```ts
 * fusedUpdatesAvailable(); // true on wasm, false on webgpu
 * ```
 */
export function fusedUpdatesAvailable(backendName: string = getBackend()): boolean {
  if (!registered) {
    for (const host of hostBackends) {
      if (!getKernel(adamKernelName, host))
        registerKernel({ kernelName: adamKernelName, backendName: host, kernelFunc: adamKernel });
      if (!getKernel(emaKernelName, host))
        registerKernel({ kernelName: emaKernelName, backendName: host, kernelFunc: emaKernel });
    }
    registered = true;
  }
  return getKernel(adamKernelName, backendName) !== undefined;
}

/**
 * One Adam step (Kingma & Ba 2015, Alg. 1, as `torch.optim.Adam`) of every tensor as one kernel:
 * g ← g·coef (when `coef` is given: global-norm clipping), g ← g + weightDecay·θ,
 * m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², θ ← θ − stepSize · m / (√v / bc2Sqrt + eps).
 * Returns new tensors; bit-identical to those per-tensor ops. Needs {@link fusedUpdatesAvailable}.
 *
 * @example
 * ```ts
 * const { params, m, v } = fusedAdamUpdate([w], [dw], [m0], [v0], undefined, scalars);
 * ```
 */
export function fusedAdamUpdate(
  params: readonly tf.Tensor[],
  grads: readonly tf.Tensor[],
  m: readonly tf.Tensor[],
  v: readonly tf.Tensor[],
  coef: tf.Scalar | undefined,
  scalars: AdamStepScalars,
): { params: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[] } {
  sameShapes('fusedAdamUpdate', params, { grads, m, v });
  const inputs: NamedTensorMap = {};
  params.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`g${i}`] = grads[i]!;
    inputs[`m${i}`] = m[i]!;
    inputs[`v${i}`] = v[i]!;
  });
  if (coef) inputs.coef = coef;
  const attrs = { ...scalars, n: params.length, clipped: coef !== undefined };
  const out = tf.engine().runKernel(adamKernelName, inputs, attrs) as tf.Tensor[];
  return {
    params: params.map((_, i) => out[3 * i]!),
    m: params.map((_, i) => out[3 * i + 1]!),
    v: params.map((_, i) => out[3 * i + 2]!),
  };
}

/**
 * One EMA step of every tensor as one kernel: s ← s − (1 − decay)·(s − θ) (score_sde's
 * `ExponentialMovingAverage.update`); bit-identical to those per-tensor ops. Needs
 * {@link fusedUpdatesAvailable}.
 *
 * @example
 * ```ts
 * const [s1] = fusedEmaUpdate([s0], [w], 0.001);
 * ```
 */
export function fusedEmaUpdate(
  shadows: readonly tf.Tensor[],
  params: readonly tf.Tensor[],
  oneMinusDecay: number,
): tf.Tensor[] {
  sameShapes('fusedEmaUpdate', shadows, { params });
  const inputs: NamedTensorMap = {};
  shadows.forEach((s, i) => {
    inputs[`s${i}`] = s;
    inputs[`p${i}`] = params[i]!;
  });
  return tf.engine().runKernel(emaKernelName, inputs, {
    n: shadows.length,
    oneMinusDecay,
  }) as tf.Tensor[];
}
