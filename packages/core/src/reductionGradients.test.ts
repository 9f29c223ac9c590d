import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { reductionGradientKernels } from './reductionGradients.js';
import { expectNoLeaks } from './testing/index.js';

describe('Sum and Mean gradients', () => {
  it('replace tfjs’s for both kernels', () => {
    expect(reductionGradientKernels).toEqual(['Sum', 'Mean']);
  });

  for (const [axis, keepDims] of [
    [[0, 2], false],
    [1, true],
    [-1, false],
    [undefined, false],
  ] as const)
    it(`∂/∂x of Σ c·sum(x²) and of mean, axis ${axis}, keepDims ${keepDims}, to second order`, () => {
      const got = expectNoLeaks(() =>
        tf.tidy(() => {
          const x = tf.tensor(
            Array.from({ length: 24 }, (_, i) => Math.sin(i + 1)),
            [2, 3, 4],
          );
          const out: number[][] = [];
          for (const reduce of [tf.sum, tf.mean]) {
            const y0 = reduce(x, axis as number | number[] | undefined, keepDims);
            const c = tf.tensor(
              Array.from({ length: y0.size }, (_, i) => i - 1.5),
              y0.shape,
            );
            const f = (v: tf.Tensor) =>
              tf.sum(tf.mul(reduce(tf.square(v), axis as number, keepDims), c));
            const dx = tf.grad(f)(x);
            // second order: ∂/∂x Σ (∂f/∂x)² = 2 · (2c̃)² · 2x, with c̃ = c broadcast (÷ count)
            const ddx = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(v))))(x);
            out.push(Array.from(dx.dataSync()), Array.from(ddx.dataSync()));
          }
          return out;
        }),
      );
      // the analytic values: c broadcast back over the reduced axes
      const shape = [2, 3, 4];
      const axes =
        axis === undefined ? [0, 1, 2] : [axis as number | number[]].flat().map((a) => (a + 3) % 3);
      const kept = shape.map((s, i) => (axes.includes(i) ? 1 : s));
      const count = axes.reduce((n, a) => n * shape[a]!, 1);
      const xs = Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i + 1)));
      const cAt = (i: number) => {
        const idx = [Math.floor(i / 12), Math.floor(i / 4) % 3, i % 4];
        let flat = 0;
        for (let d = 0; d < 3; d++) flat = flat * kept[d]! + (axes.includes(d) ? 0 : idx[d]!);
        return flat - 1.5;
      };
      [1, count].forEach((div, k) => {
        const dx = xs.map((x, i) => (2 * x * cAt(i)) / div);
        const ddx = xs.map((x, i) => 8 * x * (cAt(i) / div) ** 2);
        got[2 * k]!.forEach((g, i) => expect(g).toBeCloseTo(dx[i]!, 4));
        got[2 * k + 1]!.forEach((g, i) => expect(g).toBeCloseTo(ddx[i]!, 3));
      });
    });
});
