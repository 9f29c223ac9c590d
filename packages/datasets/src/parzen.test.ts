import { key, normalArray } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { evaluationGrid, twoMoons } from './moons.js';
import {
  disposeOracle,
  oracleScores,
  parzenConditionalScores,
  parzenLogDensity,
  parzenScore,
} from './parzen.js';
import type { PointSet } from './pointSet.js';

/** log Σ_{i∈S} N(q; x_i, σ²I) − log |S| in float64 on the host (the reference). */
function hostLogParzen(set: PointSet, q: readonly number[], sigma: number, cls?: number): number {
  const d = set.dim;
  const logs: number[] = [];
  for (let i = 0; i < set.count; i++) {
    if (cls !== undefined && set.labels[i] !== cls) continue;
    let s = 0;
    for (let j = 0; j < d; j++) s += (q[j]! - set.x[i * d + j]!) ** 2;
    logs.push(-s / (2 * sigma * sigma));
  }
  const m = Math.max(...logs);
  const lse = m + Math.log(logs.reduce((a, l) => a + Math.exp(l - m), 0));
  return lse - Math.log(logs.length) - (d / 2) * Math.log(2 * Math.PI * sigma * sigma);
}

/** Central finite differences of f at q (float64). */
function fdGrad(f: (q: number[]) => number, q: readonly number[], h = 1e-4): number[] {
  return q.map((_, j) => {
    const plus = [...q];
    const minus = [...q];
    plus[j]! += h;
    minus[j]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** A small random labelled set: 3 classes in d dims, from a key. */
function smallSet(d: number, n: number): PointSet {
  const x = normalArray(key(d * 100 + n), n * d).map((v) => 3 * v);
  return {
    x,
    dim: d,
    count: n,
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    classNames: ['a', 'b', 'c'],
  };
}

const queriesFor = (d: number, m: number) => normalArray(key(7 + d), m * d).map((v) => 4 * v);
const rows = (t: tf.Tensor, d: number) => {
  const v = Array.from(t.dataSync());
  return Array.from({ length: v.length / d }, (_, i) => v.slice(i * d, (i + 1) * d));
};
const logPosterior = (set: PointSet, q: number[], sigma: number, c: number) => {
  const counts = [0, 0, 0];
  for (const y of set.labels) counts[y]!++;
  const lc = [0, 1, 2].map(
    (k) => hostLogParzen(set, q, sigma, k) + Math.log(counts[k]! / set.count),
  );
  const m = Math.max(...lc);
  return lc[c]! - (m + Math.log(lc.reduce((a, l) => a + Math.exp(l - m), 0)));
};

describe('Parzen oracle scores', () => {
  for (const [d, sigma] of [
    [2, 0.7],
    [2, 3],
    [3, 1.5],
  ] as const) {
    it(`equal finite differences of the float64 log Parzen density (d=${d}, σ=${sigma})`, () => {
      const set = smallSet(d, 30);
      const qs = queriesFor(d, 6);
      expectNoLeaks(() => {
        const q = tf.tensor2d(qs, [6, d]);
        // Tiny chunks force several query and point chunks through the running log-sum-exp.
        const chunks = { queryChunk: 4, chunkElements: 4 * 8 };
        const scoreT = parzenScore(set, q, sigma, chunks);
        const logpT = parzenLogDensity(set, q, sigma, chunks);
        const score = rows(scoreT, d);
        const logp = Array.from(logpT.dataSync());
        const o = oracleScores(set, q, sigma, chunks);
        const prior = rows(o.prior, d);
        const post = o.posterior.map((t) => rows(t, d));
        const lik = o.likelihood.map((t) => rows(t, d));
        const logPost = rows(o.logPosterior, 3);
        for (let m = 0; m < 6; m++) {
          const qm = Array.from(qs.subarray(m * d, (m + 1) * d));
          expect(logp[m]).toBeCloseTo(hostLogParzen(set, qm, sigma), 3);
          const fd = fdGrad((p) => hostLogParzen(set, p, sigma), qm);
          const tol = 1e-3 * (1 + Math.max(...fd.map(Math.abs)));
          fd.forEach((g, j) => {
            expect(Math.abs(score[m]![j]! - g), `score q${m} dim ${j}`).toBeLessThan(tol);
            expect(Math.abs(prior[m]![j]! - g), `prior q${m} dim ${j}`).toBeLessThan(tol);
          });
          for (let c = 0; c < 3; c++) {
            const fdc = fdGrad((p) => hostLogParzen(set, p, sigma, c), qm);
            const fdl = fdGrad((p) => logPosterior(set, p, sigma, c), qm);
            fdc.forEach((g, j) => {
              expect(Math.abs(post[c]![m]![j]! - g), `posterior c${c}`).toBeLessThan(
                1e-3 * (1 + Math.abs(g)),
              );
            });
            fdl.forEach((g, j) => {
              expect(Math.abs(lik[c]![m]![j]! - g), `likelihood c${c}`).toBeLessThan(
                1e-3 * (1 + Math.abs(g)),
              );
            });
            expect(logPost[m]![c]).toBeCloseTo(logPosterior(set, qm, sigma, c), 3);
          }
        }
        tf.dispose([q, scoreT, logpT]);
        disposeOracle(o);
      });
    });
  }

  it('stays finite and exact far from the data at small σ (log-sum-exp)', () => {
    const set: PointSet = {
      x: Float32Array.of(0, 0, 1, 0),
      dim: 2,
      count: 2,
      labels: Int32Array.of(0, 1),
      classNames: ['a', 'b'],
    };
    expectNoLeaks(() => {
      const q = tf.tensor2d([[30, 4]]);
      const s = parzenScore(set, q, 0.05);
      // All weight on the nearest point (1, 0): score = ((1, 0) − q)/σ².
      const got = Array.from(s.dataSync());
      expect(got[0]).toBeCloseTo((1 - 30) / 0.0025, 0);
      expect(got[1]).toBeCloseTo(-4 / 0.0025, 0);
      tf.dispose([q, s]);
    });
  });

  it('on the moons (10,000 points × the 35×35 grid at σ = 7.5) agrees with float64 on sampled queries', () => {
    const moons = twoMoons();
    const grid = evaluationGrid();
    expectNoLeaks(() => {
      const q = tf.tensor2d(grid, [1225, 2]);
      const o = oracleScores(moons, q, 7.5);
      const prior = rows(o.prior, 2);
      const post0 = rows(o.posterior[0]!, 2);
      const lik1 = rows(o.likelihood[1]!, 2);
      for (const m of [0, 17, 300, 612, 999, 1224]) {
        const qm = [grid[2 * m]!, grid[2 * m + 1]!];
        // Analytic reference: softmax-weighted mean of (x_i − q)/σ² in float64.
        const ref = (cls?: number) => {
          const w: number[] = [];
          const idx: number[] = [];
          for (let i = 0; i < moons.count; i++) {
            if (cls !== undefined && moons.labels[i] !== cls) continue;
            w.push(
              -((qm[0]! - moons.x[2 * i]!) ** 2 + (qm[1]! - moons.x[2 * i + 1]!) ** 2) /
                (2 * 56.25),
            );
            idx.push(i);
          }
          const mx = Math.max(...w);
          let z = 0;
          const acc = [0, 0];
          w.forEach((l, k) => {
            const e = Math.exp(l - mx);
            z += e;
            acc[0]! += e * (moons.x[2 * idx[k]!]! - qm[0]!);
            acc[1]! += e * (moons.x[2 * idx[k]! + 1]! - qm[1]!);
          });
          return acc.map((a) => a / z / 56.25);
        };
        const rp = ref();
        const r0 = ref(0);
        const r1 = ref(1);
        for (let j = 0; j < 2; j++) {
          expect(prior[m]![j]).toBeCloseTo(rp[j]!, 4);
          expect(post0[m]![j]).toBeCloseTo(r0[j]!, 4);
          expect(lik1[m]![j]).toBeCloseTo(r1[j]! - rp[j]!, 4);
        }
      }
      tf.dispose(q);
      disposeOracle(o);
    });
  });
});

describe('parzenConditionalScores', () => {
  it('are the oracle posterior and likelihood scores as (x, t, y) functions, one class per batch', () => {
    const set = smallSet(2, 30);
    const qs = queriesFor(2, 6);
    expectNoLeaks(() => {
      const q = tf.tensor2d(qs, [6, 2]);
      const t = tf.fill([6], 0.5) as tf.Tensor1D;
      const o = oracleScores(set, q, 1.5);
      const scores = parzenConditionalScores(set, 1.5);
      for (let c = 0; c < 3; c++) {
        const y = tf.fill([6], c, 'int32') as tf.Tensor1D;
        const post = scores.posterior(q, t, y);
        const lik = scores.likelihood(q, t, y);
        const wantPost = rows(o.posterior[c]!, 2).flat();
        rows(post, 2)
          .flat()
          .forEach((v, i) => expect(v).toBeCloseTo(wantPost[i]!, 4));
        const want = rows(o.likelihood[c]!, 2).flat();
        rows(lik, 2)
          .flat()
          .forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
        tf.dispose([y, post, lik]);
      }
      const mixed = tf.tensor1d([0, 1, 0, 0, 0, 0], 'int32');
      expect(() => scores.likelihood(q, t, mixed)).toThrow(
        'parzenConditionalScores: labels: expected one class per batch (0), got 1',
      );
      disposeOracle(o);
      tf.dispose([q, t, mixed]);
    });
  });
});
