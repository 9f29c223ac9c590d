import {
  type Key,
  key,
  logSoftmax,
  normalPerSample,
  type Params,
  perSample,
  split,
  uniformPerSample,
} from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Loss, LossValue } from './contracts.js';
import { lossAndGrads } from './gradients.js';

interface Batch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;
}

const logits = (p: Params, x: tf.Tensor, sigma: tf.Tensor1D) =>
  tf.add(
    tf.add(tf.matMul(x as tf.Tensor2D, p['W'] as tf.Tensor2D), p['b']!),
    tf.mul(perSample(sigma, 2), p['c']!),
  );

/**
 * A tiny DLSM-like loss (Chao et al. 2022, eq. 10 + 0.125·CE): a linear noise-conditioned
 * classifier whose input gradient ∇ₓ log p(y|x̃, σ) enters the loss, so ∂/∂θ is second order.
 */
const dlsmLike: Loss<Batch> = (p: Params, batch: Batch, k: Key): LossValue =>
  tf.tidy(() => {
    const [kz, ks] = split(k) as [Key, Key];
    const n = batch.x.shape[0]!;
    const sigma = uniformPerSample(ks, [n], 0.5, 2) as tf.Tensor1D;
    const z = normalPerSample(kz, [n, 2]);
    const s = perSample(sigma, 2);
    const xt = tf.add(batch.x, tf.mul(s, z));
    const target = tf.neg(tf.div(z, s));
    const frozenScore = tf.div(tf.neg(xt), tf.add(1, tf.square(s)));
    const onehot = tf.oneHot(batch.y, 2);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(onehot, logSoftmax(logits(p, xx, sigma)))))(
      xt,
    );
    const dlsm = tf.mul(
      0.5,
      tf.mean(tf.square(tf.sub(tf.add(g, frozenScore), target))),
    ) as tf.Scalar;
    const ce = tf.mul(
      0.125,
      tf.neg(tf.mean(tf.sum(tf.mul(onehot, logSoftmax(logits(p, xt, sigma))), 1))),
    ) as tf.Scalar;
    return { total: tf.add(dlsm, ce) as tf.Scalar, terms: { dlsm, ce } };
  });

describe('lossAndGrads', () => {
  it('gives the second-order DLSM-like parameter gradient (finite differences) and zero for unused params', () => {
    expectNoLeaks(() => {
      const params: Params = {
        W: tf.tensor2d([
          [0.8, -0.5],
          [0.3, 1.2],
        ]),
        b: tf.tensor1d([0.1, -0.2]),
        c: tf.tensor1d([0.4, -0.3]),
        unused: tf.tensor1d([5]),
      };
      const batch = {
        x: tf.tensor2d([
          [1, 0.5],
          [-1, 2],
          [0.3, -0.7],
          [2, 1],
        ]),
        y: tf.tensor1d([0, 1, 1, 0], 'int32'),
      };
      const k = key(3);
      const { total, terms, grads } = lossAndGrads(dlsmLike, params, batch, k);
      const [totalV] = total.dataSync();
      expect(totalV).toBeCloseTo(terms['dlsm']!.dataSync()[0]! + terms['ce']!.dataSync()[0]!, 5);
      expect(Array.from(grads['unused']!.dataSync())).toEqual([0]);

      const h = 1e-2;
      const evalAt = (name: string, i: number, delta: number) =>
        tf.tidy(() => {
          const base = params[name]!;
          const flat = Array.from(base.dataSync());
          flat[i]! += delta;
          const moved = { ...params, [name]: tf.tensor(flat, base.shape) };
          const v = dlsmLike(moved, batch, k);
          return v.total.dataSync()[0]!;
        });
      let maxAbs = 0;
      let maxErr = 0;
      for (const name of ['W', 'b', 'c']) {
        const g = Array.from(grads[name]!.dataSync());
        g.forEach((gi, i) => {
          const fd = (evalAt(name, i, h) - evalAt(name, i, -h)) / (2 * h);
          maxAbs = Math.max(maxAbs, Math.abs(fd));
          maxErr = Math.max(maxErr, Math.abs(fd - gi));
        });
      }
      expect(maxAbs).toBeGreaterThan(1e-2);
      expect(maxErr / maxAbs).toBeLessThan(1e-2);

      // The second-order path matters: dropping it (CE gradient only) is far from the DLSM one.
      const ceOnly: Loss<Batch> = (p, b, kk) => {
        const v = dlsmLike(p, b, kk);
        tf.dispose(v.total);
        return { total: v.terms['ce']!, terms: { ce: v.terms['ce']! } };
      };
      const ce = lossAndGrads(ceOnly, params, batch, k);
      const diff = tf.tidy(
        () => tf.max(tf.abs(tf.sub(ce.grads['W']!, grads['W']!))).dataSync()[0]!,
      );
      expect(diff).toBeGreaterThan(1e-3);

      tf.dispose([
        total,
        ...Object.values(terms),
        ...Object.values(grads),
        ...Object.values(params),
      ]);
      tf.dispose([ce.total, ...Object.values(ce.terms), ...Object.values(ce.grads)]);
      tf.dispose([batch.x, batch.y]);
    });
  });
});
