import type { Key, Params } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * The value of a loss at one batch: the scalar to minimise and its named terms (each already
 * weighted as it enters `total`), so that training logs show every term.
 */
export interface LossValue {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

/**
 * A loss is a value: `(params, batch, key) → { total, terms }`. Pure apart from tfjs's
 * allocation; all randomness comes from `key`. Returned tensors are owned by the caller.
 * Training differentiates `total` with respect to `params` (Chao et al. 2022, eq. 10 needs a
 * second-order derivative when the loss contains an input gradient).
 */
export type Loss<Batch> = (params: Params, batch: Batch, key: Key) => LossValue;

/** A labelled batch: images or points `x` [B, ...] in model space and int32 labels `y` [B]. */
export interface LabelledBatch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;
}
