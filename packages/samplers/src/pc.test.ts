import { key, ScorekitException, type Sde, split, subVpSde, veSde, vpSde } from '@scorekit/core';
import { expectNoLeaksAsync, liveTensors } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { AbortError } from './control.js';
import { type Corrector, type CorrectorName, langevin } from './correctors.js';
import { pcSampler } from './pc.js';
import { type Predictor, type PredictorName, reverseDiffusion } from './predictors.js';
import { gaussianScore, moments } from './testing/gaussian.js';

// Data N(μ, diag s²) with its exact score under each SDE: the samplers must reproduce μ and s².
const mu = [1, -1];
const s = [0.5, 1.5];
const B = 2000;
const N = 150;
const sdes: [string, Sde][] = [
  // VE built with the default N = 1000; the sampler's N = 150 rebuilds its tables.
  ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 50 })],
  ['vp', vpSde({ beta0: 0.1, beta1: 20, N })],
];
const combos: [PredictorName, CorrectorName][] = [
  ['eulerMaruyama', 'none'],
  ['eulerMaruyama', 'langevin'],
  ['reverseDiffusion', 'none'],
  ['reverseDiffusion', 'langevin'],
  ['reverseDiffusion', 'annealedLangevin'],
  ['ancestral', 'none'],
  ['ancestral', 'langevin'],
];

/** Sample mean within 4 standard errors + 0.03, variance within 4 s.e. + 5 % (relative). */
function expectGaussian(x: tf.Tensor) {
  const { mean, variance } = moments(x);
  const n = x.shape[0]!;
  for (let j = 0; j < mu.length; j++) {
    expect(Math.abs(mean[j]! - mu[j]!)).toBeLessThan((4 * s[j]!) / Math.sqrt(n) + 0.03);
    expect(Math.abs(variance[j]! / s[j]! ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n) + 0.05);
  }
}

describe('pcSampler on Gaussian data with the exact score', () => {
  for (const [name, sde] of sdes) {
    const score = gaussianScore(sde, mu, s);
    for (const [predictor, corrector] of combos) {
      it(`${name}: ${predictor} + ${corrector} matches N(μ, diag s²); NFE counted`, async () => {
        let steps = 0;
        const out = await pcSampler(
          score,
          sde,
          { shape: [B, 2], predictor, corrector, N },
          key(1),
          {
            onStep: (i, total) => {
              steps++;
              expect(i).toBe(steps);
              expect(total).toBe(N);
            },
          },
        );
        expectGaussian(out.samples);
        expect(steps).toBe(N);
        expect(out.nfe).toBe(N * (1 + (corrector === 'none' ? 0 : 1)));
        tf.dispose([out.samples, out.xMean]);
      });
    }
  }
});

describe('pcSampler contracts', () => {
  const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 30 });
  const score = gaussianScore(sde, mu, s);

  it('denoise returns the last x_mean; without it the last noisy x', async () => {
    const a = await pcSampler(score, sde, { shape: [16, 2] }, key(3));
    const b = await pcSampler(score, sde, { shape: [16, 2], denoise: false }, key(3));
    expect(a.samples.arraySync()).toEqual(a.xMean.arraySync());
    expect(b.xMean.arraySync()).toEqual(a.xMean.arraySync());
    expect(b.samples.arraySync()).not.toEqual(b.xMean.arraySync());
    tf.dispose([a.samples, a.xMean, b.samples, b.xMean]);
  });

  it('same key ⇒ identical samples; another key ⇒ different samples', async () => {
    const cfg = { shape: [64, 2], nStepsEach: 2 };
    const a = await pcSampler(score, sde, cfg, key(5));
    const b = await pcSampler(score, sde, cfg, key(5));
    const c = await pcSampler(score, sde, cfg, key(6));
    expect(a.samples.dataSync()).toEqual(b.samples.dataSync());
    expect(a.samples.dataSync()).not.toEqual(c.samples.dataSync());
    expect(a.nfe).toBe(30 * 3);
    tf.dispose([a.samples, a.xMean, b.samples, b.xMean, c.samples, c.xMean]);
  });

  for (const cfg of [
    { predictor: 'reverseDiffusion', corrector: 'annealedLangevin' },
    { predictor: 'eulerMaruyama', corrector: 'langevin', langevinNorms: 'sample' },
    { predictor: 'ancestral', corrector: 'none' },
  ] as const) {
    it(`batch-size invariance: the first 3 of 8 samples equal a batch of 3 (${cfg.predictor} + ${cfg.corrector})`, async () => {
      const big = await pcSampler(score, sde, { ...cfg, shape: [8, 2] }, key(9));
      const small = await pcSampler(score, sde, { ...cfg, shape: [3, 2] }, key(9));
      expect(Array.from(big.samples.dataSync().slice(0, 6))).toEqual(
        Array.from(small.samples.dataSync()),
      );
      tf.dispose([big.samples, big.xMean, small.samples, small.xMean]);
    });
  }

  it('predictor none + corrector none returns the prior sample of split(key)[0] with NFE 0', async () => {
    const k = key(4);
    const out = await pcSampler(
      score,
      sde,
      { shape: [5, 2], predictor: 'none', corrector: 'none' },
      k,
    );
    const prior = sde.priorSample(split(k)[0]!, [5, 2]);
    expect(out.samples.dataSync()).toEqual(prior.dataSync());
    expect(out.nfe).toBe(0);
    tf.dispose([out.samples, out.xMean, prior]);
  });

  it('an AbortSignal fired mid-run rejects with AbortError at that step and frees every tensor', async () => {
    await expectNoLeaksAsync(async () => {
      const ac = new AbortController();
      const run = pcSampler(score, sde, { shape: [8, 2] }, key(1), {
        signal: ac.signal,
        onStep: (i) => {
          if (i === 5) ac.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(AbortError);
      await expect(run).rejects.toMatchObject({ name: 'AbortError', step: 5 });
    });
  });

  it('an abort from a timer (outside the loop) stops the run', async () => {
    const ac = new AbortController();
    const long = veSde({ N: 100000 });
    setTimeout(() => ac.abort(), 20);
    const err = await pcSampler(gaussianScore(long, mu, s), long, { shape: [4, 2] }, key(1), {
      signal: ac.signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).step).toBeGreaterThan(0);
    expect((err as AbortError).step).toBeLessThan(100000);
  });

  it('a score that throws mid-run rejects with its error and leaks nothing', async () => {
    let calls = 0;
    const failing = (x: tf.Tensor, t: tf.Tensor1D) => {
      if (++calls === 9) throw new Error('score failed');
      return score(x, t);
    };
    await expectNoLeaksAsync(() =>
      expect(pcSampler(failing, sde, { shape: [8, 2] }, key(1))).rejects.toThrow('score failed'),
    );
  });

  it('an already-aborted signal rejects before any work', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      pcSampler(score, sde, { shape: [8, 2] }, key(1), { signal: ac.signal }),
    ).rejects.toMatchObject({ name: 'AbortError', step: 0 });
  });

  it('memory stays bounded over a 200-step run and returns to the start', async () => {
    const long = vpSde({ N: 200 });
    const counts: number[] = [];
    await expectNoLeaksAsync(async () => {
      const out = await pcSampler(gaussianScore(long, mu, s), long, { shape: [32, 2] }, key(2), {
        onStep: () => counts.push(liveTensors()),
      });
      tf.dispose([out.samples, out.xMean]);
    });
    expect(counts).toHaveLength(200);
    // the live state is x and x_mean: the count never grows with the step number
    expect(Math.max(...counts) - Math.min(...counts)).toBe(0);
    expect(counts[0]! - liveTensors()).toBeLessThanOrEqual(2);
  });

  it('rejects bad configs with errors naming the field', async () => {
    const bad = async (cfg: object, pattern: RegExp, target: Sde = sde) => {
      const err = await pcSampler(score, target, cfg as never, key(0)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScorekitException);
      expect((err as Error).message).toMatch(pattern);
    };
    await bad(
      { shape: [4, 2], predictor: 'heun' },
      /pcSampler: predictor must be .*\(was "heun"\)/,
    );
    await bad({ shape: [4, 2], snr: -1 }, /snr must be positive/);
    await bad({ shape: [] }, /shape must be non-empty/);
    await bad({}, /shape must be/);
    await bad({ shape: [4, 2], eps: 2 }, /eps must be less than T/);
    await bad(
      { shape: [4, 2], predictor: 'ancestral', probabilityFlow: true },
      /predictor must be not ancestral when probabilityFlow/,
    );
    await bad({ shape: [4, 2], predictor: 'ancestral' }, /sub-VP/, subVpSde({ N: 10 }));
  });

  it('takes predictor and corrector values: built-in functions equal their names, a new rule plugs in', async () => {
    await expectNoLeaksAsync(async () => {
      const byName = await pcSampler(score, sde, { shape: [6, 2], N: 20 }, key(3));
      const byValue = await pcSampler(
        score,
        sde,
        { shape: [6, 2], N: 20, predictor: reverseDiffusion, corrector: langevin },
        key(3),
      );
      expect(Array.from(byValue.samples.dataSync())).toEqual(Array.from(byName.samples.dataSync()));
      expect(byValue.nfe).toBe(byName.nfe);
      // a user's rule: a predictor that records its times and takes a plain Euler step on the
      // probability-flow drift, and a corrector that does nothing but count its calls
      const times: number[] = [];
      const eulerFlow: Predictor = (ctx, x) =>
        tf.tidy(() => {
          times.push(ctx.t);
          const dt = -ctx.sde.T / ctx.sde.N;
          const s2 = tf.reshape(tf.square(ctx.sde.diffusion(ctx.tVec)), [-1, 1]);
          const drift = tf.sub(
            ctx.sde.drift(x, ctx.tVec),
            tf.mul(tf.mul(s2, ctx.score(x, ctx.tVec)), 0.5),
          );
          const next = tf.add(x, tf.mul(drift, dt));
          return { x: next, xMean: tf.clone(next) };
        });
      let corrections = 0;
      const idle: Corrector = (_ctx, x) => {
        corrections++;
        const y = tf.clone(x);
        return { x: y, xMean: y };
      };
      const custom = await pcSampler(
        score,
        sde,
        { shape: [6, 2], N: 20, predictor: eulerFlow, corrector: idle },
        key(3),
      );
      expect(times).toHaveLength(20);
      expect(times[0]).toBe(sde.T);
      expect(corrections).toBe(20);
      expect(custom.nfe).toBe(20);
      expect(custom.samples.shape).toEqual([6, 2]);
      const diff = Math.max(
        ...Array.from(custom.samples.dataSync()).map((v, i) =>
          Math.abs(v - byName.samples.dataSync()[i]!),
        ),
      );
      expect(diff).toBeGreaterThan(1e-3); // a different rule gives different samples
      tf.dispose([
        byName.samples,
        byName.xMean,
        byValue.samples,
        byValue.xMean,
        custom.samples,
        custom.xMean,
      ]);
    });
  });

  it('names a score of the wrong shape (expected vs got) instead of a tfjs broadcast error', async () => {
    const flat = (x: tf.Tensor, t: tf.Tensor1D) => tf.tidy(() => tf.sum(score(x, t), 1, true));
    await expectNoLeaksAsync(async () => {
      await expect(pcSampler(flat, sde, { shape: [4, 2], N: 5 }, key(0))).rejects.toThrow(
        'pcSampler: score: expected shape [4,2] (like x), got shape [4,1]',
      );
      await expect(
        pcSampler(flat, sde, { shape: [4, 2], N: 5, corrector: 'none' }, key(0)),
      ).rejects.toThrow(ScorekitException);
    });
  });
});
