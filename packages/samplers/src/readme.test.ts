import { readFileSync } from 'node:fs';
import { key, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { classifierGuidance, pcSampler } from './index.js';

// The example of README.md, verbatim between the markers, then checked.
describe('README example', () => {
  it('a guided PC sampler run in ten lines', async () => {
    // --- README example start ---
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 20, N: 100 });
    const mu = tf.tensor2d([2, 2, -2, -2], [2, 2]); // class means; data x | y ~ N(μ_y, I)
    const logits = (x: tf.Tensor, t: tf.Tensor1D) =>
      tf.tidy(() => {
        const v = tf.reshape(tf.add(1, tf.square(sde.sigma(t))), [-1, 1]); // Var of p_t(x | y)
        const d2 = tf.sum(tf.square(tf.sub(tf.expandDims(x, 1), mu)), 2); // ‖x − μ_y‖², [B, 2]
        return tf.div(d2, tf.mul(v, -2)) as tf.Tensor2D; // log p_t(y | x) + const
      });
    const score = (x: tf.Tensor, t: tf.Tensor1D) =>
      tf.grad((z: tf.Tensor) => tf.sum(tf.logSumExp(logits(z, t), 1)))(x); // ∇ log p_t(x)
    const guided = classifierGuidance(score, logits, 0, { scale: 1 }); // posterior score of class 0
    const { samples, xMean, nfe } = await pcSampler(guided, sde, { shape: [200, 2] }, key(0));
    // --- README example end ---

    const m = tf.tidy(() => tf.mean(samples, 0).arraySync() as number[]);
    for (const v of m) expect(Math.abs(v - 2)).toBeLessThan(0.2); // class 0 sits at (2, 2)
    expect(nfe).toBe(200); // one Langevin corrector + one reverse-diffusion step per level
    tf.dispose([samples, xMean, mu]);
  });

  it('README.md shows exactly the code above', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = readme.split('```ts\n')[1]?.split('```')[0]?.trim();
    const source = readFileSync(new URL('./readme.test.ts', import.meta.url), 'utf8');
    const tested = source
      .split('// --- README example start ---\n')[1]
      ?.split('    // --- README example end ---')[0]
      ?.split('\n')
      .map((line) => line.slice(4))
      .join('\n')
      .trim();
    expect(shown).toBeDefined();
    expect(shown).toBe(tested);
  });
});
