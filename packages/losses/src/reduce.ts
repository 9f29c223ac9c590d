import { sampleSize, sumPerSample } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * How a per-element squared error is reduced to a per-sample loss, as in score_sde
 * (Song et al. 2021, `losses.py`): `'halfSum'` is ½ Σ over dimensions (`reduce_mean=False`),
 * `'mean'` the mean over dimensions (`reduce_mean=True`, no ½).
 */
export type Reduction = 'halfSum' | 'mean';

/**
 * Reduces a batch-first tensor [B, ...] to [B] by {@link Reduction}.
 *
 * @example
 * ```ts
 * reducePerSample(tf.ones([2, 3]), 'halfSum'); // [1.5, 1.5]
 * ```
 */
export function reducePerSample(x: tf.Tensor, reduction: Reduction): tf.Tensor1D {
  return tf.tidy(() => {
    const s = sumPerSample(x);
    return (reduction === 'halfSum' ? tf.mul(s, 0.5) : tf.div(s, sampleSize(x))) as tf.Tensor1D;
  });
}
