import { fold, type Key, key, ScorekitException, type Sde, veSde, vpSde } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { classifierGuidance } from './guidance.js';
import { pcSampler } from './pc.js';
import { odeSampler } from './probabilityFlow.js';
import { rowKeyedNormal } from './rowKeys.js';

// A tiny toy score model and classifier (dense layers with fixed weights, so matMul runs on
// the backend as a real model would) and classifier guidance on top.
const D = 3;
const W = tf.keep(tf.tensor2d([0.3, -0.2, 0.1, 0.5, 0.4, -0.3, -0.1, 0.2, 0.6], [D, D]));
const C = tf.keep(tf.tensor2d([0.7, -0.4, 0.2, 0.1, -0.5, 0.3], [D, 2]));
const score = (x: tf.Tensor, t: tf.Tensor1D) =>
  tf.tidy(() => tf.sub(tf.tanh(tf.matMul(x as tf.Tensor2D, W)), tf.mul(x, t.reshape([-1, 1]))));
const logits = (x: tf.Tensor, t: tf.Tensor1D) =>
  tf.tidy(() => tf.add(tf.matMul(tf.tanh(x as tf.Tensor2D), C), t.reshape([-1, 1])) as tf.Tensor2D);
const labels = [0, 1, 1, 0, 1, 0];
const seedKey = key(2026);
const sampleKey = (j: number): Key => fold(seedKey, j);

/** Samples rows [from, to) with their own keys and labels in one batch. */
async function rowsOf(from: number, to: number, sde: Sde) {
  const guided = classifierGuidance(score, logits, labels.slice(from, to), { scale: 2 });
  const idx = Array.from({ length: to - from }, (_, i) => from + i);
  const out = await pcSampler(
    guided,
    sde,
    {
      shape: [to - from, D],
      N: 12,
      predictor: 'reverseDiffusion',
      corrector: 'langevin',
      nStepsEach: 2,
    },
    key(7),
    { sampleKeys: idx.map(sampleKey) },
  );
  const data = Array.from(await out.samples.data());
  tf.dispose([out.samples, out.xMean]);
  return data;
}

describe('per-sample keys (SamplerOptions.sampleKeys)', () => {
  for (const [name, sde] of [
    ['ve', veSde({ sigmaMin: 0.01, sigmaMax: 5 })],
    ['vp', vpSde({ beta0: 0.1, beta1: 5, N: 12 })],
  ] as const) {
    it(`${name}: PC (reverse diffusion + Langevin) with classifier guidance: rows 0..5 in one batch equal batches of 3, 2 and 1, bit for bit`, async () => {
      await expectNoLeaksAsync(async () => {
        const whole = await rowsOf(0, 6, sde);
        for (const size of [3, 2, 1]) {
          const parts: number[] = [];
          for (let from = 0; from < 6; from += size)
            parts.push(...(await rowsOf(from, from + size, sde)));
          expect(parts).toEqual(whole);
        }
        // finite, and the rows are not all the same sample
        expect(whole.every(Number.isFinite)).toBe(true);
        expect(whole.slice(0, D)).not.toEqual(whole.slice(D, 2 * D));
      });
    });
  }

  it('another sample key gives another sample; the default (no sampleKeys) is unchanged by the option', async () => {
    await expectNoLeaksAsync(async () => {
      const sde = veSde({ sigmaMin: 0.01, sigmaMax: 5 });
      const cfg = { shape: [2, D], N: 6 };
      const a = await pcSampler(score, sde, cfg, key(1), {
        sampleKeys: [fold(key(3), 0), fold(key(3), 1)],
      });
      const b = await pcSampler(score, sde, cfg, key(1), {
        sampleKeys: [fold(key(3), 0), fold(key(4), 1)],
      });
      const ra = Array.from(await a.samples.data());
      const rb = Array.from(await b.samples.data());
      expect(rb.slice(0, D)).toEqual(ra.slice(0, D));
      expect(rb.slice(D)).not.toEqual(ra.slice(D));
      tf.dispose([a.samples, a.xMean, b.samples, b.xMean]);
    });
  });

  it('rejects a wrong number of keys and batch Langevin norms, naming the field', async () => {
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 5 });
    await expect(
      pcSampler(score, sde, { shape: [3, D], N: 2 }, key(0), { sampleKeys: [key(1)] }),
    ).rejects.toThrow(
      'options.sampleKeys must have one key per sample: expected 3 (shape[0]), got 1',
    );
    const err = await pcSampler(
      score,
      sde,
      { shape: [1, D], N: 2, langevinNorms: 'batch' },
      key(0),
      { sampleKeys: [key(1)] },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScorekitException);
    expect(String((err as Error).message)).toContain("langevinNorms must be 'sample'");
    await expect(
      odeSampler(score, sde, { shape: [2, D], N: 2, method: 'euler' }, key(0), {
        sampleKeys: [key(1)],
      }),
    ).rejects.toThrow('odeSampler: options.sampleKeys must have one key per sample');
    expect(() => rowKeyedNormal([key(1)])(key(2), [2, D])).toThrow('expected 1, got 2');
  });

  it('odeSampler (fixed-step Euler): per-sample prior keys make rows independent of the batch', async () => {
    await expectNoLeaksAsync(async () => {
      const sde = vpSde();
      const run = async (js: number[]) => {
        const out = await odeSampler(
          score,
          sde,
          { shape: [js.length, D], N: 8, method: 'euler' },
          key(5),
          {
            sampleKeys: js.map(sampleKey),
          },
        );
        const d = Array.from(await out.samples.data());
        tf.dispose([out.samples, out.xMean]);
        return d;
      };
      const whole = await run([0, 1, 2, 3]);
      expect([...(await run([0, 1])), ...(await run([2, 3]))]).toEqual(whole);
    });
  });
});
