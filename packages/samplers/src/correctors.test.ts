import { fillTime, fold, key, normalPerSample, type Sde, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countCalls } from './control.js';
import { type CorrectorSettings, correctors } from './correctors.js';
import type { StepContext } from './predictors.js';
import { discreteSchedule } from './schedule.js';
import { gaussianScore } from './testing/gaussian.js';

// One corrector call against score_sde's update written out by hand on the host.
const x0 = [
  [0.5, -1.0],
  [3.0, 2.0],
  [-4.0, 0.25],
  [1.0, 1.0],
];
const B = x0.length;
const k = key(11);
const mu = [1, -1];
const s = [0.5, 1.5];

type Host = number[][];
const norm = (v: number[]) => Math.hypot(...v);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function run(
  sde: Sde,
  name: keyof typeof correctors,
  t: number,
  settings: Partial<CorrectorSettings> = {},
) {
  const counted = countCalls(gaussianScore(sde, mu, s));
  const full: CorrectorSettings = { snr: 0.16, nStepsEach: 1, langevinNorms: 'batch', ...settings };
  const out = tf.tidy(() => {
    const tVec = fillTime(B, t);
    const ctx: StepContext = {
      sde,
      score: counted.score,
      schedule: discreteSchedule(sde, sde.N),
      t,
      tVec,
      probabilityFlow: false,
    };
    const r = correctors[name](ctx, tf.tensor2d(x0), k, full);
    return { x: r.x.arraySync() as Host, xMean: r.xMean.arraySync() as Host };
  });
  return { ...out, calls: counted.count() };
}

/** The oracle score and the corrector's j-th noise at host points. */
function oracle(sde: Sde, x: Host, t: number, j: number): { g: Host; z: Host } {
  return tf.tidy(() => ({
    g: gaussianScore(sde, mu, s)(tf.tensor2d(x), fillTime(x.length, t)).arraySync() as Host,
    z: normalPerSample(fold(k, j), [x.length, 2]).arraySync() as Host,
  }));
}

/** score_sde's Langevin update on the host; per-sample norms when `perSample`. */
function langevinHost(sde: Sde, t: number, alpha: number, steps: number, perSample = false) {
  let x = x0.map((r) => r.slice());
  let xMean = x;
  for (let j = 0; j < steps; j++) {
    const { g, z } = oracle(sde, x, t, j);
    const batchEps = 2 * alpha * ((0.16 * mean(z.map(norm))) / mean(g.map(norm))) ** 2;
    const eps = x.map((_, b) =>
      perSample ? 2 * alpha * ((0.16 * norm(z[b]!)) / norm(g[b]!)) ** 2 : batchEps,
    );
    xMean = x.map((r, b) => r.map((v, d) => v + eps[b]! * g[b]![d]!));
    x = xMean.map((r, b) => r.map((v, d) => v + Math.sqrt(2 * eps[b]!) * z[b]![d]!));
  }
  return { x, xMean };
}

function expectClose(got: Host, want: Host) {
  got.forEach((r, b) =>
    r.forEach((v, d) => {
      const w = want[b]![d]!;
      expect(Math.abs(v - w)).toBeLessThanOrEqual(2e-5 * (1 + Math.abs(w)));
    }),
  );
}

const ve = veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 100 });
const vp = vpSde({ N: 100 });

describe('correctors', () => {
  it('langevin (VE): ε = 2 (snr · mean‖ξ‖ / mean‖S‖)², x_mean = x + ε S, x = x_mean + √(2ε) ξ', () => {
    const got = run(ve, 'langevin', 0.3);
    const want = langevinHost(ve, 0.3, 1, 1);
    expectClose(got.xMean, want.xMean);
    expectClose(got.x, want.x);
    expect(got.calls).toBe(1);
  });

  it('langevin (VP): α_i = 1 − β_i of the DDPM table', () => {
    const t = 0.7;
    const i = Math.round(t * 99);
    const alpha = 1 - (0.1 / 100 + (i / 99) * (19.9 / 100));
    const got = run(vp, 'langevin', t);
    expectClose(got.x, langevinHost(vp, t, alpha, 1).x);
  });

  it('langevin with nStepsEach = 3 chains three steps, each with fresh noise fold(key, j)', () => {
    const got = run(ve, 'langevin', 0.5, { nStepsEach: 3 });
    const want = langevinHost(ve, 0.5, 1, 3);
    expectClose(got.xMean, want.xMean);
    expectClose(got.x, want.x);
    expect(got.calls).toBe(3);
  });

  it("langevin with langevinNorms 'sample' uses each sample's own norms", () => {
    const got = run(ve, 'langevin', 0.2, { langevinNorms: 'sample' });
    const want = langevinHost(ve, 0.2, 1, 1, true);
    expectClose(got.x, want.x);
    // and differs from the batch rule
    const batch = langevinHost(ve, 0.2, 1, 1, false);
    const diff = Math.max(
      ...got.x.flatMap((r, b) => r.map((v, d) => Math.abs(v - batch.x[b]![d]!))),
    );
    expect(diff).toBeGreaterThan(1e-2);
  });

  it('annealedLangevin: ε = 2 α (snr σ(t))² with σ(t) the marginal std', () => {
    for (const [sde, t, alpha, std] of [
      [ve, 0.4, 1, 0.01 * 5000 ** 0.4],
      [
        vp,
        0.4,
        1 - (0.1 / 100 + (Math.round(0.4 * 99) / 99) * (19.9 / 100)),
        Math.sqrt(1 - Math.exp(-0.5 * 0.16 * 19.9 - 0.4 * 0.1)),
      ],
    ] as const) {
      const got = run(sde, 'annealedLangevin', t, { nStepsEach: 2 });
      const eps = 2 * alpha * (0.16 * std) ** 2;
      let x = x0;
      let xMean = x0;
      for (let j = 0; j < 2; j++) {
        const { g, z } = oracle(sde, x, t, j);
        xMean = x.map((r, b) => r.map((v, d) => v + eps * g[b]![d]!));
        x = xMean.map((r, b) => r.map((v, d) => v + Math.sqrt(2 * eps) * z[b]![d]!));
      }
      expectClose(got.xMean, xMean);
      expectClose(got.x, x);
      expect(got.calls).toBe(2);
    }
  });

  it('none returns the input and never calls the score', () => {
    const got = run(ve, 'none', 0.5);
    expect(got.x).toEqual(x0);
    expect(got.xMean).toEqual(x0);
    expect(got.calls).toBe(0);
  });
});
