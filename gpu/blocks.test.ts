// Second-order cross-backend checks of every classifier block on webgpu against cpu: the
// gradient by every parameter of the DLSM-shaped objective L(θ) = ‖∇ₓ Σ log p(y | x; θ) − c‖²
// (Chao et al. 2022, eq. 10) needs double back-propagation through the block; the same inputs
// and parameters go to both backends and the gradients must agree to float32 accuracy.
import { key, type Params } from '@scorekit/core';
import {
  batchNormLayer,
  conv2dLayer,
  denseLayer,
  disposeVariables,
  globalMeanPool,
  groupNormLayer,
  initVariables,
  type LayerContext,
  meanPool,
  noiseEmbeddingLayer,
  relu,
  residualBlock,
  silu,
  type VariableSpec,
} from '@scorekit/models';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dlsmObjective } from '../packages/models/src/testing/gradcheck.js';
import { type Arrays, adapter, crossBackend, onBackend, readAll, unavailable } from './harness.js';

/** float32 agreement of webgpu and cpu gradients, relative to each gradient's largest entry. */
const RTOL = 2e-4;

interface BlockCase {
  readonly name: string;
  readonly specs: readonly VariableSpec[];
  readonly x: number[];
  readonly classes: number;
  readonly labels: number[];
  /** Logits [B, classes] from the block applied to x (plus fixed extra inputs). */
  readonly logits: (ctx: LayerContext, x: tf.Tensor, extra: Params) => tf.Tensor;
  readonly extra?: Record<string, number[]>;
  readonly training?: boolean;
}

const d = denseLayer('d', { inFeatures: 3, outFeatures: 4 });
const conv = conv2dLayer('c', { inChannels: 2, outChannels: 4 });
const conv2 = conv2dLayer('c2', { inChannels: 2, outChannels: 4, stride: 2 });
const gn = groupNormLayer('g', { channels: 4, groups: 2 });
const bn = batchNormLayer('bn', { channels: 4 });
const res = residualBlock('r', {
  kind: 'biggan',
  inChannels: 4,
  outChannels: 8,
  tembDim: 6,
  resample: 'down',
  initScale: 1,
});
const emb = noiseEmbeddingLayer({
  kind: 'fourier',
  size: 3,
  dim: 6,
  names: { fourier: 'e.f', dense0: 'e.d0', dense1: 'e.d1' },
});
const pool = (t: tf.Tensor) => globalMeanPool(t as tf.Tensor4D);
const project = (t: tf.Tensor, w: tf.Tensor) => tf.matMul(t as tf.Tensor2D, w as tf.Tensor2D);

const CASES: BlockCase[] = [
  {
    name: 'dense + SiLU + ReLU',
    specs: d.specs,
    x: [3, 3],
    classes: 4,
    labels: [0, 3, 1],
    logits: (ctx, x) => relu(silu(d.apply(ctx, x))),
  },
  {
    name: 'conv 3×3 (stride 1 and 2) + SiLU + mean pool',
    specs: [...conv.specs, ...conv2.specs],
    x: [2, 6, 6, 2],
    classes: 4,
    labels: [1, 2],
    logits: (ctx, x) => tf.add(pool(meanPool(silu(conv.apply(ctx, x)))), pool(conv2.apply(ctx, x))),
  },
  {
    name: 'group norm',
    specs: [...conv.specs, ...gn.specs],
    x: [2, 4, 4, 2],
    classes: 4,
    labels: [0, 3],
    logits: (ctx, x) => pool(silu(gn.apply(ctx, conv.apply(ctx, x)))),
  },
  {
    name: 'batch norm (training statistics)',
    specs: [...conv.specs, ...bn.specs],
    x: [3, 4, 4, 2],
    classes: 4,
    labels: [0, 3, 2],
    training: true,
    logits: (ctx, x) => pool(silu(bn.apply(ctx, conv.apply(ctx, x)))),
  },
  {
    name: 'residual block (BigGAN, down-sampling, noise embedding input)',
    specs: [...conv.specs, ...res.specs],
    x: [2, 4, 4, 2],
    classes: 8,
    labels: [5, 1],
    extra: { temb: [2, 6] },
    logits: (ctx, x, extra) =>
      pool(res.apply(ctx, conv.apply(ctx, x), extra['temb'] as tf.Tensor2D)),
  },
  {
    name: 'noise embedding (Fourier features of log σ → dense → SiLU → dense)',
    specs: [...d.specs, ...emb.specs],
    x: [2, 3],
    classes: 4,
    labels: [2, 0],
    extra: { sigma: [2], proj: [6, 4] },
    logits: (ctx, x, extra) =>
      tf.mul(
        d.apply(ctx, x),
        project(
          silu(emb.apply(ctx, tf.abs(extra['sigma'] as tf.Tensor) as tf.Tensor1D)),
          extra['proj'] as tf.Tensor,
        ),
      ),
  },
];

/** Deterministic inputs from core's keyed normal draws (the same values on every backend). */
async function inputsOf(c: BlockCase): Promise<{ params: Arrays; buffers: Arrays; data: Arrays }> {
  return onBackend('cpu', async () => {
    const vars = initVariables(key(7), c.specs);
    const params = await readAll(
      Object.fromEntries(Object.entries(vars.params).map(([n, v]) => [n, tf.clone(v)])),
    );
    const buffers = await readAll(
      Object.fromEntries(Object.entries(vars.buffers).map(([n, v]) => [n, tf.clone(v)])),
    );
    disposeVariables(vars);
    const shapes: Record<string, number[]> = { x: c.x, target: c.x, ...c.extra };
    const data = await readAll(
      Object.fromEntries(
        Object.entries(shapes).map(([n, s], i) => [
          n,
          tf.randomNormal(s, 0, n === 'target' ? 0.3 : 1, 'float32', 11 + i),
        ]),
      ),
    );
    return { params, buffers, data };
  });
}

if (adapter)
  describe(`webgpu second order vs cpu (${adapter ? adapter.device || adapter.description : ''})`, () => {
    for (const c of CASES) {
      it(`${c.name}: ∂/∂θ ‖∇ₓ log p(y|x) − c‖² matches cpu`, async () => {
        const { params, buffers, data } = await inputsOf(c);
        const names = Object.keys(params);
        const all = {
          ...params,
          ...Object.fromEntries(Object.entries(buffers).map(([n, v]) => [`buffer:${n}`, v])),
          ...data,
        };
        const result = await crossBackend(all, (ins) => {
          const bufs = Object.fromEntries(
            Object.keys(buffers).map((n) => [
              n,
              tf.variable(ins[`buffer:${n}`] as tf.Tensor, false),
            ]),
          );
          const objective = dlsmObjective(
            (p, xx) =>
              c.logits({ params: p, buffers: bufs, training: c.training ?? false }, xx, ins),
            ins['x'] as tf.Tensor,
            c.labels,
            c.classes,
            ins['target'] as tf.Tensor,
          );
          const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) =>
            objective(Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor]))),
          )(names.map((n) => ins[n] as tf.Tensor));
          objective.dispose();
          tf.dispose(Object.values(bufs));
          return { value, ...Object.fromEntries(names.map((n, i) => [n, grads[i] as tf.Tensor])) };
        });
        const value = result.gpu['value']?.values[0] as number;
        expect(Number.isFinite(value) && value > 0, `objective ${value}`).toBe(true);
        expect(result.worst, `worst relative error in ${result.tensor}`).toBeLessThan(RTOL);
      });
    }
  });

if (!adapter)
  describe('webgpu second order vs cpu', () => {
    it.skip(unavailable, () => {});
  });
