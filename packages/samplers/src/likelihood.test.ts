import { fillTime, key, normalPerSample, type Sde, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  bitsPerDim,
  dequantizationOffset,
  hutchinsonDivergence,
  logLikelihood,
} from './likelihood.js';
import { gaussianLogp, gaussianScore } from './testing/gaussian.js';

const mu = [1, -1];
const s = [0.5, 1.5];
/** Differential entropy of N(μ, diag s²) in nats: ½ Σ ln(2πe s_j²). */
const entropy = 0.5 * s.reduce((a, sj) => a + Math.log(2 * Math.PI * Math.E * sj * sj), 0);

const data = (seed: number, n: number) =>
  tf.tidy(() =>
    tf.add(tf.mul(normalPerSample(key(seed), [n, 2]), tf.tensor1d(s)), tf.tensor1d(mu)),
  );

describe('hutchinsonDivergence', () => {
  it('is exact for Rademacher probes and a diagonal Jacobian; returns f(x)', () => {
    const x = tf.tensor2d([
      [0.3, -1.2],
      [2.0, 0.5],
    ]);
    const probe = tf.tensor2d([
      [1, -1],
      [-1, -1],
    ]);
    const f = (v: tf.Tensor) => {
      const [a, b] = tf.split(v, 2, 1) as [tf.Tensor, tf.Tensor];
      return tf.concat([tf.mul(tf.sin(a), 2), tf.pow(b, 3)], 1);
    };
    const { value, divergence } = hutchinsonDivergence(f, x, probe);
    const want = [2 * Math.cos(0.3) + 3 * 1.44, 2 * Math.cos(2) + 3 * 0.25];
    const got = divergence.arraySync();
    want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 5));
    const fx = value.arraySync() as number[][];
    expect(fx[0]![0]).toBeCloseTo(2 * Math.sin(0.3), 6);
    expect(fx[1]![1]).toBeCloseTo(0.125, 6);
    tf.dispose([x, probe, value, divergence]);
  });

  it('is unbiased for a full Jacobian: the mean over probes is the trace (Rademacher and Gaussian)', () => {
    const A = tf.tensor2d([
      [1.5, 2.0],
      [-3.0, 0.5],
    ]);
    const n = 4000;
    const x = tf.zeros([n, 2]);
    for (const probe of [
      tf.tidy(() => tf.sign(tf.sub(normalPerSample(key(1), [n, 2]), 0))),
      normalPerSample(key(2), [n, 2]),
    ]) {
      const { value, divergence } = hutchinsonDivergence(
        (v) => tf.matMul(v, A, false, true),
        x,
        probe,
      );
      const d = Array.from(divergence.dataSync());
      const mean = d.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      expect(sd).toBeGreaterThan(0.5); // the off-diagonal terms make single estimates noisy
      expect(Math.abs(mean - 2)).toBeLessThan((4 * sd) / Math.sqrt(n));
      tf.dispose([probe, value, divergence]);
    }
    tf.dispose([A, x]);
  });
});

describe('logLikelihood on Gaussian data with the exact score', () => {
  const sdes: [string, Sde][] = [
    ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 50 })],
    ['vp', vpSde()],
  ];
  for (const [name, sde] of sdes) {
    it(`${name}: per-sample log p_ε(x) equals the closed form when the prior is p_T itself`, async () => {
      const n = 200;
      // Replace the SDE's prior N(0, σ_max² I) / N(0, I) by the exact marginal p_T of the data,
      // so that the only error left is the ODE solver's.
      const exact: Sde = {
        ...sde,
        priorLogp: (z) => tf.tidy(() => gaussianLogp(sde, mu, s, z, fillTime(z.shape[0]!, sde.T))),
      };
      const x = data(3, n);
      const out = await logLikelihood(gaussianScore(sde, mu, s), exact, x, {}, key(4));
      const want = tf.tidy(() => gaussianLogp(sde, mu, s, x, fillTime(n, 1e-5)));
      const got = out.logp.dataSync();
      const w = want.dataSync();
      let maxErr = 0;
      for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - w[i]!));
      expect(maxErr).toBeLessThan(1e-3);
      expect(out.nfe).toBeGreaterThan(0);
      tf.dispose([x, out.logp, out.bpd, out.z, want]);
    });

    it(`${name}: mean bits/dim of the data is its entropy / (d ln 2) (standard prior, offset 0)`, async () => {
      const n = 1000;
      const x = data(5, n);
      const out = await logLikelihood(gaussianScore(sde, mu, s), sde, x, {}, key(6));
      const bpd = Array.from(out.bpd.dataSync());
      const mean = bpd.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(bpd.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      const analytic = entropy / (2 * Math.LN2);
      // bpd = −log p / (d ln 2): its sampling s.d. is √(d/2) / (d ln 2) ≈ 0.72 bits
      expect(sd).toBeGreaterThan(0.5);
      expect(sd).toBeLessThan(1);
      expect(Math.abs(mean - analytic)).toBeLessThan((4 * sd) / Math.sqrt(n));
      tf.dispose([x, out.logp, out.bpd, out.z]);
    });
  }

  it('Gaussian probes give the same mean log-likelihood as Rademacher probes (unbiased)', async () => {
    const sde = vpSde();
    const n = 500;
    const x = data(7, n);
    const score = gaussianScore(sde, mu, s);
    const rad = await logLikelihood(score, sde, x, {}, key(8));
    const gau = await logLikelihood(score, sde, x, { hutchinson: 'gaussian' }, key(8));
    const r = rad.logp.dataSync();
    const g = gau.logp.dataSync();
    const diffs = Array.from(r, (v, i) => g[i]! - v);
    const mean = diffs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(sd).toBeGreaterThan(1e-3); // Gaussian probes are noisy on a diagonal Jacobian
    expect(Math.abs(mean)).toBeLessThan((4 * sd) / Math.sqrt(n) + 1e-3);
    tf.dispose([x, rad.logp, rad.bpd, rad.z, gau.logp, gau.bpd, gau.z]);
  });

  it('offset shifts bits/dim: bpd = −log p / (d ln 2) + offset', async () => {
    const sde = vpSde();
    const x = data(9, 8);
    const score = gaussianScore(sde, mu, s);
    const a = await logLikelihood(score, sde, x, { offset: dequantizationOffset() }, key(1));
    const logp = a.logp.dataSync();
    const bpd = a.bpd.dataSync();
    logp.forEach((lp, i) => expect(bpd[i]).toBeCloseTo(-lp / (2 * Math.LN2) + 8, 5));
    tf.dispose([x, a.logp, a.bpd, a.z]);
  });
});

describe('logLikelihood control', () => {
  it('aborts with an AbortError and frees its tensors', async () => {
    const sde = vpSde();
    const x = data(10, 16);
    const ac = new AbortController();
    const run = logLikelihood(gaussianScore(sde, mu, s), sde, x, {}, key(1), {
      signal: ac.signal,
      onStep: (i) => {
        if (i === 2) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', step: 2 });
    x.dispose();
  });
});

describe('bits/dim helpers', () => {
  it('dequantizationOffset: 8 bits for [0, 1] at 256 levels, 7 for [−1, 1]', () => {
    expect(dequantizationOffset()).toBe(8);
    expect(dequantizationOffset({ width: 2 })).toBe(7);
    expect(dequantizationOffset({ levels: 2 })).toBe(1);
  });

  it('bitsPerDim converts nats per sample to bits per dimension', () => {
    const logp = tf.tensor1d([-Math.LN2 * 6, 0]);
    const bpd = bitsPerDim(logp, 3, 1);
    const got = bpd.dataSync();
    expect(got[0]).toBeCloseTo(3, 5);
    expect(got[1]).toBeCloseTo(1, 6);
    tf.dispose([logp, bpd]);
  });
});
