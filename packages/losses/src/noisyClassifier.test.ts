import { key, normal, type Params, type ScoreFn, veSde } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dlsm } from './dlsm.js';
import { type LabelledBatch, type Loss, termValue, tidyLossValue } from './loss.js';
import { sum } from './monoid.js';
import { evaluateNoisyClassifier } from './noisyClassifier.js';
import { perturb } from './perturb.js';

const sde = veSde({ sigmaMin: 0.2, sigmaMax: 4 });
let forwardCalls = 0;
const logits = (p: Params, x: tf.Tensor, t: tf.Tensor1D) => {
  forwardCalls += 1;
  return tf.tidy(
    () =>
      tf.matMul(
        tf.tanh(
          tf.add(tf.matMul(x as tf.Tensor2D, p['w1'] as tf.Tensor2D), tf.reshape(t, [-1, 1])),
        ),
        p['w2'] as tf.Tensor2D,
      ) as tf.Tensor2D,
  );
};
const score: ScoreFn = (x) => tf.mul(x, -0.3);

/** A new term written against the evaluation: the mean entropy of p(·|x̃) from its logits. */
const entropy: Loss<LabelledBatch> = (params, batch, k, scope) =>
  tidyLossValue(() => {
    const ev = evaluateNoisyClassifier({ sde, logits, eps: 1e-5, params, batch, key: k, scope });
    const logp = tf.logSoftmax(ev.logits);
    return termValue(
      'entropy',
      tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logp), logp), -1))) as tf.Scalar,
    );
  });

describe('evaluateNoisyClassifier', () => {
  it('exposes the perturbation, the logits, log p and the input gradient of one pass', () => {
    tf.tidy(() => {
      const params = { w1: normal(key(1), [2, 5]), w2: normal(key(2), [5, 3]) };
      const batch = { x: normal(key(3), [4, 2]), y: tf.tensor1d([0, 1, 2, 1], 'int32') };
      forwardCalls = 0;
      const ev = evaluateNoisyClassifier({
        sde,
        logits,
        eps: 1e-5,
        params,
        batch,
        key: key(4),
        inputGradient: true,
      });
      expect(forwardCalls).toBe(1);
      const p = perturb(sde, batch.x, key(4), 1e-5);
      expect(Array.from(ev.xTilde.dataSync())).toEqual(Array.from(p.xTilde.dataSync()));
      expect(Array.from(ev.t.dataSync())).toEqual(Array.from(p.t.dataSync()));
      expect(Array.from(ev.std.dataSync())).toEqual(Array.from(p.std.dataSync()));
      expect(Array.from(ev.z.dataSync())).toEqual(Array.from(p.z.dataSync()));
      const direct = logits(params, p.xTilde, p.t).dataSync();
      const got = ev.logits.dataSync();
      for (let i = 0; i < direct.length; i++) expect(got[i]!).toBeCloseTo(direct[i]!, 6);
      expect(ev.inputGradient!.shape).toEqual([4, 2]);
      expect(ev.logp.shape).toEqual([4]);
      const noGrad = evaluateNoisyClassifier({
        sde,
        logits,
        eps: 1e-5,
        params,
        batch,
        key: key(4),
      });
      expect(noGrad.inputGradient).toBeUndefined();
    });
  });

  it('a new term on the exposed logits shares the pass with dlsm inside a sum, gradients unchanged', () => {
    const params = { w1: normal(key(1), [2, 5]), w2: normal(key(2), [5, 3]) };
    const batch = { x: normal(key(3), [6, 2]), y: tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32') };
    const dl = dlsm({ sde, logits, score });
    expectNoLeaks(() => {
      const objective = sum(dl, entropy);
      forwardCalls = 0;
      const v = objective(params, batch, key(7));
      expect(forwardCalls).toBe(1);
      const apart = [dl(params, batch, key(7)), entropy(params, batch, key(7))];
      expect(v.terms['entropy']!.dataSync()[0]!).toBeCloseTo(apart[1]!.total.dataSync()[0]!, 5);
      expect(v.total.dataSync()[0]!).toBeCloseTo(
        apart[0]!.total.dataSync()[0]! + apart[1]!.total.dataSync()[0]!,
        5,
      );
      tf.dispose([v, ...apart] as never);
      const gradOf = (loss: Loss<LabelledBatch>) =>
        tf.tidy(() =>
          tf
            .grads((w1: tf.Tensor, w2: tf.Tensor) => loss({ w1, w2 }, batch, key(9)).total)([
              params.w1,
              params.w2,
            ])
            .map((g) => Array.from(g.dataSync())),
        );
      const together = gradOf(objective);
      const a = gradOf(dl);
      const b = gradOf(entropy);
      for (let j = 0; j < 2; j++)
        for (let i = 0; i < together[j]!.length; i++)
          expect(together[j]![i]!).toBeCloseTo(a[j]![i]! + b[j]![i]!, 4);
    });
    tf.dispose([params.w1, params.w2, batch.x, batch.y]);
  });
});
