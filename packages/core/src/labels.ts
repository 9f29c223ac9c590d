import type * as tf from '@tensorflow/tfjs-core';
import { ScorekitException, shapeError } from './errors.js';

/**
 * Checks that `y` holds one int32 label per sample of a batch of `batch` (Chao et al. 2022,
 * the noise-conditioned classifier p(y | x̃, σ) is evaluated at each sample's label). Throws a `ShapeError`
 * naming both sizes.
 *
 * @example
 * ```ts
 * checkLabels(tf.tensor1d([0, 1], 'int32'), 3);
 * // throws "labels: expected one label per sample (a [3] int32 tensor for x of batch 3), got shape [2]"
 * ```
 */
export function checkLabels(y: tf.Tensor, batch: number, what = 'labels'): void {
  if (y.rank !== 1 || y.shape[0] !== batch)
    shapeError(
      what,
      `one label per sample (a [${batch}] int32 tensor for x of batch ${batch})`,
      `shape [${y.shape}]`,
    );
  if (y.dtype !== 'int32') shapeError(what, 'dtype int32', `dtype ${y.dtype}`);
}

/**
 * Checks that classifier output is logits [B, C] for a batch of `batch` and returns C, the
 * number of classes (Chao et al. 2022: log p(y | x̃, σ; θ) is the log softmax of the logits).
 *
 * @example
 * ```ts
 * checkLogits(tf.zeros([4, 10]), 4); // 10
 * checkLogits(tf.zeros([4, 10, 1]), 4); // throws "logits: expected shape [4, C] …, got [4,10,1]"
 * ```
 */
export function checkLogits(logits: tf.Tensor, batch: number, what = 'logits'): number {
  const classes = logits.shape[1];
  if (logits.rank !== 2 || logits.shape[0] !== batch || classes === undefined)
    shapeError(
      what,
      `shape [${batch}, C] (rank 2, batch ${batch}, C classes)`,
      `shape [${logits.shape}]`,
    );
  if (classes < 1) shapeError(what, 'at least one class', `shape [${logits.shape}]`);
  return classes;
}

/**
 * Checks every label lies in [0, C) for a classifier with `classes` outputs. Reads the labels
 * to the host (they are small). A label ≥ C would otherwise give a zero one-hot row and a
 * silently wrong loss.
 *
 * @example
 * ```ts
 * checkLabelRange(tf.tensor1d([0, 12], 'int32'), 10);
 * // throws "labels: expected every label in [0, 10) (logits have 10 classes), got 12 at index 1"
 * ```
 */
export function checkLabelRange(y: tf.Tensor, classes: number, what = 'labels'): void {
  const values = y.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v < classes))
      throw new ScorekitException({
        _tag: 'ShapeError',
        message: `${what}: expected every label in [0, ${classes}) (logits have ${classes} classes), got ${v} at index ${i}`,
      });
  }
}
