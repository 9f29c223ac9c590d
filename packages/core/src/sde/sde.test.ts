import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { key, normalPerSample, split } from '../random.js';
import type { ScoreFn } from '../types.js';
import { makeSde, reverse, type Sde, subVpSde, veSde, vpSde } from './index.js';

const sdes: Array<[string, Sde]> = [
  ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 50 })],
  ['vp', vpSde({ beta0: 0.1, beta1: 20 })],
  ['subvp', subVpSde({ beta0: 0.1, beta1: 20 })],
];

/** Evaluates a [B] → [B] SDE coefficient at host times. */
function atTimes(f: (t: tf.Tensor1D) => tf.Tensor, ts: Float64Array): Float64Array {
  const t = tf.tensor1d(Array.from(ts));
  const y = tf.tidy(() => f(t));
  const out = Float64Array.from(y.dataSync());
  tf.dispose([t, y]);
  return out;
}

describe('SDE marginals against the analytic integrals', () => {
  it.each(sdes)('%s: std and mean coefficient solve the moment ODEs', (_, sde) => {
    // For a linear drift f = a(t) x: dm/dt = a m, dΣ/dt = 2 a Σ + g² (Särkkä & Solin 2019, eq. 5.50–5.51).
    const n = 20001;
    const ts = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
    const a = atTimes((t) => tf.reshape(sde.drift(tf.ones([t.shape[0], 1]), t), [-1]), ts);
    const g2 = atTimes((t) => tf.square(sde.diffusion(t)), ts);
    const std = atTimes((t) => sde.marginalStd(t), ts);
    const meanCoeff = atTimes(
      (t) => tf.reshape(sde.marginal(tf.ones([t.shape[0], 1]), t).mean, [-1]),
      ts,
    );
    let m = 1;
    let v = std[0]! ** 2; // VE starts at σ_min², VP/sub-VP at 0
    const dt = 1 / (n - 1);
    for (let i = 1; i < n; i++) {
      const a0 = a[i - 1]!;
      const a1 = a[i]!;
      // Heun (trapezoidal) steps, second-order accurate
      const mPred = m + dt * a0 * m;
      m = m + 0.5 * dt * (a0 * m + a1 * mPred);
      const vPred = v + dt * (2 * a0 * v + g2[i - 1]!);
      v = v + 0.5 * dt * (2 * a0 * v + g2[i - 1]! + 2 * a1 * vPred + g2[i]!);
      if (i % 1000 === 0) {
        expect(Math.abs(Math.sqrt(v) - std[i]!) / std[i]!).toBeLessThan(2e-3);
        expect(Math.abs(m - meanCoeff[i]!)).toBeLessThan(1e-4);
      }
    }
  });

  it('VE std is σ_min (σ_max/σ_min)^t', () => {
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    const std = atTimes((t) => sde.marginalStd(t), Float64Array.from([0, 0.25, 0.5, 1]));
    [0, 0.25, 0.5, 1].forEach((t, i) => {
      expect(std[i]!).toBeCloseTo(0.01 * 5000 ** t, 3);
    });
  });
});

describe('prior', () => {
  it.each(sdes)('%s: priorLogp equals the Gaussian formula', (_, sde) => {
    const sigma = sde.kind === 've' ? 50 : 1;
    const z = tf.tensor2d([
      [0.5, -1, 2],
      [3, 0, -0.25],
    ]);
    const lp = sde.priorLogp(z);
    const rows = z.arraySync();
    const expected = rows.map(
      (r) =>
        -1.5 * Math.log(2 * Math.PI * sigma * sigma) -
        r.reduce((s, v) => s + v * v, 0) / (2 * sigma * sigma),
    );
    const got = Array.from(lp.dataSync());
    expected.forEach((e, i) => expect(got[i]!).toBeCloseTo(e, 4));
    tf.dispose([z, lp]);
  });

  it.each(sdes)('%s: priorSample has the prior std and is reproducible', (_, sde) => {
    const sigma = sde.kind === 've' ? 50 : 1;
    const a = sde.priorSample(key(5), [4000, 2]);
    const b = sde.priorSample(key(5), [4000, 2]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const sd = tf.tidy(() => tf.sqrt(tf.mean(tf.square(a))).dataSync()[0]!);
    expect(Math.abs(sd / sigma - 1)).toBeLessThan(0.03);
    tf.dispose([a, b]);
  });
});

describe('discretize is consistent with the continuous SDE', () => {
  it.each(sdes)('%s: N f → f dt and N G² → g² as N grows', (_, base) => {
    const t = 0.37;
    const errs: number[] = [];
    for (const N of [10, 100, 1000, 10000]) {
      const sde = makeSde({ ...configOf(base), N });
      const err = tf.tidy(() => {
        const tt = tf.tensor1d([t]);
        const x = tf.tensor2d([[1.5]]);
        const { f, G } = sde.discretize(x, tt);
        const dt = base.kind === 've' ? 1 / (N - 1) : 1 / N;
        const g2 = sde.diffusion(tt).square().dataSync()[0]!;
        const drift = sde.drift(x, tt).dataSync()[0]!;
        const gErr = Math.abs(G.square().dataSync()[0]! / dt - g2) / g2;
        const fErr = Math.abs(f.dataSync()[0]! / dt - drift) / Math.max(Math.abs(drift), 1e-12);
        return base.kind === 've' ? gErr : Math.max(gErr, fErr);
      });
      errs.push(err);
    }
    expect(errs[3]!).toBeLessThan(0.01);
    if (base.kind === 'subvp') {
      // Euler–Maruyama with Δt = 1/N is exact in f/Δt and G²/Δt at every N
      for (const e of errs) expect(e).toBeLessThan(1e-5);
    } else {
      // SMLD / DDPM tables converge to the continuous SDE as N grows
      expect(errs[3]!).toBeLessThan(errs[1]!);
      expect(errs[1]!).toBeLessThan(errs[0]!);
    }
  });
});

function configOf(sde: Sde) {
  return (sde as unknown as { config: Parameters<typeof makeSde>[0] }).config;
}

describe('reverse SDE of Gaussian data with its exact score', () => {
  // Data N(μ, s² I) in 2-D; p_t = N(m(t) μ, (m² s² + std²) I) so the score is closed-form.
  const mu = [1.5, -0.5];
  const s = 0.5;
  const exactScore =
    (sde: Sde): ScoreFn =>
    (x, t) =>
      tf.tidy(() => {
        const ones = tf.ones([t.shape[0], 1]);
        const m = sde.marginal(ones, t).mean; // [B,1] mean coefficient
        const std = tf.reshape(sde.marginalStd(t), [-1, 1]);
        const v = tf.add(tf.mul(tf.square(m), s * s), tf.square(std));
        return tf.div(tf.neg(tf.sub(x, tf.mul(m, tf.tensor1d(mu)))), v);
      });

  const cases: Array<[string, Sde, boolean]> = [
    ['ve sde', veSde({ sigmaMin: 0.01, sigmaMax: 5 }), false],
    ['vp sde', vpSde(), false],
    ['subvp sde', subVpSde(), false],
    ['ve ode', veSde({ sigmaMin: 0.01, sigmaMax: 5 }), true],
    ['vp ode', vpSde(), true],
  ];
  it.each(cases)('%s keeps the marginals', (_, sde, probabilityFlow) => {
    const B = 4000;
    const steps = 500;
    const eps = 1e-3;
    const rsde = reverse(sde, exactScore(sde), { probabilityFlow });
    const [k0, kSteps] = split(key(9));
    // start from the exact marginal at T
    let x = tf.tidy(() => {
      const tT = tf.fill([B], sde.T) as tf.Tensor1D;
      const m = sde.marginal(tf.ones([B, 1]), tT).mean;
      const std = tf.reshape(sde.marginalStd(tT), [-1, 1]);
      const sd = tf.sqrt(tf.add(tf.mul(tf.square(m), s * s), tf.square(std)));
      return tf.add(tf.mul(m, tf.tensor1d(mu)), tf.mul(sd, normalPerSample(k0!, [B, 2])));
    });
    const dt = (sde.T - eps) / steps;
    for (let i = 0; i < steps; i++) {
      const tNow = sde.T - i * dt;
      const next = tf.tidy(() => {
        const t = tf.fill([B], tNow) as tf.Tensor1D;
        const drift = rsde.drift(x, t);
        const g = tf.reshape(rsde.diffusion(t), [-1, 1]);
        const z = normalPerSample(split(kSteps!, steps)[i]!, [B, 2]);
        return tf.add(tf.sub(x, tf.mul(drift, dt)), tf.mul(tf.mul(g, Math.sqrt(dt)), z));
      });
      x.dispose();
      x = next;
    }
    const [mean, variance] = tf.tidy(() => {
      const mom = tf.moments(x, 0);
      return [Array.from(mom.mean.dataSync()), Array.from(mom.variance.dataSync())];
    });
    const targetVar = tf.tidy(() => {
      const t = tf.tensor1d([eps]);
      const m = sde.marginal(tf.ones([1, 1]), t).mean.dataSync()[0]!;
      return m * m * s * s + sde.marginalStd(t).dataSync()[0]! ** 2;
    });
    x.dispose();
    mean!.forEach((v, i) => expect(Math.abs(v - mu[i]!)).toBeLessThan(0.05));
    variance!.forEach((v) => expect(Math.abs(v / targetVar - 1)).toBeLessThan(0.1));
  });
});

describe('config validation names the field', () => {
  it('rejects σ_min ≥ σ_max', () => {
    expect(() => veSde({ sigmaMin: 60 })).toThrow(/sigmaMin must be less than sigmaMax/);
  });
  it('rejects a negative β', () => {
    expect(() => vpSde({ beta0: -1 })).toThrow(/beta0 must be non-negative/);
    expect(() => subVpSde({ beta1: -2 })).toThrow(/beta1 must be positive/);
  });
  it('rejects an unknown kind and a non-integer N', () => {
    expect(() => makeSde({ kind: 'foo' } as never)).toThrow(/kind must be/);
    expect(() => makeSde({ kind: 've', N: 1.5 })).toThrow(/N must be an integer/);
  });
  it('applies the paper defaults', () => {
    const ve = veSde();
    expect(ve.config).toEqual({ kind: 've', sigmaMin: 0.01, sigmaMax: 50, N: 1000 });
    expect((vpSde() as { config: unknown }).config).toEqual({
      kind: 'vp',
      beta0: 0.1,
      beta1: 20,
      N: 1000,
    });
  });
});
