import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fold,
  type Key,
  key,
  logSoftmax,
  normal,
  normalPerSample,
  type Params,
  perSample,
  type ScorekitError,
  split,
  uniformPerSample,
} from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam } from './adam.js';
import { batchStream } from './batches.js';
import {
  disposeTrainState,
  latestCheckpoint,
  loadCheckpoint,
  type TrainState,
} from './checkpoint.js';
import type { Loss, LossValue } from './contracts.js';
import { type FitResult, fit, type StepInfo } from './fit.js';

// ---- a linear-regression problem: y = x·w* + 0.5 --------------------------------------------
interface Regression {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}
const wStar = [[1.5], [-2], [0.7]];
const regressionBatch = (k: Key, n = 16): Regression =>
  tf.tidy(() => {
    const x = normal(k, [n, 3]) as tf.Tensor2D;
    return { x, y: tf.add(tf.matMul(x, tf.tensor2d(wStar)), 0.5) as tf.Tensor2D };
  });
const mse: Loss<Regression> = (p, b) =>
  tf.tidy(() => {
    const r = tf.sub(tf.add(tf.matMul(b.x, p['w'] as tf.Tensor2D), p['b']!), b.y);
    const total = tf.mean(tf.square(r)) as tf.Scalar;
    return { total, terms: { mse: total } };
  });
const regressionParams = (): Params => ({ w: tf.zeros([3, 1]), b: tf.zeros([1]) });

// ---- a DLSM-like loss with an inner tf.grad (Chao et al. 2022, eq. 10 + λ·CE) ----------------
interface Labelled {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;
}
const logits = (p: Params, x: tf.Tensor, sigma: tf.Tensor1D) =>
  tf.add(
    tf.add(tf.matMul(x as tf.Tensor2D, p['W'] as tf.Tensor2D), p['b']!),
    tf.mul(perSample(sigma, 2), p['c']!),
  );
const dlsmLike: Loss<Labelled> = (p: Params, batch: Labelled, k: Key): LossValue =>
  tf.tidy(() => {
    const [kz, ks] = split(k) as [Key, Key];
    const n = batch.x.shape[0]!;
    const sigma = uniformPerSample(ks, [n], 0.5, 2) as tf.Tensor1D;
    const z = normalPerSample(kz, [n, 2]);
    const s = perSample(sigma, 2);
    const xt = tf.add(batch.x, tf.mul(s, z));
    const frozenScore = tf.div(tf.neg(xt), tf.add(1, tf.square(s)));
    const onehot = tf.oneHot(batch.y, 2);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(onehot, logSoftmax(logits(p, xx, sigma)))))(
      xt,
    );
    const residual = tf.add(tf.add(g, frozenScore), tf.div(z, s));
    const dlsm = tf.mul(0.5, tf.mean(tf.square(residual))) as tf.Scalar;
    const ce = tf.mul(
      0.125,
      tf.neg(tf.mean(tf.sum(tf.mul(onehot, logSoftmax(logits(p, xt, sigma))), 1))),
    ) as tf.Scalar;
    return { total: tf.add(dlsm, ce) as tf.Scalar, terms: { dlsm, ce } };
  });
/** Two Gaussian blobs at ±(2, 1), labels 0 / 1; the batch of step s comes from fold(k, s). */
const blobs = (k: Key, n = 8): Labelled =>
  tf.tidy(() => {
    const y = tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % 2),
      'int32',
    );
    const centre = tf.mul(
      tf.sub(tf.mul(tf.cast(tf.reshape(y, [n, 1]), 'float32'), 2), 1),
      tf.tensor2d([[2, 1]]),
    );
    return { x: tf.add(centre, tf.mul(normal(k, [n, 2]), 0.5)), y };
  });
const classifierParams = (): Params =>
  tf.tidy(() => ({
    W: tf.tensor2d([
      [0.1, -0.1],
      [0.05, 0.2],
    ]),
    b: tf.zeros([2]),
    c: tf.zeros([2]),
  }));

const disposeParams = (p: Params) => tf.dispose(Object.values(p));
const bits = (p: Params) =>
  Object.fromEntries(Object.entries(p).map(([n, t]) => [n, Array.from(t.dataSync())]));
const right = (r: E.Either<ScorekitError, FitResult>): FitResult => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scorekit-fit-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fit', () => {
  it('lowers a simple loss, logging every term, the warm-up lr and the gradient norm', async () => {
    await expectNoLeaksAsync(async () => {
      const dataKey = key(1);
      const params = regressionParams();
      const log: StepInfo[] = [];
      const result = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          optimizer: adam({ lr: 0.1, warmup: 10 }),
          batches: batchStream((s) => regressionBatch(fold(dataKey, s))),
          steps: 80,
          onStep: (info) => {
            log.push(info);
          },
          config: {},
        })(),
      );
      expect(result.stopReason).toBe('completed');
      expect(result.state.step).toBe(80);
      expect(log.map((l) => l.step)).toEqual(Array.from({ length: 80 }, (_, i) => i));
      log.forEach((l) => expect(l.lr).toBeCloseTo(0.1 * Math.min(1, l.step / 10), 12));
      expect(log[0]!.batchSize).toBe(16);
      expect(log[0]!.imagesPerSecond).toBeGreaterThan(0);
      expect(typeof log[0]!.terms['mse']).toBe('number');
      expect(log[0]!.terms['mse']).toBe(log[0]!.total);
      // Step 0 at w = 0, b = 0: ∇ = −(2/B)[Xᵀy; Σy], its norm computed here by hand.
      const b0 = regressionBatch(fold(dataKey, 0));
      const [xs, ys] = [b0.x.arraySync(), b0.y.arraySync()];
      const gw = [0, 1, 2].map(
        (j) => (-2 / 16) * xs.reduce((a, row, i) => a + row[j]! * ys[i]![0]!, 0),
      );
      const gb = (-2 / 16) * ys.reduce((a, r) => a + r[0]!, 0);
      expect(log[0]!.gradNorm).toBeCloseTo(Math.hypot(...gw, gb), 4);
      tf.dispose([b0.x, b0.y]);
      expect(log[79]!.terms['mse']!).toBeLessThan(log[0]!.terms['mse']! / 50);
      const w = Array.from(result.state.params['w']!.dataSync());
      wStar.forEach(([v], i) => expect(w[i]!).toBeCloseTo(v!, 1));
      expect(params['w']!.isDisposed).toBe(false); // the caller's params are untouched
      expect(Array.from(params['w']!.dataSync())).toEqual([0, 0, 0]);
      disposeParams(params);
      disposeTrainState(result.state);
    });
  });

  it('stops at a NaN with a NumericError naming the step and term; the last good checkpoint stays', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'nan');
      const dataKey = key(2);
      const make = (s: number) =>
        s === 7
          ? tf.tidy(() => ({
              x: tf.fill([16, 3], Number.NaN) as tf.Tensor2D,
              y: tf.zeros([16, 1]) as tf.Tensor2D,
            }))
          : regressionBatch(fold(dataKey, s));
      const params = regressionParams();
      const optimizer = adam({ lr: 0.05 });
      const out = await fit({
        loss: mse,
        params,
        key: key(0),
        ema: 0.99,
        optimizer,
        batches: batchStream(make),
        steps: 20,
        checkpointDir: dir,
        checkpointEvery: 3,
        config: { run: 'nan' },
      })();
      if (E.isRight(out)) throw new Error('expected a NumericError');
      expect(out.left._tag).toBe('NumericError');
      expect(out.left._tag === 'NumericError' && out.left.step).toBe(7);
      expect(out.left.message).toMatch(/loss term 'mse' is NaN at step 7/);
      expect(out.left.message).toMatch(/step-000006/);
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000003', 'step-000006']);
      const latest = await latestCheckpoint(dir)();
      expect(latest).toEqual(E.right(join(dir, 'step-000006')));
      // The checkpoint equals a clean 6-step run, bit for bit.
      const loaded = await loadCheckpoint(join(dir, 'step-000006'), { params, optimizer })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const clean = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          ema: 0.99,
          optimizer,
          batches: batchStream(make),
          steps: 6,
          config: {},
        })(),
      );
      expect(bits(loaded.right.state.params)).toEqual(bits(clean.state.params));
      expect(bits(loaded.right.state.ema!.params)).toEqual(bits(clean.state.ema!.params));
      disposeTrainState(loaded.right.state);
      disposeTrainState(clean.state);
      disposeParams(params);
    });
  });

  it('stops when the gradient is not finite although the loss is', async () => {
    await expectNoLeaksAsync(async () => {
      const norm: Loss<tf.Tensor> = (p) =>
        tf.tidy(() => {
          const total = tf.sqrt(tf.sum(tf.square(p['w']!))) as tf.Scalar;
          return { total, terms: { norm: total } };
        });
      const params = { w: tf.zeros([2]) };
      const out = await fit({
        loss: norm,
        params,
        key: key(0),
        optimizer: adam(),
        batches: batchStream(() => tf.zeros([1])),
        steps: 3,
        config: {},
      })();
      expect(E.isLeft(out) && out.left.message).toMatch(
        /gradient norm is NaN \(loss total 0\) at step 0/,
      );
      disposeParams(params);
    });
  });

  it('resumes exactly: N steps straight = N/2, save, load, N/2 (bit-identical, nested-gradient loss)', async () => {
    await expectNoLeaksAsync(async () => {
      const dataKey = key(5);
      const batches = batchStream((s) => blobs(fold(dataKey, s)));
      const optimizer = adam({ lr: 0.05, warmup: 3 });
      const common = { loss: dlsmLike, optimizer, batches, config: { test: 'resume' } };
      const params = classifierParams();
      const straightLog: StepInfo[] = [];
      const straight = right(
        await fit({
          ...common,
          params,
          key: key(9),
          ema: 0.9,
          steps: 8,
          onStep: (i) => void straightLog.push(i),
        })(),
      );
      const dir = join(root, 'resume');
      const half = right(
        await fit({
          ...common,
          params,
          key: key(9),
          ema: 0.9,
          steps: 4,
          checkpointDir: dir,
          checkpointEvery: 4,
        })(),
      );
      expect(half.checkpoint).toBe(join(dir, 'step-000004'));
      disposeTrainState(half.state);
      const path = await latestCheckpoint(dir)();
      if (E.isLeft(path) || !path.right) throw new Error('no checkpoint');
      const loaded = await loadCheckpoint(path.right, { params, optimizer })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const resumedLog: StepInfo[] = [];
      const resumed = right(
        await fit({
          ...common,
          resume: loaded.right.state,
          steps: 8,
          onStep: (i) => void resumedLog.push(i),
        })(),
      );
      expect(resumedLog.map((l) => l.step)).toEqual([4, 5, 6, 7]);
      expect(resumedLog.map((l) => l.terms)).toEqual(straightLog.slice(4).map((l) => l.terms));
      const a: TrainState = straight.state;
      const b: TrainState = resumed.state;
      expect(b.step).toBe(8);
      expect(bits(b.params)).toEqual(bits(a.params));
      expect(bits(b.ema!.params)).toEqual(bits(a.ema!.params));
      expect(b.ema!.count).toBe(a.ema!.count);
      expect(b.optimizer.count).toBe(8);
      for (const slot of ['exp_avg', 'exp_avg_sq'])
        expect(bits(b.optimizer.slots[slot]!)).toEqual(bits(a.optimizer.slots[slot]!));
      // The check can fail: a different key gives different params.
      const other = right(await fit({ ...common, params, key: key(10), ema: 0.9, steps: 8 })());
      expect(bits(other.state.params)).not.toEqual(bits(a.params));
      for (const s of [a, b, other.state, loaded.right.state]) disposeTrainState(s);
      disposeParams(params);
    });
  });

  it('trains a nested-gradient (DLSM-like) loss for 50 steps with checkpoints, without leaking', async () => {
    const dataKey = key(7);
    const evalBatch = blobs(key(99), 64);
    const params = classifierParams();
    const evalLoss = (p: Params) =>
      tf.tidy(() => {
        const v = dlsmLike(p, evalBatch, key(123));
        return v.total.dataSync()[0]!;
      });
    const before = evalLoss(params);
    let after = 0;
    await expectNoLeaksAsync(async () => {
      const result = right(
        await fit({
          loss: dlsmLike,
          params,
          key: key(11),
          ema: 0.999,
          optimizer: adam({ lr: 0.05 }),
          batches: batchStream((s) => blobs(fold(dataKey, s), 16)),
          steps: 50,
          checkpointDir: join(root, 'leaks'),
          checkpointEvery: 25,
          config: {},
        })(),
      );
      expect(result.state.step).toBe(50);
      after = evalLoss(result.state.params);
      disposeTrainState(result.state);
    });
    expect(after).toBeLessThan(before);
    disposeParams(params);
    tf.dispose([evalBatch.x, evalBatch.y]);
  });

  it('stops on abort (checkpointing the current step) and when the stream runs out', async () => {
    await expectNoLeaksAsync(async () => {
      const params = regressionParams();
      const controller = new AbortController();
      const dir = join(root, 'abort');
      const aborted = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          optimizer: adam(),
          batches: batchStream((s) => regressionBatch(fold(key(1), s))),
          steps: 100,
          checkpointDir: dir,
          onStep: (i) => {
            if (i.step === 2) controller.abort();
          },
          signal: controller.signal,
          config: {},
        })(),
      );
      expect(aborted.stopReason).toBe('aborted');
      expect(aborted.state.step).toBe(3);
      expect(aborted.checkpoint).toBe(join(dir, 'step-000003'));
      disposeTrainState(aborted.state);

      const three = [0, 1, 2].map((s) => regressionBatch(fold(key(1), s)));
      const exhausted = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          optimizer: adam(),
          batches: three,
          steps: 10,
          config: {},
        })(),
      );
      expect(exhausted.stopReason).toBe('exhausted');
      expect(exhausted.state.step).toBe(3);
      expect(three[0]!.x.isDisposed).toBe(true); // fit owns the batches it consumed
      disposeTrainState(exhausted.state);

      const none = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          optimizer: adam(),
          batches: [],
          steps: 0,
          config: {},
        })(),
      );
      expect(none.state.params['w']).not.toBe(params['w']);
      disposeTrainState(none.state);

      const both = await fit({
        loss: mse,
        params,
        resume: none.state,
        optimizer: adam(),
        batches: [],
        steps: 1,
        config: {},
      } as never)();
      expect(E.isLeft(both) && both.left._tag).toBe('ConfigError');
      disposeParams(params);
    });
  });

  it('reports every failure as a Left (loss, batch source, onStep), without a config', async () => {
    await expectNoLeaksAsync(async () => {
      const params = regressionParams();
      const common = {
        params,
        key: key(0),
        optimizer: adam(),
        batches: batchStream((s) => regressionBatch(fold(key(1), s))),
        steps: 5,
      };
      const throwing: Loss<Regression> = () => {
        throw new Error('boom in the loss');
      };
      const fromLoss = await fit({ ...common, loss: throwing })();
      expect(E.isLeft(fromLoss) && fromLoss.left.message).toMatch(
        /fit: the loss threw at step 0: boom in the loss/,
      );
      const badBatches = await fit({
        ...common,
        loss: mse,
        batches: batchStream((s) => {
          if (s === 2) throw new Error('no batch 2');
          return regressionBatch(fold(key(1), s));
        }),
      })();
      expect(E.isLeft(badBatches) && badBatches.left.message).toMatch(
        /the batch source threw at step 2: no batch 2/,
      );
      const badOnStep = await fit({
        ...common,
        loss: mse,
        onStep: (i) => {
          if (i.step === 1) throw new Error('log failed');
        },
      })();
      expect(E.isLeft(badOnStep) && badOnStep.left).toMatchObject({
        _tag: 'NumericError',
        step: 1,
      });
      disposeParams(params);
    });
  });

  it('yields to the event loop every step: a timer that aborts stops it after about a step', async () => {
    await expectNoLeaksAsync(async () => {
      const params = regressionParams();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 0);
      const result = right(
        await fit({
          loss: mse,
          params,
          key: key(0),
          optimizer: adam(),
          batches: batchStream((s) => regressionBatch(fold(key(1), s))),
          steps: 300,
          signal: controller.signal,
        })(),
      );
      expect(result.stopReason).toBe('aborted');
      // setTimeout(0) fires after at most a few 1-ms-timer turns, not after 300 steps
      expect(result.state.step).toBeLessThan(20);
      disposeTrainState(result.state);
      disposeParams(params);
    });
  });

  it('stops when the weights explode, keeping the last sane checkpoint and naming its step', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'explode');
      // loss = −Σw: a constant gradient, so Adam moves w by exactly lr each step (3e5, 6e5, 9e5,
      // 1.2e6 — the fourth is beyond the sane magnitude 1e6 of a weight)
      const linear: Loss<tf.Tensor> = (p) =>
        tf.tidy(() => {
          const total = tf.neg(tf.sum(p['w']!)) as tf.Scalar;
          return { total, terms: { linear: total } };
        });
      const params: Params = { w: tf.zeros([2]) };
      const out = await fit({
        loss: linear,
        params,
        key: key(0),
        optimizer: adam({ lr: 3e5 }),
        batches: batchStream(() => tf.zeros([1])),
        steps: 10,
        checkpointDir: dir,
        checkpointEvery: 1,
        keepLast: 2,
      })();
      if (E.isRight(out)) throw new Error('expected a NumericError');
      expect(out.left._tag).toBe('NumericError');
      expect(out.left.message).toMatch(
        /refusing to save params\.safetensors at step 4: tensor 'w' holds 1200000 at index 0, beyond the sane magnitude/,
      );
      expect(out.left.message).toContain(
        `the last good checkpoint (finite loss and weights) is ${join(dir, 'step-000003')}, step 3`,
      );
      // keepLast 2: only the two newest sane checkpoints remain
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000002', 'step-000003']);
      disposeParams(params);
    });
  });
});
