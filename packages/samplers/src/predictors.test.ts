import { fillTime, key, normalPerSample, type Sde, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { predictors, type StepContext } from './predictors.js';
import { discreteSchedule } from './schedule.js';
import { gaussianScore } from './testing/gaussian.js';

// One step of each predictor against the formula written out by hand on the host.
const N = 10;
const ve = veSde({ sigmaMin: 0.01, sigmaMax: 50, N });
const NV = 40; // DDPM β_i = β₁/N must stay below 1
const vp = vpSde({ beta0: 0.1, beta1: 20, N: NV });
const x0 = [
  [0.5, -1.0],
  [3.0, 2.0],
  [-4.0, 0.25],
];
const B = x0.length;
const k = key(7);

/** Runs `step` at time t and returns x, x_mean, the oracle score at (x0, t) and the noise z. */
function run(sde: Sde, name: keyof typeof predictors, t: number, probabilityFlow = false) {
  const score = gaussianScore(sde, [1, -1], [0.5, 1.5]);
  return tf.tidy(() => {
    const x = tf.tensor2d(x0);
    const tVec = fillTime(B, t);
    const ctx: StepContext = {
      sde,
      score,
      schedule: discreteSchedule(sde, sde.N),
      t,
      tVec,
      probabilityFlow,
    };
    const out = predictors[name](ctx, x, k);
    return {
      x: out.x.arraySync() as number[][],
      xMean: out.xMean.arraySync() as number[][],
      s: score(x, tVec).arraySync() as number[][],
      z: normalPerSample(k, [B, 2]).arraySync() as number[][],
    };
  });
}

const sigma = (i: number) => (i < 0 ? 0 : 0.01 * 5000 ** (i / (N - 1)));
const beta = (i: number) => 0.1 / NV + (i / (NV - 1)) * (19.9 / NV);

/** float32 agreement: |got − want| ≤ 1e-5 (1 + |want|). */
function expectClose(got: number[][], want: (b: number, j: number) => number) {
  for (let b = 0; b < B; b++)
    for (let j = 0; j < 2; j++) {
      const w = want(b, j);
      expect(Math.abs(got[b]![j]! - w)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w)));
    }
}

describe('predictors', () => {
  it('reverseDiffusion on VE: x_mean = x + (σ_i² − σ_{i−1}²) s, x = x_mean + √(σ_i² − σ_{i−1}²) z', () => {
    for (const i of [0, 4, 9]) {
      const t = i / (N - 1);
      const { x, xMean, s, z } = run(ve, 'reverseDiffusion', t);
      const d = sigma(i) ** 2 - sigma(i - 1) ** 2;
      expectClose(xMean, (b, j) => x0[b]![j]! + d * s[b]![j]!);
      expectClose(x, (b, j) => xMean[b]![j]! + Math.sqrt(d) * z[b]![j]!);
    }
  });

  it('reverseDiffusion on VP: x_mean = (2 − √(1 − β_i)) x + β_i s, x = x_mean + √β_i z', () => {
    const i = 26;
    const { x, xMean, s, z } = run(vp, 'reverseDiffusion', i / (NV - 1));
    const b6 = beta(i);
    expectClose(xMean, (b, j) => (2 - Math.sqrt(1 - b6)) * x0[b]![j]! + b6 * s[b]![j]!);
    expectClose(x, (b, j) => xMean[b]![j]! + Math.sqrt(b6) * z[b]![j]!);
  });

  it('ancestral on VE: SMLD step with std √(σ_{i−1}² (σ_i² − σ_{i−1}²) / σ_i²)', () => {
    const i = 5;
    const { x, xMean, s, z } = run(ve, 'ancestral', i / (N - 1));
    const s2 = sigma(i) ** 2;
    const p2 = sigma(i - 1) ** 2;
    const std = Math.sqrt((p2 * (s2 - p2)) / s2);
    expectClose(xMean, (b, j) => x0[b]![j]! + (s2 - p2) * s[b]![j]!);
    expectClose(x, (b, j) => xMean[b]![j]! + std * z[b]![j]!);
  });

  it('ancestral on VE at the first level adds no noise (σ_{−1} = 0)', () => {
    const { x, xMean } = run(ve, 'ancestral', 0.01);
    expect(x).toEqual(xMean);
  });

  it('ancestral on VP: DDPM step x_mean = (x + β_i s)/√(1 − β_i), x = x_mean + √β_i z', () => {
    const i = 33;
    const { x, xMean, s, z } = run(vp, 'ancestral', i / (NV - 1));
    const b3 = beta(i);
    expectClose(xMean, (b, j) => (x0[b]![j]! + b3 * s[b]![j]!) / Math.sqrt(1 - b3));
    expectClose(x, (b, j) => xMean[b]![j]! + Math.sqrt(b3) * z[b]![j]!);
  });

  it('eulerMaruyama on VE: Δt = −1/N, x_mean = x + g² s / N, x = x_mean + g √(1/N) z', () => {
    const t = 0.37;
    const { x, xMean, s, z } = run(ve, 'eulerMaruyama', t);
    const g2 = (0.01 * 5000 ** t) ** 2 * 2 * Math.log(5000);
    expectClose(xMean, (b, j) => x0[b]![j]! + (g2 * s[b]![j]!) / N);
    expectClose(x, (b, j) => xMean[b]![j]! + Math.sqrt(g2 / N) * z[b]![j]!);
  });

  it('eulerMaruyama on VP: x_mean = x − (−½β x − β s)/N, x = x_mean + √(β/N) z', () => {
    const t = 0.6;
    const { x, xMean, s, z } = run(vp, 'eulerMaruyama', t);
    const b = 0.1 + t * 19.9;
    expectClose(xMean, (i, j) => x0[i]![j]! - (-0.5 * b * x0[i]![j]! - b * s[i]![j]!) / NV);
    expectClose(x, (i, j) => xMean[i]![j]! + Math.sqrt(b / NV) * z[i]![j]!);
  });

  it('probabilityFlow predictors follow the ODE: half the score term and no noise', () => {
    const t = 0.6;
    const { x, xMean, s } = run(vp, 'eulerMaruyama', t, true);
    const b = 0.1 + t * 19.9;
    expectClose(xMean, (i, j) => x0[i]![j]! - (-0.5 * b * x0[i]![j]! - 0.5 * b * s[i]![j]!) / NV);
    expect(x).toEqual(xMean);
  });

  it('none returns the input unchanged', () => {
    const { x, xMean } = run(ve, 'none', 0.5);
    expect(x).toEqual(x0);
    expect(xMean).toEqual(x0);
  });
});
