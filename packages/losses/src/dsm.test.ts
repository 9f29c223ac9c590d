import {
  fold,
  key,
  normal,
  type Params,
  ScorekitException,
  type Sde,
  subVpSde,
  veSde,
  vpSde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type DsmConfig, dsm, dsmConfig } from './dsm.js';
import { perturb } from './perturb.js';

// Gaussian data N(μ, s² I) in d dimensions. Under any of the SDEs x_t | x_0 ~ N(a x_0, std² I),
// so x_t ~ N(a μ, (a² s² + std²) I) and its exact score is s*(x̃, t) = −(x̃ − a μ)/(a² s² + std²).
// With x̃ = a x + std z and x = μ + s u:  std s* + z = (−std a s u + a² s² z)/(a² s² + std²), so
//   E‖std s* + z‖² = d a² s² / (a² s² + std²) =: d c(t)   (for VE, a = 1: d s²/(s² + σ²)).
const MU = [1, -2, 0.5];
const S = 1.5;
const D = MU.length;

/** Host-side a(t), std(t)², g(t)² of the three SDEs. */
function schedule(sde: Sde, t: number): { a: number; std2: number; g2: number } {
  switch (sde.kind) {
    case 've': {
      const { sigmaMin, sigmaMax } = (sde as ReturnType<typeof veSde>).config;
      const sigma = sigmaMin * (sigmaMax / sigmaMin) ** t;
      return { a: 1, std2: sigma * sigma, g2: sigma * sigma * 2 * Math.log(sigmaMax / sigmaMin) };
    }
    case 'vp':
    case 'subvp': {
      const { beta0, beta1 } = (sde as ReturnType<typeof vpSde>).config;
      const lmc = -0.25 * t * t * (beta1 - beta0) - 0.5 * t * beta0;
      const beta = beta0 + t * (beta1 - beta0);
      if (sde.kind === 'vp') return { a: Math.exp(lmc), std2: 1 - Math.exp(2 * lmc), g2: beta };
      const std = 1 - Math.exp(2 * lmc);
      const discount = 1 - Math.exp(-2 * beta0 * t - (beta1 - beta0) * t * t);
      return { a: Math.exp(lmc), std2: std * std, g2: beta * discount };
    }
  }
}

/** E over t ~ U(eps, 1) of the expected per-sample loss of the exact score (Simpson's rule). */
function expectedLoss(sde: Sde, config: DsmConfig): number {
  const f = (t: number) => {
    const { a, std2, g2 } = schedule(sde, t);
    const c = (a * a * S * S) / (a * a * S * S + std2);
    switch (config.weighting) {
      case 'sigma2':
        return 0.5 * D * c;
      case 'reduceMean':
        return c;
      case 'likelihood':
        return ((0.5 * g2) / std2) * D * c;
      case 'sigmaPower':
        return std2 ** (config.w - 1) * c;
    }
  };
  const n = 20_000;
  const h = (1 - config.eps) / n;
  let acc = f(config.eps) + f(1);
  for (let i = 1; i < n; i++) acc += (i % 2 === 1 ? 4 : 2) * f(config.eps + i * h);
  return (acc * h) / 3 / (1 - config.eps);
}

/** The exact score of x_t's marginal, scaled and shifted by params (1 and 0 = exact). */
const gaussianScore = (sde: Sde) => (params: Params, x: tf.Tensor, t: tf.Tensor1D) =>
  tf.tidy(() => {
    const { mean: a, std } = sde.marginal(tf.onesLike(x), t); // a(t) broadcast like x
    const v = tf.add(tf.mul(tf.square(a), S * S), tf.reshape(tf.square(std), [-1, 1]));
    const exact = tf.neg(tf.div(tf.sub(x, tf.mul(a, tf.tensor1d(MU))), v));
    return tf.add(tf.mul(exact, params['scale']!), params['shift']!);
  });

/** The loss on K chunks of fresh data and noise (the same for every params set). */
function chunkLosses(
  loss: ReturnType<typeof dsm>,
  params: Params,
  chunks = 16,
  batch = 2500,
): number[] {
  const values: number[] = [];
  for (let k = 0; k < chunks; k++) {
    values.push(
      tf.tidy(() => {
        const x = tf.add(tf.mul(normal(fold(key(11), k), [batch, D]), S), tf.tensor1d(MU));
        return loss(params, { x }, fold(key(12), k)).total.dataSync()[0]!;
      }),
    );
  }
  return values;
}

/** Mean and standard error of chunk values. */
function stats(values: readonly number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

const monteCarlo = (loss: ReturnType<typeof dsm>, params: Params) =>
  stats(chunkLosses(loss, params));

const withParams = <T>(scale: number, shift: number, f: (p: Params) => T): T => {
  const p = { scale: tf.scalar(scale), shift: tf.scalar(shift) };
  try {
    return f(p);
  } finally {
    p.scale.dispose();
    p.shift.dispose();
  }
};

describe('dsm on Gaussian data: the exact score attains the closed-form expected loss', () => {
  it('matches E_t ½ d s²/(s² + σ²) for VE with λ = σ² (closed form checked by hand)', () => {
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    const config = dsmConfig.assert({ eps: 1e-3 });
    // ∫ s²/(s² + u) dt with u = σ(t)², du = 2 ln r · u dt: [ln(u/(s² + u))] / (2 ln r)
    const r = Math.log(50 / 0.01);
    const u = (t: number) => (0.01 * (50 / 0.01) ** t) ** 2;
    const F = (t: number) => Math.log(u(t) / (S * S + u(t))) / (2 * r);
    const closedForm = (0.5 * D * (F(1) - F(1e-3))) / (1 - 1e-3);
    expect(expectedLoss(sde, config)).toBeCloseTo(closedForm, 6);
    const loss = dsm({ sde, score: gaussianScore(sde), eps: 1e-3 });
    const { mean, se } = withParams(1, 0, (p) => monteCarlo(loss, p));
    expect(se / closedForm).toBeLessThan(0.02);
    expect(Math.abs(mean - closedForm)).toBeLessThan(4 * se);
  });

  const cases: Array<[string, Sde, Partial<DsmConfig>]> = [
    ['VE, reduceMean', veSde({ sigmaMin: 0.01, sigmaMax: 50 }), { weighting: 'reduceMean' }],
    [
      'VE, likelihood (λ = g²)',
      veSde({ sigmaMin: 0.01, sigmaMax: 50 }),
      { weighting: 'likelihood' },
    ],
    [
      'VE, sigmaPower w = 2 (toy)',
      veSde({ sigmaMin: 1e-3, sigmaMax: 10 }),
      { weighting: 'sigmaPower', w: 2, eps: 0 },
    ],
    ['VP, sigma2', vpSde(), { weighting: 'sigma2' }],
    ['sub-VP, sigma2', subVpSde(), { weighting: 'sigma2', eps: 0.01 }],
  ];
  for (const [name, sde, input] of cases) {
    it(`matches the quadrature of its expected loss: ${name}`, () => {
      const config = dsmConfig.assert(input);
      const expected = expectedLoss(sde, config);
      const loss = dsm({ sde, score: gaussianScore(sde), ...input });
      const { mean, se } = withParams(1, 0, (p) => monteCarlo(loss, p));
      expect(se / expected).toBeLessThan(0.03);
      expect(Math.abs(mean - expected)).toBeLessThan(4 * se);
    });
  }

  it('is lower for the exact score than for scaled or shifted ones, by the expected gaps', () => {
    const sde = veSde({ sigmaMin: 0.05, sigmaMax: 5 });
    const loss = dsm({ sde, score: gaussianScore(sde), eps: 1e-3 });
    const exact = withParams(1, 0, (p) => chunkLosses(loss, p));
    const gapOf = (values: number[]) => stats(values.map((v, i) => v - exact[i]!));
    const scaled = gapOf(withParams(1.2, 0, (p) => chunkLosses(loss, p)));
    const shifted = gapOf(withParams(1, 0.3, (p) => chunkLosses(loss, p)));
    expect(scaled.mean).toBeGreaterThan(6 * scaled.se);
    expect(shifted.mean).toBeGreaterThan(6 * shifted.se);
    // With λ = σ², a wrong score s adds ½ E σ² ‖s − s*‖² (the cross term has mean 0):
    // a shift δ in every dimension adds ½ d δ² E_t σ², a scale κ adds ½ (κ − 1)² d E_t σ²/(s² + σ²).
    const n = 20_000;
    let shiftGap = 0;
    let scaleGap = 0;
    for (let i = 0; i < n; i++) {
      const t = 1e-3 + ((i + 0.5) * (1 - 1e-3)) / n;
      const sig2 = (0.05 * (5 / 0.05) ** t) ** 2;
      shiftGap += (0.5 * D * 0.09 * sig2) / n;
      scaleGap += (0.5 * 0.04 * D * sig2) / (S * S + sig2) / n;
    }
    expect(Math.abs(shifted.mean - shiftGap)).toBeLessThan(4 * shifted.se);
    expect(Math.abs(scaled.mean - scaleGap)).toBeLessThan(4 * scaled.se);
    expect(shifted.se / shiftGap).toBeLessThan(0.05);
    expect(scaled.se / scaleGap).toBeLessThan(0.05);
  });
});

describe('dsm', () => {
  it('is ½ Σ (σ s + z)² per sample, batch mean, by hand on a tiny batch', () => {
    tf.tidy(() => {
      const sde = veSde({ sigmaMin: 0.1, sigmaMax: 10 });
      const score = (p: Params, x: tf.Tensor) => tf.mul(x, p['c']!);
      const x = normal(key(1), [3, 2]);
      const params = { c: tf.scalar(-0.2) };
      const value = dsm({ sde, score })(params, { x }, key(5));
      // recompute with the documented key convention (lossKeys) through perturb
      const p = perturb(sde, x, key(5), 1e-3);
      const s = tf.mul(p.xTilde, -0.2);
      const r = tf.add(tf.mul(s, tf.reshape(p.std, [-1, 1])), p.z);
      const expected = tf.mean(tf.mul(tf.sum(tf.square(r), 1), 0.5)).dataSync()[0]!;
      expect(value.total.dataSync()[0]!).toBeCloseTo(expected, 5);
      expect(value.terms['dsm']!.dataSync()[0]!).toBeCloseTo(expected, 5);
      expect(Object.keys(value.terms)).toEqual(['dsm']);
    });
  });

  it('validates its config and the score shape', () => {
    const sde = veSde();
    const score = (_: Params, x: tf.Tensor) => tf.clone(x);
    expect(() => dsm({ sde, score, eps: 1 })).toThrow('dsm: eps must be less than 1 (was 1)');
    expect(() => dsm({ sde, score, weighting: 'sigma' as 'sigma2' })).toThrow(
      /dsm: weighting must be "likelihood", "reduceMean", "sigma2" or "sigmaPower" \(was "sigma"\)/,
    );
    expect(() => dsm({ sde, score, weigthing: 'x' } as never)).toThrow(/weigthing must be removed/);
    expect(() => dsm({ sde, score: undefined as never })).toThrow(
      'dsm: score must be a ParametricFn (params, x, t) → score (was missing)',
    );
    expect(() => dsm({ sde, score })).not.toThrow();
    const bad = dsm({ sde, score: (_: Params, x: tf.Tensor) => tf.sum(x, 1) });
    tf.tidy(() => {
      expect(() => bad({}, { x: tf.zeros([2, 3]) }, key(0))).toThrow(ScorekitException);
      expect(() => bad({}, { x: tf.zeros([2, 3]) }, key(0))).toThrow(
        'dsm: score: expected shape [2,3] (like x), got shape [2]',
      );
    });
  });
});
