import {
  ddpmAlphasCumprod,
  ddpmBetas,
  fold,
  geometricSigmas,
  key,
  normal,
  type Params,
  veSde,
  vpSde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ddpm, smld } from './discrete.js';
import type { Loss } from './loss.js';

// Gaussian data N(μ, s² I): at a table level with x̃ = a x + std z the exact noise predictor is
// ε* = std (x̃ − a μ)/(a² s² + std²) and E (ε* − z)² = a² s²/(a² s² + std²) =: c per dimension
// (the same as E (std s* + z)² for the exact score s*; SMLD has a = 1, std = σ_i).
const MU = [0.5, -1];
const S = 1.2;
const D = MU.length;

function stats(values: readonly number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

function monteCarlo(loss: Loss<{ x: tf.Tensor }>, chunks = 16, batch = 2500) {
  const values: number[] = [];
  for (let k = 0; k < chunks; k++)
    values.push(
      tf.tidy(() => {
        const x = tf.add(tf.mul(normal(fold(key(21), k), [batch, D]), S), tf.tensor1d(MU));
        return loss({}, { x }, fold(key(22), k)).total.dataSync()[0]!;
      }),
    );
  return stats(values);
}

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;

describe('smld', () => {
  const N = 4;
  const sde = veSde({ sigmaMin: 0.05, sigmaMax: 5, N });
  const sigmas = geometricSigmas(0.05, 5, N);
  // The exact score at time t: σ(t) of the VE SDE, which equals σ_i at t_i = i/(N − 1).
  const exactScore = (_: Params, x: tf.Tensor, t: tf.Tensor1D) =>
    tf.tidy(() => {
      const v = tf.reshape(tf.add(tf.square(sde.sigma(t)), S * S), [-1, 1]);
      return tf.neg(tf.div(tf.sub(x, tf.tensor1d(MU)), v));
    });
  const c = Array.from(sigmas, (s) => (S * S) / (S * S + s * s));

  it('attains the table average of ½ d s²/(s² + σ_i²) for the exact score', () => {
    const expected = 0.5 * D * mean(c);
    const { mean: m, se } = monteCarlo(smld({ sde, score: exactScore }));
    expect(se / expected).toBeLessThan(0.02);
    expect(Math.abs(m - expected)).toBeLessThan(4 * se);
    // the continuous-time average over σ(t), t ~ U(0, 1), is measurably different
    let continuous = 0;
    for (let i = 0; i < 10_000; i++) {
      const s = 0.05 * 100 ** ((i + 0.5) / 10_000);
      continuous += (0.5 * D * S * S) / (S * S + s * s) / 10_000;
    }
    expect(Math.abs(continuous - expected)).toBeGreaterThan(8 * se);
  });

  it('with reduceMean averages over dimensions instead of ½ Σ', () => {
    const { mean: m, se } = monteCarlo(smld({ sde, score: exactScore, reduceMean: true }));
    expect(Math.abs(m - mean(c))).toBeLessThan(4 * se);
  });

  it('needs a VE SDE and a valid config', () => {
    expect(() => smld({ sde: vpSde() as never, score: exactScore })).toThrow(
      "smld: sde must be a 've' SDE (was 'vp')",
    );
    expect(() => smld({ sde, score: exactScore, reduceMean: 1 as never })).toThrow(
      /smld: reduceMean must be boolean \(was 1\)/,
    );
  });
});

describe('ddpm', () => {
  const N = 50;
  const sde = vpSde({ N });
  const abar = ddpmAlphasCumprod(ddpmBetas(0.1, 20, N));
  const c = Array.from(abar, (a) => (a * S * S) / (a * S * S + 1 - a));
  /** ε* or s* of level i = round(t (N − 1)) of the ᾱ table. */
  const exact = (what: 'epsilon' | 'score') => (_: Params, x: tf.Tensor, t: tf.Tensor1D) =>
    tf.tidy(() => {
      const i = tf.cast(tf.round(tf.mul(t, N - 1)), 'int32');
      const ab = tf.reshape(tf.gather(tf.tensor1d(Float32Array.from(abar)), i), [-1, 1]);
      const a = tf.sqrt(ab);
      const std = tf.sqrt(tf.sub(1, ab));
      const v = tf.add(tf.mul(ab, S * S), tf.sub(1, ab));
      const centred = tf.sub(x, tf.mul(a, tf.tensor1d(MU)));
      return what === 'epsilon' ? tf.div(tf.mul(std, centred), v) : tf.neg(tf.div(centred, v));
    });

  it('attains the table average of a² s²/(a² s² + 1 − ᾱ) for the exact ε (L_simple)', () => {
    const expected = mean(c);
    const { mean: m, se } = monteCarlo(ddpm({ sde, net: exact('epsilon') }));
    expect(se / expected).toBeLessThan(0.03);
    expect(Math.abs(m - expected)).toBeLessThan(4 * se);
  });

  it('accepts a score network (ε̂ = −std s) and the ½ Σ reduction', () => {
    const { mean: m, se } = monteCarlo(
      ddpm({ sde, net: exact('score'), prediction: 'score', reduceMean: false }),
    );
    expect(Math.abs(m - 0.5 * D * mean(c))).toBeLessThan(4 * se);
  });

  it('is larger for a wrong noise predictor', () => {
    const right = monteCarlo(ddpm({ sde, net: exact('epsilon') }), 4);
    const wrong = monteCarlo(
      ddpm({ sde, net: (p, x, t) => tf.tidy(() => tf.mul(exact('epsilon')(p, x, t), 1.3)) }),
      4,
    );
    expect(wrong.mean).toBeGreaterThan(right.mean + 0.01);
  });

  it('needs a VP SDE', () => {
    expect(() => ddpm({ sde: veSde() as never, net: exact('epsilon') })).toThrow(
      "ddpm: sde must be a 'vp' SDE (was 've')",
    );
  });
});
