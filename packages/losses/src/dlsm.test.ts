import {
  fold,
  key,
  likelihoodScore,
  normal,
  type Params,
  type ScoreFn,
  veSde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dlsm } from './dlsm.js';
import type { LabelledBatch } from './loss.js';
import { perturb } from './perturb.js';

// A two-class Gaussian mixture in 2-D: p(y) = ½, x | y ~ N(μ_y, s² I), μ_1 = −μ_0. Perturbed
// by the VE SDE, x̃ | y ~ N(μ_y, v I) with v = s² + σ², so (equal norms ‖μ_0‖ = ‖μ_1‖)
//   log p_σ(y | x̃) = log softmax_y(μ_c · x̃ / v),
//   ∇ log p_σ(y | x̃) = (μ_y − Σ_c p_c μ_c)/v           (the true likelihood score),
//   ∇ log p_σ(x̃)     = (Σ_c p_c μ_c − x̃)/v             (the true prior score).
const M = [
  [1.5, 0.5],
  [-1.5, -0.5],
];
const S = 0.8;
const sde = veSde({ sigmaMin: 0.3, sigmaMax: 3 });

const variance = (t: tf.Tensor1D) => tf.reshape(tf.add(tf.square(sde.sigma(t)), S * S), [-1, 1]);
const means = () => tf.tensor2d(M);

const truePriorScore: ScoreFn = (x, t) =>
  tf.tidy(() => {
    const v = variance(t);
    const p = tf.softmax(tf.div(tf.matMul(x as tf.Tensor2D, means(), false, true), v));
    return tf.div(tf.sub(tf.matMul(p, means()), x), v);
  });

const trueLikelihoodScore = (x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D) =>
  tf.tidy(() => {
    const v = variance(t);
    const p = tf.softmax(tf.div(tf.matMul(x as tf.Tensor2D, means(), false, true), v));
    return tf.div(tf.matMul(tf.sub(tf.oneHot(y, 2), p), means()), v);
  });

/** Classifiers log p(y | x̃; θ) = softmax_y(μ_c · A (x̃ + δ) / v + b_c); θ* = (I, 0, 0) is exact. */
const family = (p: Params, x: tf.Tensor, t: tf.Tensor1D) =>
  tf.tidy(() => {
    const u = tf.matMul(tf.add(x, p['delta']!) as tf.Tensor2D, p['A'] as tf.Tensor2D, false, true);
    return tf.add(
      tf.div(tf.matMul(u, means(), false, true), variance(t)),
      p['bias']!,
    ) as tf.Tensor2D;
  });

const theta = (A: number[][], delta: number[], bias: number[]) => ({
  A: tf.tensor2d(A),
  delta: tf.tensor1d(delta),
  bias: tf.tensor1d(bias),
});
const c30 = Math.cos(Math.PI / 6);
const s30 = Math.sin(Math.PI / 6);
const THETAS = {
  exact: [
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
    [0, 0],
  ],
  scaled: [
    [
      [1.5, 0],
      [0, 1.5],
    ],
    [0, 0],
    [0, 0],
  ],
  shifted: [
    [
      [1, 0],
      [0, 1],
    ],
    [0.8, -0.6],
    [0, 0],
  ],
  rotated: [
    [
      [c30, -s30],
      [s30, c30],
    ],
    [0, 0],
    [0, 0],
  ],
  biased: [
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
    [0.7, -0.7],
  ],
} as const;
type Name = keyof typeof THETAS;
const NAMES = Object.keys(THETAS) as Name[];
const make = (n: Name) => theta(...(THETAS[n] as unknown as [number[][], number[], number[]]));

/** Chunk k of the labelled mixture (balanced labels). */
const chunk = (k: number, batch: number): LabelledBatch =>
  tf.tidy(() => {
    const y = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 2),
      'int32',
    );
    const x = tf.add(tf.gather(means(), y), tf.mul(normal(fold(key(31), k), [batch, 2]), S));
    return { x, y };
  });

/** The explicit likelihood score matching loss with DLSM's weighting and reduction. */
const explicitLoss = (params: Params, batch: LabelledBatch, k: ReturnType<typeof key>, w: number) =>
  tf.tidy(() => {
    const { xTilde, t, std } = perturb(sde, batch.x, k, 0);
    const g = likelihoodScore((x, tt) => family(params, x, tt))(xTilde, t, batch.y);
    const r = tf.mul(
      tf.sub(g, trueLikelihoodScore(xTilde, t, batch.y)),
      tf.reshape(tf.pow(std, w), [-1, 1]),
    );
    return tf.mul(tf.mean(tf.square(r)), 0.5) as tf.Scalar;
  });

function stats(values: readonly number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(v / n) };
}

describe('dlsm: its minimiser is the true likelihood score (Gaussian mixture, closed forms)', () => {
  for (const w of [0, 2]) {
    it(`L_DLSM(θ) − L_DLSM(θ*) = L_ELSM(θ) − L_ELSM(θ*) within Monte Carlo error (w = ${w})`, () => {
      const loss = dlsm({ sde, logits: family, score: truePriorScore, eps: 0, w });
      const thetas = Object.fromEntries(NAMES.map((n) => [n, make(n)])) as unknown as Record<
        Name,
        Params
      >;
      const L: Record<Name, number[]> = {
        exact: [],
        scaled: [],
        shifted: [],
        rotated: [],
        biased: [],
      };
      const E: Record<Name, number[]> = {
        exact: [],
        scaled: [],
        shifted: [],
        rotated: [],
        biased: [],
      };
      for (let k = 0; k < 10; k++) {
        const batch = chunk(k, 3000);
        const kk = fold(key(32), k);
        for (const n of NAMES) {
          L[n].push(tf.tidy(() => loss(thetas[n], batch, kk).total.dataSync()[0]!));
          E[n].push(tf.tidy(() => explicitLoss(thetas[n], batch, kk, w).dataSync()[0]!));
        }
        tf.dispose(batch as unknown as tf.TensorContainer);
      }
      for (const n of NAMES) tf.dispose(thetas[n] as unknown as tf.TensorContainer);
      // the closed forms agree with each other: the exact classifier's explicit loss is 0
      expect(Math.max(...E.exact)).toBeLessThan(1e-9);
      for (const n of ['scaled', 'shifted', 'rotated', 'biased'] as const) {
        const gap = stats(L[n].map((v, i) => v - L.exact[i]!));
        expect(gap.mean).toBeGreaterThan(8 * gap.se); // the exact classifier has lower loss
        const residual = stats(L[n].map((v, i) => v - L.exact[i]! - (E[n][i]! - E.exact[i]!)));
        expect(Math.abs(residual.mean)).toBeLessThan(4 * residual.se);
        expect(residual.se).toBeLessThan(0.1 * gap.mean); // sharp enough to see a wrong loss
      }
    });
  }

  it('has zero expected gradient at θ* and the explicit loss’s gradient elsewhere', () => {
    const loss = dlsm({ sde, logits: family, score: truePriorScore, eps: 0 });
    const gradsOf = (
      n: Name,
      f: (p: Params, b: LabelledBatch, k: ReturnType<typeof key>) => tf.Scalar,
      batch: LabelledBatch,
      k: ReturnType<typeof key>,
    ) =>
      tf.tidy(() => {
        const p = make(n);
        const g = tf.grads((A: tf.Tensor, delta: tf.Tensor) =>
          f({ A, delta, bias: p.bias }, batch, k),
        )([p.A, p.delta]);
        return [...g[0]!.dataSync(), ...g[1]!.dataSync()];
      });
    const atExact: number[][] = [];
    const diffScaled: number[][] = [];
    const explicitScaled: number[][] = [];
    for (let k = 0; k < 10; k++) {
      const batch = chunk(k, 3000);
      const kk = fold(key(33), k);
      const dl = (p: Params, b: LabelledBatch, kx: ReturnType<typeof key>) => loss(p, b, kx).total;
      const el = (p: Params, b: LabelledBatch, kx: ReturnType<typeof key>) =>
        explicitLoss(p, b, kx, 0);
      atExact.push(gradsOf('exact', dl, batch, kk));
      const gl = gradsOf('scaled', dl, batch, kk);
      const ge = gradsOf('scaled', el, batch, kk);
      diffScaled.push(gl.map((v, i) => v - ge[i]!));
      explicitScaled.push(ge);
      tf.dispose(batch as unknown as tf.TensorContainer);
    }
    for (let j = 0; j < 6; j++) {
      const g = stats(atExact.map((r) => r[j]!));
      expect(Math.abs(g.mean)).toBeLessThan(4 * g.se);
      const d = stats(diffScaled.map((r) => r[j]!));
      expect(Math.abs(d.mean)).toBeLessThan(4 * d.se);
    }
    // at the scaled classifier the gradient is clearly non-zero (A's diagonal)
    const gA00 = stats(explicitScaled.map((r) => r[0]!));
    const dA00 = stats(diffScaled.map((r) => r[0]!));
    expect(Math.abs(gA00.mean)).toBeGreaterThan(10 * dA00.se);
  });
});

describe('dlsm', () => {
  it('is ½ mean over B × d of ((g + s) σ^w + z σ^(w−1))² by hand (linear classifier)', () => {
    for (const w of [0, 2]) {
      tf.tidy(() => {
        const W = [
          [0.5, -1, 0.2],
          [1.5, 0.3, -0.7],
        ];
        const logits = (p: Params, x: tf.Tensor) =>
          tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D) as tf.Tensor2D;
        const score: ScoreFn = (x) => tf.mul(x, -0.4);
        const x = normal(key(1), [4, 2]);
        const y = tf.tensor1d([2, 0, 1, 1], 'int32');
        const v = dlsm({ sde, logits, score, w })({ w: tf.tensor2d(W) }, { x, y }, key(3));
        const { xTilde, z, std } = perturb(sde, x, key(3), 1e-5);
        const xt = xTilde.arraySync() as number[][];
        const zz = z.arraySync() as number[][];
        const sd = Array.from(std.dataSync());
        const labels = Array.from(y.dataSync());
        let acc = 0;
        for (let i = 0; i < 4; i++) {
          const l = [0, 1, 2].map((c) => xt[i]![0]! * W[0]![c]! + xt[i]![1]! * W[1]![c]!);
          const zsum = l.reduce((a, b) => a + Math.exp(b), 0);
          const p = l.map((b) => Math.exp(b) / zsum);
          for (let j = 0; j < 2; j++) {
            const g = W[j]![labels[i]!]! - p.reduce((a, pc, c) => a + pc * W[j]![c]!, 0);
            const s = -0.4 * xt[i]![j]!;
            const r = (g + s) * sd[i]! ** w + zz[i]![j]! * sd[i]! ** (w - 1);
            acc += r * r;
          }
        }
        expect(v.total.dataSync()[0]!).toBeCloseTo((0.5 * acc) / 8, 3);
        expect(Object.keys(v.terms)).toEqual(['dlsm']);
      });
    }
  });

  it('validates its options and the score shape', () => {
    const logits = (p: Params, x: tf.Tensor) =>
      tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D) as tf.Tensor2D;
    expect(() => dlsm({ sde, logits, score: undefined as never })).toThrow(
      'dlsm: score must be a ScoreFn (x, t) → score (bound to its weights) (was missing)',
    );
    expect(() => dlsm({ sde, logits, score: truePriorScore, w: '2' as never })).toThrow(
      /dlsm: w must be a number \(was a string\)/,
    );
    tf.tidy(() => {
      const bad = dlsm({ sde, logits, score: (x) => tf.sum(x, 1) });
      const batch = { x: tf.zeros([3, 2]), y: tf.tensor1d([0, 1, 0], 'int32') };
      expect(() => bad({ w: tf.ones([2, 2]) }, batch, key(0))).toThrow(
        'dlsm: score: expected shape [3,2] (like x), got shape [3]',
      );
    });
  });
});
