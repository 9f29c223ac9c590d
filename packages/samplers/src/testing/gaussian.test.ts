import { type Sde, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  classMean,
  gaussianLogp,
  gaussianScore,
  mixtureConditionalScore,
  mixtureLogits,
  mixtureScore,
} from './gaussian.js';

// The test oracles themselves are checked against finite differences of closed-form densities.
const sdes: [string, Sde][] = [
  ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 100 })],
  ['vp', vpSde({ N: 100 })],
];
const mu = [1, -1];
const s = [0.5, 1.5];
const points = [
  [0.3, -0.2],
  [1.7, 2.5],
  [-2, 0.4],
];

/** Central differences of a scalar function of one point. */
function fdGrad(f: (p: number[]) => number, p: number[], h = 1e-3): number[] {
  return p.map((_, j) => {
    const up = p.slice();
    const dn = p.slice();
    up[j]! += h;
    dn[j]! -= h;
    return (f(up) - f(dn)) / (2 * h);
  });
}

describe('Gaussian oracles', () => {
  for (const [name, sde] of sdes) {
    for (const time of [0.05, 0.5]) {
      it(`${name}: gaussianScore is the gradient of gaussianLogp (t = ${time})`, () => {
        const logp = (p: number[]) =>
          tf.tidy(
            () => gaussianLogp(sde, mu, s, tf.tensor2d([p]), tf.tensor1d([time])).dataSync()[0]!,
          );
        const x = tf.tensor2d(points);
        const t = tf.fill([points.length], time) as tf.Tensor1D;
        const score = gaussianScore(sde, mu, s)(x, t);
        const got = score.arraySync() as number[][];
        tf.dispose([x, t, score]);
        points.forEach((p, i) => {
          const want = fdGrad(logp, p);
          for (let j = 0; j < 2; j++) expect(got[i]![j]!).toBeCloseTo(want[j]!, 2);
        });
      });

      it(`${name}: mixture score = ∇ log of the mixture density, logits = log p(y|x) (t = ${time})`, () => {
        const m = [1.2, 0.4];
        const logMix = (p: number[]) =>
          tf.tidy(() => {
            const x = tf.tensor2d([p]);
            const t = tf.tensor1d([time]);
            const l0 = gaussianLogp(sde, classMean(m, 0), s, x, t);
            const l1 = gaussianLogp(sde, classMean(m, 1), s, x, t);
            return tf.logSumExp(tf.stack([l0, l1], 1), 1).dataSync()[0]! - Math.log(2);
          });
        const x = tf.tensor2d(points);
        const t = tf.fill([points.length], time) as tf.Tensor1D;
        const [got, post, cond] = tf.tidy(() => [
          mixtureScore(sde, m, s)(x, t).arraySync() as number[][],
          tf.softmax(mixtureLogits(sde, m, s)(x, t)).arraySync() as number[][],
          mixtureConditionalScore(sde, m, s)(
            x,
            t,
            tf.tensor1d([1, 1, 1], 'int32'),
          ).arraySync() as number[][],
        ]);
        const class1 = tf.tidy(
          () => gaussianScore(sde, classMean(m, 1), s)(x, t).arraySync() as number[][],
        );
        tf.dispose([x, t]);
        points.forEach((p, i) => {
          const want = fdGrad(logMix, p);
          for (let j = 0; j < 2; j++) expect(got[i]![j]!).toBeCloseTo(want[j]!, 2);
          // Bayes: p(y = 0 | x) = p(x | 0) / (p(x | 0) + p(x | 1))
          const l = [0, 1].map((y) =>
            tf.tidy(
              () =>
                gaussianLogp(
                  sde,
                  classMean(m, y),
                  s,
                  tf.tensor2d([p]),
                  tf.tensor1d([time]),
                ).dataSync()[0]!,
            ),
          );
          expect(post[i]![0]!).toBeCloseTo(1 / (1 + Math.exp(l[1]! - l[0]!)), 5);
          for (let j = 0; j < 2; j++) expect(cond[i]![j]!).toBeCloseTo(class1[i]![j]!, 5);
        });
      });
    }
  }
});
