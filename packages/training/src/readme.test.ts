// The README example: the imports and the code between the markers are identical to
// packages/training/README.md.
import { fold, key, normal } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import { adam, batchStream, disposeTrainState, fit, type Loss } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('fits y = 3x − 1 with Adam + EMA from a resumable batch stream', async () => {
    await expectNoLeaksAsync(async () => {
      // --- README example start ---
      // Least squares for y = 3x − 1; the batch of step s is drawn from fold(key(1), s).
      const loss: Loss<tf.Tensor> = (p, x) =>
        tf.tidy(() => {
          const err = tf.sub(tf.add(tf.mul(x, p.w!), p.b!), tf.sub(tf.mul(x, 3), 1));
          const total = tf.mean(tf.square(err)) as tf.Scalar;
          return { total, terms: { mse: total } };
        });
      const params = { w: tf.scalar(0), b: tf.scalar(0) };
      const run = await fit({
        loss,
        params,
        key: key(0),
        optimizer: adam({ lr: 0.05 }),
        ema: 0.99,
        steps: 300,
        batches: batchStream((step) => normal(fold(key(1), step), [32])),
      })();
      if (run._tag === 'Left') throw new Error(run.left.message);
      const { w, b } = run.right.state.params;
      const fitted = [w!.dataSync()[0], b!.dataSync()[0]]; // ≈ [3, −1]
      disposeTrainState(run.right.state); // after use; `params` stay the caller's
      // --- README example end ---
      expect(run.right.stopReason).toBe('completed');
      expect(run.right.last?.terms['mse']).toBeLessThan(1e-4);
      expect(fitted[0]).toBeCloseTo(3, 2);
      expect(fitted[1]).toBeCloseTo(-1, 2);
      tf.dispose(Object.values(params));
    });
  });
});
