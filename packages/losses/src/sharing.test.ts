import { key, normal, type Params, type ScoreFn, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { weighted } from './combinators.js';
import { crossEntropy } from './crossEntropy.js';
import { dlsm } from './dlsm.js';
import type { LabelledBatch, Loss, LossValue } from './loss.js';
import { sum } from './monoid.js';
import { type SharingScope, shared, withSharing } from './sharing.js';

const read = (v: LossValue) => ({
  total: v.total.dataSync()[0]!,
  terms: Object.fromEntries(Object.entries(v.terms).map(([k, t]) => [k, t.dataSync()[0]!])),
});

describe('withSharing / shared', () => {
  it('computes once per descriptor inside a scope, always outside, and frees at the end', () => {
    let calls = 0;
    const compute = () => {
      calls += 1;
      return { value: tf.scalar(calls) };
    };
    const before = tf.memory().numTensors;
    let kept: SharingScope | undefined;
    const out = withSharing((scope) => {
      kept = scope;
      const a = shared(scope, ['f', 1], compute);
      const b = scope.shared(['f', 1], compute);
      const c = shared(scope, ['f', 2], compute);
      const nested = withSharing((inner) => shared(inner, ['f', 1], compute), scope);
      // a second, independent scope does not see the first one's values (no global state)
      const other = withSharing((s2) =>
        tf.tidy(() => shared(s2, ['f', 1], compute).value.dataSync()[0]!),
      );
      expect(other).toBe(3);
      expect(a).toBe(b);
      expect(nested).toBe(a);
      expect(c).not.toBe(a);
      return tf.tidy(() => tf.add(a.value, c.value).dataSync()[0]!);
    });
    expect(out).toBe(3);
    expect(calls).toBe(3);
    expect(kept).toBeDefined();
    expect(tf.memory().numTensors).toBe(before);
    const outside = shared(undefined, ['f', 1], compute);
    expect(calls).toBe(4);
    outside.value.dispose();
  });
});

describe('sum(dlsm, weighted(λ)(crossEntropy)) shares the perturbation and the forward pass', () => {
  const sde = veSde({ sigmaMin: 0.2, sigmaMax: 4 });
  let forwardCalls = 0;
  const logits = (p: Params, x: tf.Tensor, t: tf.Tensor1D) => {
    forwardCalls += 1;
    return tf.tidy(() => {
      const h = tf.tanh(
        tf.add(tf.matMul(x as tf.Tensor2D, p['w1'] as tf.Tensor2D), tf.reshape(t, [-1, 1])),
      );
      return tf.matMul(h, p['w2'] as tf.Tensor2D) as tf.Tensor2D;
    });
  };
  const score: ScoreFn = (x) => tf.mul(x, -0.3);
  const dl = dlsm({ sde, logits, score });
  const ce = crossEntropy({ sde, logits });
  const lambda = 0.125;

  const setup = () => ({
    params: { w1: normal(key(1), [2, 5]), w2: normal(key(2), [5, 3]) },
    batch: { x: normal(key(3), [6, 2]), y: tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32') },
  });

  it('evaluates the classifier once and gives the terms of separate evaluations', () => {
    tf.tidy(() => {
      const { params, batch } = setup();
      forwardCalls = 0;
      const total = read(sum(dl, weighted(lambda)(ce))(params, batch, key(7)));
      expect(forwardCalls).toBe(1);
      forwardCalls = 0;
      const a = read(dl(params, batch, key(7)));
      const b = read(ce(params, batch, key(7)));
      expect(forwardCalls).toBe(2);
      expect(total.terms['dlsm']!).toBeCloseTo(a.total, 5);
      expect(total.terms['crossEntropy']!).toBeCloseTo(lambda * b.total, 5);
      expect(total.total).toBeCloseTo(a.total + lambda * b.total, 5);
      // order does not matter; crossEntropy first still shares
      forwardCalls = 0;
      const reversed = read(sum(weighted(lambda)(ce), dl)(params, batch, key(7)));
      expect(forwardCalls).toBe(1);
      expect(reversed.total).toBeCloseTo(total.total, 5);
      // a different key is a different perturbation: no sharing
      forwardCalls = 0;
      sum(dl, ce)(params, batch, key(8));
      expect(forwardCalls).toBe(1);
      // a sum nested in a sum joins the outer scope: still one pass
      forwardCalls = 0;
      const nested = read(sum(sum(dl), sum(weighted(lambda)(ce)))(params, batch, key(7)));
      expect(forwardCalls).toBe(1);
      expect(nested.total).toBeCloseTo(total.total, 5);
      // terms evaluated one after the other outside a sum never share (no hidden state)
      forwardCalls = 0;
      dl(params, batch, key(7));
      dl(params, batch, key(7));
      expect(forwardCalls).toBe(2);
    });
  });

  it('has the gradient of the separate terms (double back-propagation through the shared pass)', () => {
    tf.tidy(() => {
      const { params, batch } = setup();
      const gradOf = (loss: Loss<LabelledBatch>) =>
        tf.grads((w1: tf.Tensor, w2: tf.Tensor) => loss({ w1, w2 }, batch, key(9)).total)([
          params.w1,
          params.w2,
        ]);
      const together = gradOf(sum(dl, weighted(lambda)(ce)));
      const a = gradOf(dl);
      const b = gradOf(ce);
      for (let j = 0; j < 2; j++) {
        const lhs = together[j]!.dataSync();
        const rhs = tf.add(a[j]!, tf.mul(b[j]!, lambda)).dataSync();
        for (let i = 0; i < lhs.length; i++) expect(lhs[i]!).toBeCloseTo(rhs[i]!, 4);
      }
    });
  });
});
