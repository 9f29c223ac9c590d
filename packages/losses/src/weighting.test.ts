import { key, normal, type Params, type ScoreFn, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from './crossEntropy.js';
import { dlsm } from './dlsm.js';
import { dsm } from './dsm.js';
import { perturb } from './perturb.js';
import { sigmaPower, type Weighting } from './weighting.js';

const sde = veSde({ sigmaMin: 0.1, sigmaMax: 5 });
const W = [
  [0.5, -1, 0.2],
  [1.5, 0.3, -0.7],
];
const logits = (p: Params, x: tf.Tensor) =>
  tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D) as tf.Tensor2D;
const score: ScoreFn = (x) => tf.mul(x, -0.4);
const value = (v: { total: tf.Scalar }) => v.total.dataSync()[0]!;

/** ½ mean over batch × dims of λ_i (g + s + z/σ)², by hand (linear classifier, s = −0.4 x̃). */
function dlsmByHand(
  x: tf.Tensor,
  y: tf.Tensor1D,
  k: number,
  lambda: (t: number, s: number) => number,
) {
  const { xTilde, z, std, t } = perturb(sde, x, key(k), 1e-5);
  const xt = xTilde.arraySync() as number[][];
  const zz = z.arraySync() as number[][];
  const sd = Array.from(std.dataSync());
  const ts = Array.from(t.dataSync());
  const labels = Array.from(y.dataSync());
  let acc = 0;
  for (let i = 0; i < xt.length; i++) {
    const l = [0, 1, 2].map((c) => xt[i]![0]! * W[0]![c]! + xt[i]![1]! * W[1]![c]!);
    const zsum = l.reduce((a, b) => a + Math.exp(b), 0);
    const p = l.map((b) => Math.exp(b) / zsum);
    for (let j = 0; j < 2; j++) {
      const g = W[j]![labels[i]!]! - p.reduce((a, pc, c) => a + pc * W[j]![c]!, 0);
      const r = g - 0.4 * xt[i]![j]! + zz[i]![j]! / sd[i]!;
      acc += lambda(ts[i]!, sd[i]!) * r * r;
    }
  }
  return (0.5 * acc) / (2 * xt.length);
}

describe('weightings λ(t, σ)', () => {
  it('dlsm: sigmaPower(w) is the default of w, and a custom λ(t, σ) is applied per sample', () => {
    tf.tidy(() => {
      const params = { w: tf.tensor2d(W) };
      const x = normal(key(1), [5, 2]);
      const batch = { x, y: tf.tensor1d([2, 0, 1, 1, 0], 'int32') };
      const byW = value(dlsm({ sde, logits, score, w: 2 })(params, batch, key(3)));
      const named = value(
        dlsm({ sde, logits, score, weighting: sigmaPower(2) })(params, batch, key(3)),
      );
      expect(named).toBe(byW);
      expect(byW).toBeCloseTo(
        dlsmByHand(x, batch.y, 3, (_t, s) => s ** 4),
        3,
      );
      const custom: Weighting = (t, sigma) => tf.mul(tf.add(t, 1), sigma);
      const got = value(dlsm({ sde, logits, score, weighting: custom })(params, batch, key(3)));
      const want = dlsmByHand(x, batch.y, 3, (t, s) => (t + 1) * s);
      expect(got).toBeCloseTo(want, 4);
      expect(got).not.toBeCloseTo(byW, 2);
    });
  });

  it('crossEntropy: sigmaPower(−w) is the default of w; a custom λ multiplies −log p', () => {
    tf.tidy(() => {
      const params = { w: tf.tensor2d(W) };
      const batch = { x: normal(key(4), [6, 2]), y: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32') };
      const byW = value(crossEntropy({ sde, logits, w: 1 })(params, batch, key(5)));
      const named = value(
        crossEntropy({ sde, logits, weighting: sigmaPower(-1) })(params, batch, key(5)),
      );
      expect(named).toBe(byW);
      const plain = crossEntropy({ sde, logits })(params, batch, key(5));
      const twice = crossEntropy({
        sde,
        logits,
        weighting: (t) => tf.fill(t.shape, 2) as tf.Tensor1D,
      });
      expect(value(twice(params, batch, key(5)))).toBeCloseTo(2 * value(plain), 5);
    });
  });

  it('dsm: a Weighting function equals the named weighting it implements', () => {
    tf.tidy(() => {
      const net = (p: Params, x: tf.Tensor) => tf.mul(x, p['a']!);
      const params = { a: tf.scalar(-0.3) };
      const batch = { x: normal(key(6), [8, 2]) };
      const named = value(
        dsm({ sde, score: net, weighting: 'sigmaPower', w: 2, eps: 0 })(params, batch, key(7)),
      );
      const fn = value(
        dsm({ sde, score: net, weighting: sigmaPower(2), eps: 0 })(params, batch, key(7)),
      );
      expect(fn).toBeCloseTo(named, 4);
      const likelihood = value(
        dsm({ sde, score: net, weighting: 'likelihood', eps: 0 })(params, batch, key(7)),
      );
      const g2: Weighting = (t) => tf.square(sde.diffusion(t));
      // 'likelihood' is ½ Σ_d = mean_d over 2 dims: the same number
      expect(
        value(dsm({ sde, score: net, weighting: g2, eps: 0 })(params, batch, key(7))),
      ).toBeCloseTo(likelihood, 3);
    });
  });

  it('rejects w together with weighting, non-functions and weights of the wrong shape', () => {
    expect(() => dlsm({ sde, logits, score, w: 2, weighting: sigmaPower(2) })).toThrow(
      'dlsm: give w or weighting, not both (w was 2)',
    );
    expect(() => crossEntropy({ sde, logits, weighting: 3 as never })).toThrow(
      'crossEntropy: weighting must be a Weighting (t, σ) → [B] (was number)',
    );
    expect(() => sigmaPower(Number.NaN)).toThrow('sigmaPower: w must be a finite number (was NaN)');
    tf.tidy(() => {
      const batch = { x: tf.zeros([3, 2]), y: tf.tensor1d([0, 1, 0], 'int32') };
      const bad = dlsm({ sde, logits, score, weighting: (t) => tf.reshape(t, [3, 1]) as never });
      expect(() => bad({ w: tf.tensor2d(W) }, batch, key(0))).toThrow(
        'dlsm: weighting: expected one weight per sample, shape [3], got shape [3,1]',
      );
    });
  });
});
