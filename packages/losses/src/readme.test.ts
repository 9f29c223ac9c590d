// README.md's example, run as a test: the imports below and the body marked inside the test
// are the README's code verbatim (keep them identical).
import { readFileSync } from 'node:fs';
import { key, normal, veSde } from '@scorekit/core';
import { crossEntropy, dlsm, sum, weighted } from '@scorekit/losses';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('builds L_DLSM + λ L_CE from the combinators and differentiates it', () => {
    // ---- README example body ----
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    // a noise-conditioned classifier (params, x̃, t) → logits [B, C], and the frozen prior score
    const logSigma = (t: tf.Tensor1D) => tf.reshape(tf.log(sde.marginalStd(t)), [-1, 1]);
    const logits = (p: Record<string, tf.Tensor>, x: tf.Tensor, t: tf.Tensor1D) =>
      tf.matMul(tf.concat([x, logSigma(t)], 1), p['w']!) as tf.Tensor2D;
    const score = (x: tf.Tensor, t: tf.Tensor1D) =>
      tf.div(tf.neg(x), tf.reshape(tf.add(1, tf.square(sde.marginalStd(t))), [-1, 1])); // N(0, I) data

    // Chao et al. 2022: L = L_DLSM + λ L_CE (λ = 1 for CIFAR-10, 0.125 for the toy)
    const objective = sum(dlsm({ sde, logits, score }), weighted(1)(crossEntropy({ sde, logits })));

    const w = normal(key(0), [3, 2]);
    const batch = { x: normal(key(1), [8, 2]), y: tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32') };
    const { total, terms } = objective({ w }, batch, key(2)); // terms: { dlsm, crossEntropy }
    const [dw] = tf.grads((v: tf.Tensor) => objective({ w: v }, batch, key(2)).total)([w]); // 2nd order
    // ---- end of README example body ----

    const alone = tf.tidy(() => [
      dlsm({ sde, logits, score })({ w }, batch, key(2)).total.dataSync()[0]!,
      crossEntropy({ sde, logits })({ w }, batch, key(2)).total.dataSync()[0]!,
    ]);
    expect(Object.keys(terms).sort()).toEqual(['crossEntropy', 'dlsm']);
    expect(terms['dlsm']!.dataSync()[0]!).toBeCloseTo(alone[0]!, 4);
    expect(terms['crossEntropy']!.dataSync()[0]!).toBeCloseTo(alone[1]!, 5);
    expect(total.dataSync()[0]!).toBeCloseTo(alone[0]! + alone[1]!, 4);
    expect(dw!.shape).toEqual([3, 2]);
    expect(Array.from(dw!.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([w, batch.x, batch.y, total, ...Object.values(terms), dw!]);
  });

  it('is the code shown in README.md, verbatim', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = readme.split('```ts\n')[2]!.split('```')[0]!;
    const self = readFileSync(new URL(import.meta.url), 'utf8');
    const imports = self
      .split('\n')
      .filter((l) => l.startsWith('import ') && !/vitest|node:fs/.test(l));
    const body = self
      .split('// ---- README example body ----\n')[1]!
      .split('    // ---- end of README example body ----')[0]!
      .split('\n')
      .map((l) => l.replace(/^ {4}/, ''))
      .join('\n');
    expect(`${imports.join('\n')}\n\n${body}`).toBe(shown);
  });
});
