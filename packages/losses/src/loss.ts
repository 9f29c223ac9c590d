import type { Key, Params } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { SharingScope } from './sharing.js';

/**
 * The value of a loss at one batch: the scalar to minimise and its named terms (each already
 * weighted as it enters `total`), so that training logs show every term.
 */
export interface LossValue {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

/**
 * A loss is a value: `(params, batch, key, scope?) → { total, terms }`. Pure apart from tfjs's
 * allocation; all randomness comes from `key`. Returned tensors are owned by the caller.
 * Training differentiates `total` with respect to `params` (Chao et al. 2022, eq. 10 needs a
 * second-order derivative when the loss contains an input gradient). `scope` is the
 * {@link SharingScope} that `sum` passes to its terms so they can share one perturbation and
 * forward pass; callers evaluating a loss on its own leave it out, and combinators pass it on.
 */
export type Loss<Batch> = (
  params: Params,
  batch: Batch,
  key: Key,
  scope?: SharingScope,
) => LossValue;

/** A labelled batch: images or points `x` [B, ...] in model space and int32 labels `y` [B]. */
export interface LabelledBatch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;
}

/**
 * The value of a one-term loss: `total` and a term `name` holding the same number (a clone,
 * so that disposing one does not dispose the other). Takes ownership of `total`.
 *
 * @example
 * ```ts
 * const v = termValue('dsm', tf.scalar(0.7)); // { total: 0.7, terms: { dsm: 0.7 } }
 * ```
 */
export function termValue(name: string, total: tf.Scalar): LossValue {
  return { total, terms: { [name]: tf.clone(total) } };
}

/**
 * `tf.tidy` for code that returns a {@link LossValue}: every intermediate tensor is disposed,
 * the total and terms are kept (tfjs's `tidy` types do not accept interfaces).
 *
 * @example
 * ```ts
 * const v = tidyLossValue(() => termValue('myTerm', tf.mean(tf.square(r)) as tf.Scalar));
 * ```
 */
export function tidyLossValue(f: () => LossValue): LossValue {
  return tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as LossValue;
}
