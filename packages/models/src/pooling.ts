import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Average pooling by `factor` × `factor` non-overlapping windows, written as reshape + mean
 * (no `tf.avgPool`, whose gradient AvgPoolGrad has no gradient of its own, so a classifier
 * using it cannot be trained with DLSM, Chao et al. 2022 eq. 10). [B, H, W, C] →
 * [B, H/f, W/f, C]; score_sde's `naive_downsample_2d`.
 *
 * @example
 * ```ts
 * meanPool(x, 2); // [B, 32, 32, C] → [B, 16, 16, C]
 * ```
 */
export function meanPool(x: tf.Tensor, factor = 2): tf.Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || h % factor !== 0 || w % factor !== 0)
    shapeError(
      'meanPool',
      `[B, H, W, C] with H and W divisible by ${factor}`,
      `shape [${x.shape}]`,
    );
  return tf.tidy(() =>
    tf.mean(tf.reshape(x, [b, h / factor, factor, w / factor, factor, c]), [2, 4]),
  );
}

/**
 * Global average pooling [B, H, W, C] → [B, C] (the ResNet head, He et al. 2016 §3.4) as a
 * plain mean over H and W.
 *
 * @example
 * ```ts
 * globalMeanPool(features); // [B, 4, 4, 512] → [B, 512]
 * ```
 */
export function globalMeanPool(x: tf.Tensor): tf.Tensor2D {
  if (x.rank !== 4) shapeError('globalMeanPool', '[B, H, W, C]', `shape [${x.shape}]`);
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
