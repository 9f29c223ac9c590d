import { logSoftmax, veSde, vpSde } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type ConditionalScores,
  meanScoreDistance,
  scoreErrorGrid,
  scoreErrors,
  timeOfStd,
} from './scoreError.js';

/** Class means of a two-Gaussian stand-in for the oracle: μ₀ = (−10, 5), μ₁ = (10, −5). */
const mu = (y: tf.Tensor1D) =>
  tf.stack(
    [tf.sub(tf.mul(tf.cast(y, 'float32'), 20), 10), tf.sub(5, tf.mul(tf.cast(y, 'float32'), 10))],
    1,
  );

/** Oracle: posterior −(x − μ_y)/(1 + σ²); likelihood −(x − μ_y)/(1 + σ²) + x/(1 + σ²). */
const oracle: ConditionalScores = {
  posterior: (x, s, y) =>
    tf.tidy(() => tf.div(tf.sub(mu(y), x), tf.reshape(tf.add(1, tf.square(s)), [-1, 1]))),
  likelihood: (_x, s, y) =>
    tf.tidy(() => tf.div(mu(y), tf.reshape(tf.add(1, tf.square(s)), [-1, 1]))),
};

describe('score errors D_P, D_L (Chao et al. 2022, §5.1)', () => {
  it('builds the 35 × 35 grid on [−40, 40] × [−25, 25]', () => {
    const values = expectNoLeaks(() => {
      const grid = scoreErrorGrid();
      const v = grid.arraySync();
      grid.dispose();
      return v;
    });
    expect(values).toHaveLength(1225);
    expect(values[0]).toEqual([-40, -25]);
    expect(values[1]![0]).toBeCloseTo(-40 + 80 / 34, 5);
    expect(values[1]![1]).toBe(-25);
    expect(values[35]).toEqual([-40, expect.closeTo(-25 + 50 / 34, 5)]);
    expect(values[1224]).toEqual([40, 25]);
  });

  it('are 0 for the oracle itself', () => {
    const grid = scoreErrorGrid();
    const r = expectNoLeaks(() => scoreErrors(oracle, oracle, grid, { classes: [0, 1] }));
    grid.dispose();
    expect(r).toMatchObject({ dP: 0, dL: 0, sigma: 7.5, alpha: 1, points: 1225 });
    expect(r.perClass.map((c) => c.label)).toEqual([0, 1]);
  });

  it('match hand computations for a shifted posterior and a halved likelihood score', () => {
    const grid = scoreErrorGrid({ n: 5 });
    // S_P = oracle + (3, 4) ⇒ ‖S_P − oracle‖ = 5 at every point ⇒ D_P = 5.
    // g = oracle likelihood / 2 = μ_y / (2 (1 + σ²)): with α = 2, D_L = 0; with α = 1,
    // D_L = ‖μ_y‖ / (2 (1 + σ²)) = √125 / (2 · 57.25) for both classes at σ = 7.5.
    const model: ConditionalScores = {
      posterior: (x, s, y) => tf.tidy(() => tf.add(oracle.posterior(x, s, y), tf.tensor1d([3, 4]))),
      likelihood: (x, s, y) => tf.tidy(() => tf.div(oracle.likelihood(x, s, y), 2)),
    };
    const scaled = expectNoLeaks(() => scoreErrors(model, oracle, grid, { alpha: 2 }));
    expect(scaled.dP).toBeCloseTo(5, 5);
    expect(scaled.dL).toBeCloseTo(0, 7);
    const plain = scoreErrors(model, oracle, grid, { alpha: 1, batchSize: 7 });
    expect(plain.dL).toBeCloseTo(Math.sqrt(125) / (2 * 57.25), 6);
    plain.perClass.forEach((c) => {
      expect(c.dP).toBeCloseTo(5, 5);
    });
    grid.dispose();
  });

  it('evaluates a classifier input gradient g = ∇ log softmax(x W)_y against its closed form', () => {
    // logits l = x W ⇒ ∇ₓ log p(y|x) = W[:, y] − W p(x): the closed form as the "oracle".
    const w = tf.tensor2d([
      [0.3, -0.2],
      [-0.1, 0.4],
    ]);
    const g: ConditionalScores['likelihood'] = (x, _t, y) =>
      tf.tidy(() =>
        tf.grad((xi: tf.Tensor) =>
          tf.sum(tf.mul(logSoftmax(tf.matMul(xi as tf.Tensor2D, w)), tf.oneHot(y, 2))),
        )(x),
      );
    const closed: ConditionalScores['likelihood'] = (x, _t, y) =>
      tf.tidy(() => {
        const p = tf.softmax(tf.matMul(x as tf.Tensor2D, w));
        return tf.sub(tf.matMul(tf.oneHot(y, 2), w, false, true), tf.matMul(p, w, false, true));
      });
    const grid = scoreErrorGrid({ n: 9 });
    const d = expectNoLeaks(() => meanScoreDistance(g, closed, grid, 1, 7.5, { batchSize: 10 }));
    expect(d).toBeLessThan(1e-6);
    // and a wrong closed form (sign flipped) is detected
    const wrong: ConditionalScores['likelihood'] = (x, t, y) =>
      tf.tidy(() => tf.neg(closed(x, t, y)));
    expect(meanScoreDistance(g, wrong, grid, 1, 7.5)).toBeGreaterThan(0.01);
    grid.dispose();
    w.dispose();
  });

  it('rejects scores of the wrong shape', () => {
    const grid = scoreErrorGrid({ n: 2 });
    const bad = (x: tf.Tensor) => tf.sum(x, 1);
    expect(() => meanScoreDistance(bad, oracle.posterior, grid, 0, 1)).toThrow(/shape \[4,2\]/);
    grid.dispose();
  });

  it('evaluates scores over time at t(σ) of an SDE: the same numbers as scores over σ, no glue', () => {
    const sde = veSde({ sigmaMin: 1e-3, sigmaMax: 10 });
    // the σ-model above, re-expressed over VE time: σ(t) = σ_min (σ_max/σ_min)^t
    const overTime =
      (f: ConditionalScores['posterior']): ConditionalScores['posterior'] =>
      (x, t, y) =>
        tf.tidy(() => f(x, sde.marginalStd(t), y));
    const shifted: ConditionalScores = {
      posterior: (x, s, y) =>
        tf.tidy(() => tf.add(oracle.posterior(x, s, y), tf.tensor1d([0.3, 0.1]))),
      likelihood: (x, s, y) => tf.tidy(() => tf.mul(oracle.likelihood(x, s, y), 0.7)),
    };
    const timed: ConditionalScores = {
      posterior: overTime(shifted.posterior),
      likelihood: overTime(shifted.likelihood),
    };
    const oracleTimed: ConditionalScores = {
      posterior: overTime(oracle.posterior),
      likelihood: overTime(oracle.likelihood),
    };
    const grid = scoreErrorGrid({ n: 6 });
    const bySigma = scoreErrors(shifted, oracle, grid, { sigma: 7.5 });
    const byTime = expectNoLeaks(() => scoreErrors(timed, oracleTimed, grid, { sigma: 7.5, sde }));
    expect(byTime.time).toBeCloseTo(Math.log(7500) / Math.log(10000), 10);
    expect(bySigma.time).toBe(7.5);
    expect(byTime.dP).toBeCloseTo(bySigma.dP, 4);
    expect(byTime.dL).toBeCloseTo(bySigma.dL, 4);
    expect(bySigma.dL).toBeGreaterThan(0.01);
    grid.dispose();
  });

  it('timeOfStd inverts the marginal std (VE closed form, VP by bisection) and rejects σ out of range', () => {
    const ve = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    const vp = vpSde();
    expectNoLeaks(() => {
      for (const [sde, sigma] of [
        [ve, 7.5],
        [vp, 0.5],
      ] as const) {
        const t = timeOfStd(sde, sigma);
        const back = tf.tidy(() => sde.marginalStd(tf.tensor1d([t])).dataSync()[0]!);
        expect(back).toBeCloseTo(sigma, 5);
      }
      expect(() => timeOfStd(vp, 7.5)).toThrow(
        /scoreErrors: sigma must lie in the SDE's noise range \[0, 0\.99/,
      );
    });
  });
});
