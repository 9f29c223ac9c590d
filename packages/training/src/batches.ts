import * as tf from '@tensorflow/tfjs-core';

/**
 * Where {@link fit} gets its batches (score_sde's `train_iter`, Song et al. 2021 App. H). A factory `(startStep) => stream` makes resuming exact:
 * on resume at step s, fit asks for the stream that yields the batch of step s first. A plain
 * iterable is consumed from its current position (the caller must then position it).
 *
 * @example
 * ```ts
 * const source: BatchSource<tf.Tensor> = (start) => batchStream(makeBatch)(start);
 * ```
 */
export type BatchSource<B> =
  | Iterable<B>
  | AsyncIterable<B>
  | ((startStep: number) => Iterable<B> | AsyncIterable<B>);

/**
 * A resumable, endless batch stream from a per-step batch function: yields
 * `makeBatch(startStep)`, `makeBatch(startStep + 1)`, …. Draw the batch of step s from
 * `fold(dataKey, s)` (e.g. `uniformPerSample`, or the s-th slice of `permutation(fold(dataKey,
 * epoch), n)`) and the stream is reproducible from any step (Song et al. 2021's trainer samples
 * batches i.i.d. per step; explicit keys make that deterministic).
 *
 * @example
 * ```ts
 * const batches = batchStream((step) => tf.tidy(() => normal(fold(dataKey, step), [64, 2])));
 * await fit({ ..., batches })();
 * ```
 */
export function batchStream<B>(makeBatch: (step: number) => B): (startStep: number) => Iterable<B> {
  return function* (startStep: number) {
    for (let step = startStep; ; step++) yield makeBatch(step);
  };
}

/**
 * Opens a {@link BatchSource} at `startStep` as an (async) iterator: a factory is called with
 * `startStep`, an iterable is opened where it stands (score_sde's `iter(train_ds)`, Song et
 * al. 2021 App. H).
 *
 * @example
 * ```ts
 * const it = openBatches(batchStream((s) => s), 5);
 * await it.next(); // { value: 5, done: false }
 * ```
 */
export function openBatches<B>(
  source: BatchSource<B>,
  startStep: number,
): AsyncIterator<B> | Iterator<B> {
  const stream = typeof source === 'function' ? source(startStep) : source;
  if (Symbol.asyncIterator in stream) return (stream as AsyncIterable<B>)[Symbol.asyncIterator]();
  return (stream as Iterable<B>)[Symbol.iterator]();
}

/**
 * The batch size of a batch: the leading dimension of the batch itself if it is a tensor,
 * else of its first tensor-valued field (e.g. `x` of a labelled batch, Chao et al. 2022 §2);
 * 0 if none. Used for the images/s of {@link fit}'s logs.
 *
 * @example
 * ```ts
 * batchSizeOf({ x: tf.zeros([8, 2]), y: tf.zeros([8], 'int32') }); // 8
 * ```
 */
export function batchSizeOf(batch: unknown): number {
  if (batch instanceof tf.Tensor) return batch.shape[0] ?? 0;
  if (typeof batch === 'object' && batch !== null)
    for (const v of Object.values(batch)) if (v instanceof tf.Tensor) return v.shape[0] ?? 0;
  return 0;
}
