// The method end to end on webgpu against cpu, same inputs: the DLSM + CE objective's
// parameter gradient (double back-propagation through a width-4 ResNet-18), a few `fit` steps
// of the toy models, the ResNet and a tiny NCSN++ U-Net, PC and probability-flow ODE sampler
// steps with classifier guidance, and a checkpoint written on webgpu and read back on wasm.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { key, type Params, veSde } from '@scorekit/core';
import { crossEntropy, dlsm, dsm, type LabelledBatch, type Loss, sum } from '@scorekit/losses';
import {
  type Buffers,
  bindLogits,
  bindScore,
  disposeVariables,
  type Model,
  parametricLogits,
  parametricScore,
  resnetClassifier,
  scoreUnet,
  toyClassifier,
  toyScoreModel,
} from '@scorekit/models';
import { classifierGuidance, odeSampler, pcSampler } from '@scorekit/samplers';
import { adam, disposeTrainState, fit as fitLoop, loadCheckpoint } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Arrays,
  adapter,
  crossBackend,
  onBackend,
  readAll,
  relativeError,
  tensorsOf,
  unavailable,
} from './harness.js';

const sde = veSde({ sigmaMin: 0.05, sigmaMax: 5, N: 4 });

/** Initial variables of a model, drawn once on cpu (core's keyed draws), as arrays. */
async function initArrays(model: Model): Promise<{ params: Arrays; buffers: Arrays }> {
  return onBackend('cpu', async () => {
    const vars = model.init(key(3));
    const clone = (r: Readonly<Record<string, tf.Tensor>>) =>
      Object.fromEntries(Object.entries(r).map(([n, v]) => [n, tf.clone(v)]));
    const params = await readAll(clone(vars.params));
    const buffers = await readAll(clone(vars.buffers));
    disposeVariables(vars);
    return { params, buffers };
  });
}

const variablesOf = (a: Arrays): Buffers =>
  Object.fromEntries(
    Object.entries(tensorsOf(a)).map(([n, t]) => {
      const v = tf.variable(t, false);
      t.dispose();
      return [n, v];
    }),
  );

const images = (b: number, size: number, seed: number) =>
  tf.randomUniform([b, size, size, 3], -1, 1, 'float32', seed);

/** Runs `steps` Adam updates with `fit` on the current backend; returns the losses and params. */
async function fitSteps<B>(
  model: Model,
  init: { params: Arrays; buffers: Arrays },
  lossOf: (buffers: Buffers) => Loss<B>,
  batch: () => B,
  steps: number,
  checkpointDir?: string,
): Promise<{ totals: number[]; params: Arrays; checkpoint?: string | undefined }> {
  const params = tensorsOf(init.params);
  const buffers = variablesOf(init.buffers);
  const totals: number[] = [];
  const result = await fitLoop<B>({
    loss: lossOf(buffers),
    optimizer: adam({ lr: 1e-3 }),
    batches: () =>
      (function* () {
        for (;;) yield batch();
      })(),
    steps,
    buffers,
    params,
    key: key(5),
    config: { model: model.name },
    checkpointDir,
    checkpointEvery: checkpointDir ? steps : undefined,
    onStep: (info) => {
      totals.push(info.total);
    },
  })();
  tf.dispose(Object.values(params));
  tf.dispose(Object.values(buffers));
  if (E.isLeft(result)) throw new Error(`fit failed: ${result.left.message}`);
  const out = await readAll(
    Object.fromEntries(Object.entries(result.right.state.params).map(([n, t]) => [n, tf.clone(t)])),
  );
  disposeTrainState(result.right.state);
  return { totals, params: out, checkpoint: result.right.checkpoint };
}

/** `fitSteps` on webgpu and on cpu; the losses and final params must agree. */
async function fitBoth<B>(
  model: Model,
  lossOf: (buffers: Buffers) => Loss<B>,
  batch: () => B,
  steps: number,
): Promise<void> {
  const init = await initArrays(model);
  const gpu = await fitSteps(model, init, lossOf, batch, steps);
  const cpu = await onBackend('cpu', () => fitSteps(model, init, lossOf, batch, steps));
  expect(gpu.totals).toHaveLength(steps);
  for (let i = 0; i < steps; i++)
    expect(
      Math.abs((gpu.totals[i] as number) - (cpu.totals[i] as number)),
      `loss at step ${i}`,
    ).toBeLessThan(1e-3 * Math.abs(cpu.totals[i] as number));
  // Adam's first updates are ≈ lr · sign(g): an entry whose gradient is round-off (a bias
  // before a norm) may move ±lr on either backend, so params agree to a few lr, not to 1e-3
  const { worst, tensor } = relativeError(gpu.params, cpu.params);
  expect(worst, `params after ${steps} steps, worst ${tensor}`).toBeLessThan(5e-2);
}

/**
 * A width-4 ResNet-18 with SiLU: smooth, so the double-backprop comparison is not at the mercy
 * of a ReLU kink flipping on one backend's round-off.
 */
const classifier = resnetClassifier({
  depth: 18,
  width: 4,
  classes: 3,
  fourierSize: 4,
  embeddingDim: 8,
  activation: 'silu',
});
const toyScore = toyScoreModel({ trunk: [16, 16], noise: [8] });

if (adapter)
  describe('webgpu: the method end to end vs cpu', () => {
    it('DLSM + CE objective on a width-4 ResNet-18: ∂L/∂θ matches cpu (second order)', async () => {
      const init = await initArrays(classifier);
      const inputs: Arrays = { ...init.params };
      for (const [n, v] of Object.entries(init.buffers)) inputs[`buffer:${n}`] = v;
      const data = await onBackend('cpu', () => readAll({ x: images(3, 16, 21) }));
      Object.assign(inputs, data);
      const result = await crossBackend(inputs, (ins) => {
        const buffers: Buffers = Object.fromEntries(
          Object.keys(init.buffers).map((n) => [
            n,
            tf.variable(ins[`buffer:${n}`] as tf.Tensor, false),
          ]),
        );
        const logits = parametricLogits(classifier as Model<tf.Tensor2D>, buffers, sde, {
          training: true,
        });
        const score = (x: tf.Tensor) => tf.mul(x, -0.5);
        const loss = sum(dlsm({ sde, logits, score }), crossEntropy({ sde, logits }));
        const names = Object.keys(init.params);
        const batch: LabelledBatch = {
          x: ins['x'] as tf.Tensor,
          y: tf.tensor1d([0, 2, 1], 'int32'),
        };
        const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
          const lv = loss(
            Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor])),
            batch,
            key(9),
          );
          tf.dispose(Object.values(lv.terms));
          return lv.total;
        })(names.map((n) => ins[n] as tf.Tensor));
        tf.dispose([batch.y, ...Object.values(buffers)]);
        return { value, ...Object.fromEntries(names.map((n, i) => [n, grads[i] as tf.Tensor])) };
      });
      expect(Number.isFinite(result.gpu['value']?.values[0])).toBe(true);
      expect(result.worst, `worst relative error in ${result.tensor}`).toBeLessThan(1e-3);
    });

    it('fit: 3 steps of the toy score model (DSM) and toy classifier (DLSM + CE) match cpu', async () => {
      const points = () => tf.randomNormal([8, 2], 0, 1, 'float32', 31);
      await fitBoth(
        toyScore,
        () => dsm({ sde, score: parametricScore(toyScore, {}, sde) }),
        () => ({ x: points() }),
        3,
      );
      const toyCls = toyClassifier({ trunk: [16, 16], noise: [8], classes: 2 });
      const score = (x: tf.Tensor) => tf.mul(x, -0.5);
      await fitBoth(
        toyCls,
        (b) => {
          const logits = parametricLogits(toyCls as Model<tf.Tensor2D>, b, sde, { training: true });
          return sum(dlsm({ sde, logits, score }), crossEntropy({ sde, logits }));
        },
        () => ({ x: points(), y: tf.tensor1d([0, 1, 1, 0, 1, 0, 0, 1], 'int32') }),
        3,
      );
    });

    it('fit: 2 steps of a width-4 ResNet-18 (DLSM + CE) and a tiny NCSN++ U-Net (DSM) match cpu', async () => {
      const score = (x: tf.Tensor) => tf.mul(x, -0.5);
      await fitBoth(
        classifier,
        (b) => {
          const logits = parametricLogits(classifier as Model<tf.Tensor2D>, b, sde, {
            training: true,
          });
          return sum(dlsm({ sde, logits, score }), crossEntropy({ sde, logits }));
        },
        () => ({ x: images(2, 8, 41), y: tf.tensor1d([1, 2], 'int32') }),
        2,
      );
      const unet = scoreUnet(tinyUnet);
      await fitBoth(
        unet,
        (b) => dsm({ sde, score: parametricScore(unet, b, sde, { training: true }) }),
        () => ({ x: images(2, 8, 42) }),
        2,
      );
    });

    it('PC and probability-flow ODE sampler steps with classifier guidance match cpu', async () => {
      const unet = scoreUnet(tinyUnet);
      const sInit = await initArrays(unet);
      const cInit = await initArrays(classifier);
      const sample = async () => {
        const sv = { params: tensorsOf(sInit.params), buffers: variablesOf(sInit.buffers) };
        const cv = { params: tensorsOf(cInit.params), buffers: variablesOf(cInit.buffers) };
        const guided = classifierGuidance(
          bindScore(unet, sv, sde),
          bindLogits(classifier as Model<tf.Tensor2D>, cv, sde),
          [0, 2],
          { scale: 2 },
        );
        const pc = await pcSampler(guided, sde, { shape: [2, 8, 8, 3] }, key(13));
        const ode = await odeSampler(
          guided,
          sde,
          { shape: [2, 8, 8, 3], method: 'euler', N: 3 },
          key(14),
        );
        const out = await readAll({ pc: pc.samples, ode: ode.samples });
        tf.dispose([pc.xMean, ode.xMean]);
        tf.dispose([
          ...Object.values(sv.params),
          ...Object.values(sv.buffers),
          ...Object.values(cv.params),
          ...Object.values(cv.buffers),
        ]);
        return out;
      };
      const gpu = await sample();
      const cpu = await onBackend('cpu', sample);
      const { worst, tensor } = relativeError(gpu, cpu);
      expect(worst, `samples, worst ${tensor}`).toBeLessThan(1e-3);
    });

    describe('checkpoint', () => {
      let dir = '';
      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'scorekit-gpu-'));
      });
      afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
      });
      it('written on webgpu is read back on wasm bit for bit', async () => {
        const init = await initArrays(toyScore);
        const run = await fitSteps(
          toyScore,
          init,
          () => dsm({ sde, score: parametricScore(toyScore, {}, sde) }),
          () => ({ x: tf.randomNormal([8, 2], 0, 1, 'float32', 51) }),
          2,
          dir,
        );
        expect(run.checkpoint).toBeDefined();
        const loaded = await onBackend('wasm', async () => {
          const template = tensorsOf(init.params);
          const got = await loadCheckpoint(run.checkpoint as string, {
            params: template as Params,
            optimizer: adam({ lr: 1e-3 }),
          })();
          tf.dispose(Object.values(template));
          if (E.isLeft(got)) throw new Error(got.left.message);
          const out = await readAll(
            Object.fromEntries(
              Object.entries(got.right.state.params).map(([n, t]) => [n, tf.clone(t)]),
            ),
          );
          disposeTrainState(got.right.state);
          return out;
        });
        for (const [name, v] of Object.entries(run.params)) {
          const back = loaded[name];
          expect(back, name).toBeDefined();
          expect(
            Buffer.from((back as { values: Float32Array }).values.buffer).equals(
              Buffer.from(v.values.buffer),
            ),
            name,
          ).toBe(true);
        }
      });
    });
  });

/** The smallest NCSN++ that keeps its structure: 8×8, two resolutions, one block each. */
const tinyUnet = {
  imageSize: 8,
  nf: 4,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [4],
  dropout: 0,
};

if (!adapter)
  describe('webgpu: the method end to end vs cpu', () => {
    it.skip(unavailable, () => {});
  });
