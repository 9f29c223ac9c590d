import { key, normalPerSample, ScorekitException, type Sde, veSde, vpSde } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { AbortError } from './control.js';
import { decode, encode, odeSampler } from './probabilityFlow.js';
import { gaussianScore, moments } from './testing/gaussian.js';

// For data N(μ, diag s²) the probability-flow ODE is affine per dimension: (x_t − m(t) μ)/√v(t)
// is constant along trajectories (v = m² s² + std²). That gives an exact map to compare with.
const mu = [1, -1];
const s = [0.5, 1.5];
const ve = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
const vp = vpSde();

/** m(t) and v(t) per dimension on the host. */
function coeffs(sde: Sde, t: number): { m: number; v: number[] } {
  return tf.tidy(() => {
    const { mean, std } = sde.marginal(tf.ones([1, 1]), tf.tensor1d([t]));
    const m = mean.dataSync()[0]!;
    const sd = std.dataSync()[0]!;
    return { m, v: s.map((sj) => m * m * sj * sj + sd * sd) };
  });
}

/** The exact flow map from time `from` to time `to` applied to host rows. */
function flowMap(sde: Sde, x: Float32Array, from: number, to: number): Float64Array {
  const a = coeffs(sde, from);
  const b = coeffs(sde, to);
  return Float64Array.from(x, (xi, i) => {
    const j = i % 2;
    return b.m * mu[j]! + (xi - a.m * mu[j]!) * Math.sqrt(b.v[j]! / a.v[j]!);
  });
}

/** max_i |got_i − want_i| / √v_j(to): the error in units of the target's std. */
function mapError(sde: Sde, got: Float32Array, want: Float64Array, to: number): number {
  const { v } = coeffs(sde, to);
  let e = 0;
  got.forEach((g, i) => {
    e = Math.max(e, Math.abs(g - want[i]!) / Math.sqrt(v[i % 2]!));
  });
  return e;
}

function expectGaussian(x: tf.Tensor) {
  const { mean, variance } = moments(x);
  const n = x.shape[0]!;
  for (let j = 0; j < 2; j++) {
    expect(Math.abs(mean[j]! - mu[j]!)).toBeLessThan((4 * s[j]!) / Math.sqrt(n) + 0.03);
    expect(Math.abs(variance[j]! / s[j]! ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n) + 0.05);
  }
}

describe('odeSampler on Gaussian data with the exact score', () => {
  const cases = [
    // [name, sde, method, N, bound on the map error in units of the data std]
    ['ve', ve, 'euler', 1000, 0.12],
    ['ve', ve, 'heun', 100, 0.035],
    ['ve', ve, 'rk45', 0, 5e-4],
    ['vp', vp, 'euler', 200, 0.025],
    ['vp', vp, 'heun', 100, 3e-3],
    ['vp', vp, 'rk45', 0, 5e-4],
  ] as const;
  for (const [name, sde, method, N, tol] of cases) {
    it(`${name}: ${method} maps prior samples onto the exact flow map and N(μ, diag s²)`, async () => {
      const k = key(21);
      const shape = [2000, 2];
      const out = await odeSampler(
        gaussianScore(sde, mu, s),
        sde,
        { shape, method, ...(N > 0 ? { N } : {}) },
        k,
      );
      const z = sde.priorSample(k, shape);
      const want = flowMap(sde, z.dataSync() as Float32Array, sde.T, 1e-3);
      const err = mapError(sde, out.samples.dataSync() as Float32Array, want, 1e-3);
      expect(err).toBeLessThan(tol);
      expectGaussian(out.samples);
      if (method === 'euler') expect(out.nfe).toBe(N);
      if (method === 'heun') expect(out.nfe).toBe(2 * N);
      if (method === 'rk45') expect((out.nfe - 2) % 6).toBe(0);
      expect(out.xMean.dataSync()).toEqual(out.samples.dataSync());
      tf.dispose([out.samples, out.xMean, z]);
    });
  }

  it('denoise adds one noise-free reverse-diffusion step at ε (one more NFE)', async () => {
    const score = gaussianScore(vp, mu, s);
    const cfg = { shape: [64, 2], method: 'heun', N: 20 } as const;
    const plain = await odeSampler(score, vp, cfg, key(2));
    const den = await odeSampler(score, vp, { ...cfg, denoise: true }, key(2));
    expect(den.nfe).toBe(plain.nfe + 1);
    // x − f̄ with f̄ = f − G² s at t = ε: VP with N = 1000, i = round(ε · 999) = 1
    const beta1 = 0.1 / 1000 + (1 / 999) * (19.9 / 1000);
    const want = tf.tidy(() => {
      const x = plain.samples;
      const sc = score(x, tf.fill([64], 1e-3) as tf.Tensor1D);
      const f = tf.sub(tf.mul(x, Math.sqrt(1 - beta1)), x);
      return tf.sub(x, tf.sub(f, tf.mul(sc, beta1)));
    });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(want, den.samples))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([plain.samples, plain.xMean, den.samples, den.xMean, want]);
  });

  it('fixed-step methods are batch-size invariant', async () => {
    const score = gaussianScore(ve, mu, s);
    const big = await odeSampler(score, ve, { shape: [8, 2], method: 'heun', N: 30 }, key(4));
    const small = await odeSampler(score, ve, { shape: [3, 2], method: 'heun', N: 30 }, key(4));
    expect(Array.from(big.samples.dataSync().slice(0, 6))).toEqual(
      Array.from(small.samples.dataSync()),
    );
    tf.dispose([big.samples, big.xMean, small.samples, small.xMean]);
  });

  it('aborts with an AbortError and rejects bad configs naming the field', async () => {
    const score = gaussianScore(vp, mu, s);
    const ac = new AbortController();
    const run = odeSampler(score, vp, { shape: [4, 2] }, key(0), {
      signal: ac.signal,
      onStep: (i, total) => {
        expect(total).toBe(Number.POSITIVE_INFINITY); // RK45 does not know its step count
        if (i === 2) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const bad = await odeSampler(
      score,
      vp,
      { shape: [4, 2], method: 'rk4' as never },
      key(0),
    ).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ScorekitException);
    expect((bad as Error).message).toMatch(/odeSampler: method must be .*\(was "rk4"\)/);
  });
});

describe('encode / decode', () => {
  for (const [name, sde] of [
    ['ve', ve],
    ['vp', vp],
  ] as const) {
    it(`${name}: encode is the exact flow map ε → T and decode inverts it`, async () => {
      const score = gaussianScore(sde, mu, s);
      const x = tf.tidy(() =>
        tf.add(tf.mul(normalPerSample(key(8), [256, 2]), tf.tensor1d(s)), tf.tensor1d(mu)),
      );
      const { z, nfe } = await encode(score, sde, x);
      const want = flowMap(sde, x.dataSync() as Float32Array, 1e-3, sde.T);
      expect(mapError(sde, z.dataSync() as Float32Array, want, sde.T)).toBeLessThan(2e-3);
      expect(nfe).toBeGreaterThan(0);
      const back = await decode(score, sde, z);
      const roundTrip = tf.tidy(() => tf.max(tf.abs(tf.sub(back.x, x))).dataSync()[0]!);
      expect(roundTrip).toBeLessThan(2e-3);
      // the latents look like the prior: std ≈ σ_max (VE) or 1 (VP)
      const { variance } = moments(z);
      const priorVar = name === 've' ? 2500 : 1;
      for (const v of variance) expect(Math.abs(v / priorVar - 1)).toBeLessThan(0.25);
      tf.dispose([x, z, back.x]);
    });
  }

  it('a tighter tolerance gives a smaller round-trip error', async () => {
    const score = gaussianScore(vp, mu, s);
    const x = tf.tidy(() => tf.add(normalPerSample(key(9), [64, 2]), tf.tensor1d(mu)));
    const err = async (tol: number) => {
      const cfg = { rtol: tol, atol: tol };
      const { z } = await encode(score, vp, x, cfg);
      const back = await decode(score, vp, z, cfg);
      const e = tf.tidy(() => tf.max(tf.abs(tf.sub(back.x, x))).dataSync()[0]!);
      tf.dispose([z, back.x]);
      return e;
    };
    const loose = await err(1e-2);
    const tight = await err(1e-5);
    expect(tight).toBeLessThan(loose);
    x.dispose();
  });
});

describe('score shape check', () => {
  it('odeSampler names a score of the wrong shape', async () => {
    const sde = vpSde({ N: 10 });
    const flat = (x: tf.Tensor) => tf.sum(x, 1);
    await expectNoLeaksAsync(async () => {
      await expect(
        odeSampler(flat, sde, { shape: [3, 2], method: 'euler', N: 4 }, key(0)),
      ).rejects.toThrow('odeSampler: score: expected shape [3,2] (like x), got shape [3]');
    });
  });
});
