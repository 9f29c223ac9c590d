import { key, matMulTransposesAreFree, normal } from '@scorekit/core';
import { describeBackend } from '@scorekit/core/node';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  defaultNativeThreads,
  loadAddon,
  nativeKernelCalls,
  registerNativeKernels,
} from './index.js';

const status = loadAddon();
const onWasm = tf.getBackend() === 'wasm';
const skipReason = !status.available
  ? `native addon not built: ${status.reason}`
  : !onWasm
    ? `backend is ${tf.getBackend()}, not wasm`
    : undefined;
if (skipReason) console.warn(`@scorekit/native kernel tests skipped — ${skipReason}`);

/** Runs `f` on the cpu backend (the reference), then restores the backend. */
async function onCpu<T>(f: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

function expectClose(got: number[], want: number[], tol: number): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(1, ...want.map(Math.abs));
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]!)));
  expect(worst / scale).toBeLessThan(tol);
}

type ConvCase = {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  dilation?: number;
};
const convCases: ConvCase[] = [
  { name: '3×3 stride 1 same', x: [2, 6, 6, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3×3 stride 2 same, odd size', x: [2, 7, 7, 2], w: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '1×1 stride 2', x: [3, 6, 6, 4], w: [1, 1, 4, 2], stride: 2, pad: 'same' },
  { name: '3×3 stride 2 valid', x: [2, 8, 8, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  {
    name: '3×3 explicit pads',
    x: [2, 5, 6, 2],
    w: [3, 3, 2, 3],
    stride: 1,
    pad: [
      [0, 0],
      [1, 0],
      [2, 1],
      [0, 0],
    ],
  },
];

/**
 * y = conv(x, W); first order: ∂/∂x, ∂/∂W of Σ tanh(y)·c; second order (the DLSM pattern,
 * Chao et al. 2022 eq. 10): ∂/∂W of ‖∂/∂x Σ tanh(y)·c‖². Exercises Conv2D and both backprops,
 * and their gradients.
 */
function convOrders(c: ConvCase): number[][] {
  return tf.tidy(() => {
    const x = normal(key(1), c.x) as tf.Tensor4D;
    const w = tf.mul(normal(key(2), c.w), 0.3) as tf.Tensor4D;
    const y0 = tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
    const coef = normal(key(3), y0.shape);
    const f = (xx: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.tanh(
            tf.conv2d(
              xx as tf.Tensor4D,
              ww as tf.Tensor4D,
              c.stride,
              c.pad,
              'NHWC',
              c.dilation ?? 1,
            ),
          ),
          coef,
        ),
      );
    const [dx, dW] = tf.grads(f)([x, w]);
    const dWdx = tf.grad((ww: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((xx: tf.Tensor) => f(xx, ww))(x))),
    )(w);
    return [y0, dx!, dW!, dWdx].map((t) => Array.from(t.dataSync()));
  });
}

type MatCase = { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean };
const matCases: MatCase[] = [
  { name: '2-D', a: [5, 4], b: [4, 3], ta: false, tb: false },
  { name: '2-D, both transposed', a: [4, 5], b: [3, 4], ta: true, tb: true },
  { name: 'batched, a transposed', a: [3, 4, 5], b: [3, 4, 2], ta: true, tb: false },
  { name: 'batched, b transposed', a: [2, 3, 5, 4], b: [2, 3, 6, 4], ta: false, tb: true },
];

/** c = op(a)·op(b); first order and a second-order term ∂/∂b ‖∂/∂a Σ sin(c)‖². */
function matOrders(c: MatCase): number[][] {
  return tf.tidy(() => {
    const a = normal(key(4), c.a);
    const b = normal(key(5), c.b);
    const f = (aa: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.sin(tf.matMul(aa, bb, c.ta, c.tb)));
    const [da, db] = tf.grads(f)([a, b]);
    const dbda = tf.grad((bb: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((aa: tf.Tensor) => f(aa, bb))(a))),
    )(b);
    return [tf.matMul(a, b, c.ta, c.tb), da!, db!, dbda].map((t) => Array.from(t.dataSync()));
  });
}

type BinaryCase = { name: string; a: number[]; b: number[] };
const binaryCases: BinaryCase[] = [
  { name: 'same shape', a: [3, 5, 4], b: [3, 5, 4] },
  { name: 'a bias over the last axis (batch norm, dense)', a: [2, 3, 3, 4], b: [4] },
  { name: 'per-sample scalars ([B,1,1,1], the σ weighting)', a: [3, 1, 1, 1], b: [3, 2, 2, 5] },
  { name: 'both broadcast ([B,1,C] ⊙ [1,H,1])', a: [2, 1, 4], b: [1, 3, 1] },
  { name: 'a scalar', a: [], b: [4, 3] },
];

/**
 * f(a, b) = Σ sin(a⊙b)·c for ⊙ ∈ {+, −, ×, ÷}; first order ∂/∂a, ∂/∂b (tfjs sums the
 * broadcast dimensions back with Sum) and a second-order term ∂/∂b ‖∂/∂a f‖².
 */
function binaryOrders(c: BinaryCase): number[][] {
  return tf.tidy(() => {
    const a = normal(key(10), c.a);
    // away from 0, so ÷ is well conditioned
    const b0 = normal(key(11), c.b);
    const b = tf.add(tf.mul(tf.sign(b0), 0.5), b0);
    const out: number[][] = [];
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) {
      const y0 = op(a, b);
      const coef = normal(key(12), y0.shape);
      const f = (aa: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.sin(op(aa, bb)), coef));
      const [da, db] = tf.grads(f)([a, b]);
      const dbda = tf.grad((bb: tf.Tensor) =>
        tf.sum(tf.square(tf.grad((aa: tf.Tensor) => f(aa, bb))(a))),
      )(b);
      out.push(...[y0, da!, db!, dbda].map((t) => Array.from(t.dataSync())));
    }
    return out;
  });
}

type ReduceCase = { name: string; shape: number[]; axis: number | number[]; keepDims: boolean };
const reduceCases: ReduceCase[] = [
  {
    name: 'leading axes (a conv bias gradient)',
    shape: [2, 3, 3, 4],
    axis: [0, 1, 2],
    keepDims: false,
  },
  {
    name: 'middle axes, kept (group-norm moments)',
    shape: [2, 3, 4, 5],
    axis: [1, 2],
    keepDims: true,
  },
  { name: 'the last axis', shape: [3, 7], axis: -1, keepDims: false },
  {
    name: 'alternating axes (group norm over H, W, C/G)',
    shape: [2, 3, 2, 2, 3],
    axis: [1, 2, 4],
    keepDims: true,
  },
  { name: 'every axis', shape: [2, 3, 4], axis: [0, 1, 2], keepDims: false },
];

/** Σ and mean over the case's axes; first order and a second-order term through exp. */
function reduceOrders(c: ReduceCase): number[][] {
  return tf.tidy(() => {
    const x = normal(key(13), c.shape);
    const out: number[][] = [];
    for (const op of [tf.sum, tf.mean]) {
      const y0 = op(x, c.axis, c.keepDims);
      const coef = normal(key(14), y0.shape);
      const f = (xx: tf.Tensor) =>
        tf.sum(tf.mul(tf.sin(op(tf.exp(tf.mul(xx, 0.3)), c.axis, c.keepDims)), coef));
      const dx = tf.grad(f)(x);
      const ddx = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(xx))))(x);
      out.push(...[y0, dx, ddx].map((t) => Array.from(t.dataSync())));
    }
    return out;
  });
}

describe.skipIf(skipReason !== undefined)(
  'native oneDNN kernels on wasm, against the cpu backend',
  () => {
    beforeAll(() => {
      // setupBackend registered them already; this is idempotent and checks they are on
      const r = registerNativeKernels();
      expect(r.kernels).toEqual([
        'Conv2D',
        'Conv2DBackpropInput',
        'Conv2DBackpropFilter',
        'BatchMatMul',
        'Add',
        'Sub',
        'Multiply',
        'RealDiv',
        'Sum',
        'Mean',
        'ScorekitAdamUpdate',
        'ScorekitEmaUpdate',
      ]);
    });

    for (const c of binaryCases)
      it(`add, sub, mul, div, ${c.name}: values, first and second order`, async () => {
        const before = nativeKernelCalls.native;
        const got = expectNoLeaks(() => binaryOrders(c));
        expect(nativeKernelCalls.native - before).toBeGreaterThanOrEqual(16);
        const want = await onCpu(() => binaryOrders(c));
        got.forEach((g, i) => expectClose(g, want[i]!, 1e-5));
      });

    for (const c of reduceCases)
      it(`sum and mean over ${c.name}: values, first and second order`, async () => {
        const before = nativeKernelCalls.native;
        const got = expectNoLeaks(() => reduceOrders(c));
        expect(nativeKernelCalls.native - before).toBeGreaterThanOrEqual(4);
        const want = await onCpu(() => reduceOrders(c));
        got.forEach((g, i) => expectClose(g, want[i]!, 1e-5));
      });

    it('binary ops give the same bits as the cpu backend, sums those of float32 accumulation in order', async () => {
      const run = () =>
        tf.tidy(() => {
          const x = normal(key(15), [6, 5, 7]);
          const v = normal(key(16), [7]);
          return [tf.mul(x, v), tf.div(x, v), tf.sub(v, x), tf.add(x, 3), x].map((t) =>
            Array.from(t.dataSync()),
          );
        });
      const got = expectNoLeaks(run);
      const want = await onCpu(run);
      got.forEach((g, i) => expect(g).toEqual(want[i]));
      // tfjs-wasm's Sum order (float32 accumulation, k = 0, 1, …); the cpu backend adds in float64
      const x = got[4]!;
      const inOrder = Array.from({ length: 7 }, (_, i) => {
        let s = 0;
        for (let k = 0; k < 30; k++) s = Math.fround(s + x[k * 7 + i]!);
        return s;
      });
      const sums = expectNoLeaks(() =>
        tf.tidy(() => Array.from(tf.sum(tf.tensor(x, [6, 5, 7]), [0, 1]).dataSync())),
      );
      expect(sums).toEqual(inOrder);
    });

    it('the fused Adam and EMA updates run natively, bit-identical to the per-tensor ops', () => {
      const before = nativeKernelCalls.native;
      const { got, want } = expectNoLeaks(() =>
        tf.tidy(() => {
          const [p, g, m] = [
            normal(key(20), [3, 5]),
            normal(key(21), [3, 5]),
            normal(key(22), [3, 5]),
          ];
          const v = tf.square(normal(key(23), [3, 5]));
          const coef = tf.scalar(0.7);
          const s = {
            beta1: 0.9,
            beta2: 0.999,
            stepSize: 1e-3 / 0.1,
            bc2Sqrt: Math.sqrt(0.001),
            eps: 1e-8,
          };
          const wd = 0.01;
          const [pT, mT, vT] = tf
            .engine()
            .runKernel(
              'ScorekitAdamUpdate',
              { p0: p, g0: g, m0: m, v0: v, coef },
              { ...s, weightDecay: wd, n: 1, clipped: true },
            ) as tf.Tensor[];
          const [eT] = tf
            .engine()
            .runKernel(
              'ScorekitEmaUpdate',
              { s0: p, p0: g },
              { n: 1, oneMinusDecay: 0.001 },
            ) as tf.Tensor[];
          // training/src/adam.ts's per-tensor ops
          const gc = tf.add(tf.mul(g, coef), tf.mul(p, wd));
          const mR = tf.add(tf.mul(m, s.beta1), tf.mul(gc, 1 - s.beta1));
          const vR = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(gc), 1 - s.beta2));
          const denom = tf.add(tf.div(tf.sqrt(vR), s.bc2Sqrt), s.eps);
          const pR = tf.sub(p, tf.mul(tf.div(mR, denom), s.stepSize));
          const eR = tf.sub(p, tf.mul(tf.sub(p, g), 0.001));
          const flat = (ts: tf.Tensor[]) => ts.flatMap((t) => Array.from(t.dataSync()));
          return { got: flat([pT!, mT!, vT!, eT!]), want: flat([pR, mR, vR, eR]) };
        }),
      );
      expect(nativeKernelCalls.native - before).toBeGreaterThanOrEqual(2);
      expect(got).toEqual(want);
    });

    it('BatchMatMul is marked transpose-free, so dense layers use transposed operands', () => {
      expect(matMulTransposesAreFree('wasm')).toBe(true);
      expect(matMulTransposesAreFree('cpu')).toBe(false);
    });

    for (const c of convCases)
      it(`conv2d ${c.name}: values, first and second order`, async () => {
        const before = nativeKernelCalls.native;
        const got = expectNoLeaks(() => convOrders(c));
        expect(nativeKernelCalls.native - before).toBeGreaterThanOrEqual(6);
        const want = await onCpu(() => convOrders(c));
        got.forEach((g, i) => expectClose(g, want[i]!, 1e-4));
      });

    for (const c of matCases)
      it(`matMul ${c.name}: values, first and second order`, async () => {
        const before = nativeKernelCalls.native;
        const got = expectNoLeaks(() => matOrders(c));
        expect(nativeKernelCalls.native - before).toBeGreaterThanOrEqual(4);
        const want = await onCpu(() => matOrders(c));
        got.forEach((g, i) => expectClose(g, want[i]!, 1e-4));
      });

    it('forward only: dilated conv and a matrix shared by a batch, natively', async () => {
      const run = () =>
        tf.tidy(() => {
          const x = normal(key(6), [1, 7, 7, 2]) as tf.Tensor4D;
          const w = normal(key(7), [3, 3, 2, 2]) as tf.Tensor4D;
          const a = normal(key(8), [2, 3, 5, 4]);
          const b = normal(key(9), [6, 4]);
          return [tf.conv2d(x, w, 1, 'same', 'NHWC', 2), tf.matMul(a, b, false, true)].map((t) =>
            Array.from(t.dataSync()),
          );
        });
      const before = nativeKernelCalls.native;
      const got = expectNoLeaks(run);
      expect(nativeKernelCalls.native - before).toBe(2);
      const want = await onCpu(run);
      got.forEach((g, i) => expectClose(g, want[i]!, 1e-5));
    });

    it('falls back to the previous wasm kernel where it cannot run natively, with correct results', async () => {
      const run = () =>
        tf.tidy(() => {
          // batch dims [2,1] × [1,3] broadcast both ways: not one flat batch on each side
          const a = normal(key(6), [2, 1, 3, 4]);
          const b = normal(key(7), [1, 3, 4, 2]);
          // five alternating broadcast dimensions; a sum over five alternating dimensions
          const p = normal(key(8), [2, 1, 2, 1, 2]);
          const q = normal(key(9), [1, 2, 1, 2, 1]);
          return [tf.matMul(a, b), tf.mul(p, q), tf.sum(tf.add(p, q), [0, 2, 4])].flatMap((t) =>
            Array.from(t.dataSync()),
          );
        });
      const before = nativeKernelCalls.fallback;
      const got = expectNoLeaks(run);
      expect(nativeKernelCalls.fallback - before).toBe(4);
      const want = await onCpu(run);
      expectClose(got, want, 1e-5);
    });

    it('describeBackend names them', () => {
      const version = status.available ? status.addon.version() : '';
      expect(
        describeBackend({ name: 'wasm', native: `oneDNN ${version}`, source: 'auto', skipped: [] }),
      ).toBe(`wasm + native kernels (oneDNN ${version})`);
    });
  },
);

describe('without the addon', () => {
  it('loadAddon reports why instead of throwing', async () => {
    const previous = process.env.SCOREKIT_NATIVE;
    process.env.SCOREKIT_NATIVE = '0';
    try {
      vi.resetModules();
      const fresh = await import('./addon.js');
      const s = fresh.loadAddon();
      expect(s.available).toBe(false);
      if (!s.available) expect(s.reason).toContain('SCOREKIT_NATIVE=0');
    } finally {
      if (previous === undefined) delete process.env.SCOREKIT_NATIVE;
      else process.env.SCOREKIT_NATIVE = previous;
    }
  });

  it('the thread default: one under vitest workers, an env override, and a clear error', () => {
    expect(defaultNativeThreads({ VITEST_WORKER_ID: '1' })).toBe(1);
    expect(defaultNativeThreads({ SCOREKIT_NATIVE_THREADS: '3' })).toBe(3);
    expect(defaultNativeThreads({})).toBeGreaterThanOrEqual(1);
    expect(() => defaultNativeThreads({ SCOREKIT_NATIVE_THREADS: 'two' })).toThrow(
      /SCOREKIT_NATIVE_THREADS: expected a positive integer, got 'two'/,
    );
  });
});
