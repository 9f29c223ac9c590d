import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A stream of batches, synchronous or asynchronous (a generator that samples images batch
 * by batch, or an array). Ownership: metrics never dispose what they are given; the
 * producer owns each batch and may dispose it as soon as the consumer asks for the next one
 * (that is what {@link batchesOf} does), so a 50k-image evaluation holds one batch at a time.
 */
export type Stream<T> = Iterable<T> | AsyncIterable<T>;

/** Labelled images: images x [B, H, W, C] and int32 labels y [B] (like losses' LabelledBatch). */
export interface LabelledImages {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;
}

/**
 * Slices a batch-first tensor into batches of `batchSize` (the last may be smaller), each
 * disposed when the consumer moves on or stops. `x` itself stays the caller's.
 *
 * @example
 * ```ts
 * for (const batch of batchesOf(images, 100)) acc.add(extractor.features(batch));
 * ```
 */
export function* batchesOf(x: tf.Tensor, batchSize: number): Generator<tf.Tensor> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    shapeError('batchesOf: batchSize', 'a positive integer', `${batchSize}`);
  }
  const n = x.shape[0] ?? 0;
  for (let start = 0; start < n; start += batchSize) {
    const batch = tf.slice(x, start, Math.min(batchSize, n - start));
    try {
      yield batch;
    } finally {
      batch.dispose();
    }
  }
}

/**
 * Slices labelled images into batches of `batchSize` (see {@link batchesOf}).
 *
 * @example
 * ```ts
 * for (const { x, y } of labelledBatchesOf({ x: images, y: labels }, 100)) { … }
 * ```
 */
export function* labelledBatchesOf(
  data: LabelledImages,
  batchSize: number,
): Generator<LabelledImages> {
  const n = data.x.shape[0] ?? 0;
  if (data.y.shape[0] !== n) shapeError('labelledBatchesOf: labels', `${n}`, `${data.y.shape[0]}`);
  const ys = batchesOf(data.y, batchSize);
  try {
    for (const x of batchesOf(data.x, batchSize)) {
      const y = ys.next().value as tf.Tensor1D;
      yield { x, y };
    }
  } finally {
    ys.return(undefined); // disposes the last label batch, also when the consumer stops early
  }
}

/**
 * Whether a stream element is labelled images rather than a bare image tensor.
 *
 * @example
 * ```ts
 * isLabelled({ x: images, y: labels }); // true; isLabelled(images) is false
 * ```
 */
export function isLabelled(b: tf.Tensor | LabelledImages): b is LabelledImages {
  return !(b instanceof tf.Tensor) && 'x' in b && 'y' in b;
}
