import { key } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gaussianMixture } from './gaussianMixture.js';
import { disposeOracle } from './parzen.js';

const config = {
  means: [
    [-4, 1],
    [3, -2],
    [0, 5],
  ],
  stds: [1, [0.5, 2], 1.5],
  weights: [0.2, 0.5, 0.3],
};

/** log Σ_k w_k N(x; μ_k, diag(s_k² + σ²)) in float64. */
function hostLog(x: readonly number[], sigma: number, only?: number): number {
  const terms = config.means.map((mu, k) => {
    const s = config.stds[k]!;
    let lp = only === undefined ? Math.log(config.weights[k]!) : 0;
    mu.forEach((m, j) => {
      const v = (Array.isArray(s) ? s[j]! : s) ** 2 + sigma * sigma;
      lp += -0.5 * ((x[j]! - m) ** 2 / v + Math.log(2 * Math.PI * v));
    });
    return lp;
  });
  if (only !== undefined) return terms[only]!;
  const m = Math.max(...terms);
  return m + Math.log(terms.reduce((a, t) => a + Math.exp(t - m), 0));
}

const fd = (f: (x: number[]) => number, x: number[], h = 1e-4) =>
  x.map((_, j) => {
    const p = [...x];
    const q = [...x];
    p[j]! += h;
    q[j]! -= h;
    return (f(p) - f(q)) / (2 * h);
  });

describe('gaussianMixture', () => {
  const gm = gaussianMixture(config);
  const points = [
    [0, 0],
    [-3.5, 1.2],
    [2, -1],
    [0.3, 4],
    [8, 8],
  ];

  for (const sigma of [0, 0.8]) {
    it(`closed-form scores equal finite differences of the log density (σ = ${sigma})`, () => {
      expectNoLeaks(() => {
        const x = tf.tensor2d(points);
        const o = gm.scores(x, sigma);
        const logpT = gm.logDensity(x, sigma);
        const logp = Array.from(logpT.dataSync());
        const prior = o.prior.arraySync();
        const logPost = o.logPosterior.arraySync();
        points.forEach((p, m) => {
          expect(logp[m]).toBeCloseTo(hostLog(p, sigma), 4);
          fd((q) => hostLog(q, sigma), p).forEach((g, j) => {
            expect(prior[m]![j]).toBeCloseTo(g, 3);
          });
          for (let k = 0; k < 3; k++) {
            const post = o.posterior[k]!.arraySync();
            const lik = o.likelihood[k]!.arraySync();
            fd((q) => hostLog(q, sigma, k), p).forEach((g, j) => {
              expect(post[m]![j]).toBeCloseTo(g, 3);
            });
            const logPk = (q: number[]) =>
              Math.log(config.weights[k]!) + hostLog(q, sigma, k) - hostLog(q, sigma);
            fd(logPk, p).forEach((g, j) => {
              expect(lik[m]![j]).toBeCloseTo(g, 3);
            });
            expect(logPost[m]![k]).toBeCloseTo(logPk(p), 4);
          }
        });
        tf.dispose([x, logpT]);
        disposeOracle(o);
      });
    });
  }

  it('samples have the mixture weights and moments; same key ⇒ same samples', () => {
    const s = gm.sample(key(3), 6000);
    const counts = [0, 0, 0];
    const mean = [0, 0];
    for (let i = 0; i < s.count; i++) {
      counts[s.labels[i]!]!++;
      mean[0]! += s.x[2 * i]! / s.count;
      mean[1]! += s.x[2 * i + 1]! / s.count;
    }
    counts.forEach((c, k) => {
      expect(Math.abs(c / 6000 - config.weights[k]!)).toBeLessThan(0.025);
    });
    // E[x] = Σ w_k μ_k = (0.7, 0.7).
    expect(mean[0]).toBeCloseTo(0.7, 0);
    expect(mean[1]).toBeCloseTo(0.7, 0);
    expect(gm.sample(key(3), 10).x).toEqual(s.x.subarray(0, 20));
  });

  it('rejects inconsistent configs naming the field', () => {
    expect(() => gaussianMixture({ means: [[0, 0], [1]], stds: [1, 1] })).toThrow(/means/);
    expect(() => gaussianMixture({ means: [[0, 0]], stds: [1, 1] })).toThrow(/stds/);
    expect(() =>
      gaussianMixture({
        means: [
          [0, 0],
          [1, 1],
        ],
        stds: [1, 1],
        weights: [0.5, 0.6],
      }),
    ).toThrow(/weights/);
    expect(() => gaussianMixture({ means: [[0, 0]], stds: [-1] })).toThrow(/stds/);
  });
});
