import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, globalNorm } from './clip.js';

describe('global-norm clipping', () => {
  it('computes √(Σ‖g‖²) over all tensors', () => {
    expectNoLeaks(() => {
      const g = {
        a: tf.tensor2d([
          [1, 2],
          [2, 0],
        ]),
        b: tf.tensor1d([4]),
        c: tf.scalar(-2),
      };
      const n = globalNorm(g);
      expect(n.dataSync()[0]).toBeCloseTo(Math.sqrt(1 + 4 + 4 + 16 + 4), 5);
      tf.dispose([n, ...Object.values(g)]);
    });
  });

  it('scales by maxNorm/(‖g‖ + 1e-6) above the threshold and leaves small gradients exact', () => {
    expectNoLeaks(() => {
      const g = { a: tf.tensor1d([3]), b: tf.tensor1d([4]) };
      const c = clipByGlobalNorm(g, 1);
      expect(c.a!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
      expect(c.b!.dataSync()[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
      const n = globalNorm(c);
      expect(n.dataSync()[0]).toBeCloseTo(1, 5);
      const same = clipByGlobalNorm(g, 10);
      expect(Array.from(same.a!.dataSync())).toEqual([3]);
      expect(Array.from(same.b!.dataSync())).toEqual([4]);
      expect(g.a.isDisposed).toBe(false);
      tf.dispose([n, ...Object.values(g), ...Object.values(c), ...Object.values(same)]);
    });
  });
});
