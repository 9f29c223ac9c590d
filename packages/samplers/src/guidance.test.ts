import { fillTime, key, likelihoodScore, ScorekitException, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { classifierFreeGuidance, classifierGuidance } from './guidance.js';
import { pcSampler } from './pc.js';
import { odeSampler } from './probabilityFlow.js';
import {
  classMean,
  mixtureConditionalScore,
  mixtureLogits,
  mixtureScore,
} from './testing/gaussian.js';

// Two classes: y = 0 ~ N(+m, s²), y = 1 ~ N(−m, s²), equal weights. With the exact logits
// log p_t(y | x) the guided score at α = 1 is exactly the class-conditional score.
const m = [1, 0.5];
const s = [0.8, 0.8];
const x0 = [
  [0.3, -0.2],
  [1.7, 2.5],
  [-2, 0.4],
  [0.0, 0.0],
];
const B = x0.length;

function evalAt(score: (x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor, time: number) {
  return tf.tidy(() => score(tf.tensor2d(x0), fillTime(B, time)).arraySync() as number[][]);
}

function expectAllClose(a: number[][], b: number[][], tol = 1e-4) {
  a.forEach((r, i) => r.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol)));
}

describe('guidance as score transformers (exact two-class oracle)', () => {
  for (const [name, sde] of [
    ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 50 })],
    ['vp', vpSde()],
  ] as const) {
    for (const time of [0.05, 0.4]) {
      const y = [0, 1, 1, 0];
      const uncond = mixtureScore(sde, m, s);
      const logits = mixtureLogits(sde, m, s);
      const cond = mixtureConditionalScore(sde, m, s);
      const condAt = (labels: number[]) =>
        tf.tidy(
          () =>
            cond(
              tf.tensor2d(x0),
              fillTime(B, time),
              tf.tensor1d(labels, 'int32'),
            ).arraySync() as number[][],
        );

      it(`${name}, t = ${time}: likelihoodScore = ∇ log p_t(y|x) = s(x|y) − s(x)`, () => {
        const g = evalAt(
          (x, t) => tf.tidy(() => likelihoodScore(logits)(x, t, tf.tensor1d(y, 'int32'))),
          time,
        );
        const su = evalAt(uncond, time);
        const sc = condAt(y);
        expectAllClose(
          g,
          sc.map((r, i) => r.map((v, j) => v - su[i]![j]!)),
        );
      });

      it(`${name}, t = ${time}: classifierGuidance α = 1 is the class-conditional score; α = 3 adds 3 ∇ log p`, () => {
        const su = evalAt(uncond, time);
        const sc = condAt(y);
        expectAllClose(evalAt(classifierGuidance(uncond, logits, y), time), sc);
        const g3 = evalAt(classifierGuidance(uncond, logits, y, { scale: 3 }), time);
        expectAllClose(
          g3,
          su.map((r, i) => r.map((v, j) => v + 3 * (sc[i]![j]! - v))),
        );
      });

      it(`${name}, t = ${time}: classifierFreeGuidance (1 + w) s(x|y) − w s(x) = classifier guidance at α = 1 + w`, () => {
        expectAllClose(evalAt(classifierFreeGuidance(cond, uncond, y), time), condAt(y));
        const cfg = evalAt(classifierFreeGuidance(cond, uncond, y, { scale: 2 }), time);
        const cg = evalAt(classifierGuidance(uncond, logits, y, { scale: 3 }), time);
        expectAllClose(cfg, cg);
      });
    }
  }

  it('labels may be one number, an array or a tensor; a wrong count is a ShapeError', () => {
    const sde = vpSde();
    const uncond = mixtureScore(sde, m, s);
    const logits = mixtureLogits(sde, m, s);
    const a = evalAt(classifierGuidance(uncond, logits, 1), 0.3);
    const b = evalAt(classifierGuidance(uncond, logits, [1, 1, 1, 1]), 0.3);
    const yT = tf.tensor1d([1, 1, 1, 1]); // float labels are cast to int32
    const c = evalAt(classifierGuidance(uncond, logits, yT), 0.3);
    yT.dispose();
    expect(a).toEqual(b);
    expect(c).toEqual(b);
    expect(() => evalAt(classifierGuidance(uncond, logits, [0, 1]), 0.3)).toThrow(
      ScorekitException,
    );
    expect(() => evalAt(classifierGuidance(uncond, logits, [0, 1]), 0.3)).toThrow(
      /classifierGuidance: y: expected 4 labels \(one per sample\), got 2/,
    );
  });
});

describe('guided sampling draws from the requested class', () => {
  const sde = vpSde({ N: 100 });
  const n = 1000;
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const norm = Math.hypot(...m);
  const dir = m.map((v) => v / norm);

  /** Per class: mean, fraction on the class's side of the boundary, variance along m. */
  function classStats(x: tf.Tensor) {
    const data = x.dataSync();
    return [0, 1].map((y) => {
      const rows: number[][] = [];
      labels.forEach((l, i) => {
        if (l === y) rows.push([data[2 * i]!, data[2 * i + 1]!]);
      });
      const mean = [0, 1].map((j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length);
      const proj = rows.map((r) => (r[0]! * dir[0]! + r[1]! * dir[1]!) * (y === 0 ? 1 : -1));
      const right = proj.filter((p) => p > 0).length / rows.length;
      const pm = proj.reduce((a, p) => a + p, 0) / rows.length;
      const spread = proj.reduce((a, p) => a + (p - pm) ** 2, 0) / rows.length;
      return { mean, right, spread, count: rows.length };
    });
  }

  it('PC sampler, α = 1: class means ±m; α = 3 sharpens (more on the right side, less spread)', async () => {
    const uncond = mixtureScore(sde, m, s);
    const logits = mixtureLogits(sde, m, s);
    const run = async (scale: number) => {
      const out = await pcSampler(
        classifierGuidance(uncond, logits, labels, { scale }),
        sde,
        { shape: [n, 2] },
        key(12),
      );
      const stats = classStats(out.samples);
      tf.dispose([out.samples, out.xMean]);
      return stats;
    };
    const plain = await run(1);
    const sharp = await run(3);
    // P(right side) for N(±m, s² I) projected on m̂: Φ(|m| / s)
    const phi = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));
    const pRight = phi(norm / s[0]!);
    for (const y of [0, 1]) {
      const st = plain[y]!;
      const se = s[0]! / Math.sqrt(st.count);
      classMean(m, y).forEach((mj, j) =>
        expect(Math.abs(st.mean[j]! - mj)).toBeLessThan(4 * se + 0.03),
      );
      expect(Math.abs(st.right - pRight)).toBeLessThan(
        4 * Math.sqrt((pRight * (1 - pRight)) / st.count) + 0.01,
      );
      expect(Math.abs(st.spread / s[0]! ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / st.count) + 0.05);
      expect(sharp[y]!.right).toBeGreaterThan(st.right + 0.04);
      expect(sharp[y]!.spread).toBeLessThan(0.85 * st.spread);
    }
  });

  it('the probability-flow ODE sampler takes the same guided score unchanged', async () => {
    const guided = classifierGuidance(mixtureScore(sde, m, s), mixtureLogits(sde, m, s), labels);
    const out = await odeSampler(guided, sde, { shape: [n, 2], method: 'rk45' }, key(13));
    const stats = classStats(out.samples);
    for (const y of [0, 1])
      classMean(m, y).forEach((mj, j) =>
        expect(Math.abs(stats[y]!.mean[j]! - mj)).toBeLessThan(
          (4 * s[0]!) / Math.sqrt(n / 2) + 0.03,
        ),
      );
    tf.dispose([out.samples, out.xMean]);
  });
});

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const sign = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return sign * y;
}
