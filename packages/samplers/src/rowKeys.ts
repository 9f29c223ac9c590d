import { fold, type Key, normalArray, normalPerSample, type Sde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Draws batch-first standard normal noise for one random draw of a step, from the step's
 * `key` (its place in the sampler's key tree). The default is `normalPerSample(key, shape)`
 * (row b from `fold(key, b)`); with per-sample keys it is {@link rowKeyedNormal}.
 */
export type StepNormal = (key: Key, shape: readonly number[]) => tf.Tensor;

/**
 * The key of row b's draw at place `path` of the sampler's key tree when every row has its own
 * key: `fold(fold(rowKey, path[0]), path[1])`. It depends on the row's key and the place only,
 * never on the batch size or on the row's position in the batch.
 *
 * @example
 * ```ts
 * const k = rowDrawKey(fold(key(0), 17), split(key(1))[0]); // sample 17's prior draw
 * ```
 */
export function rowDrawKey(rowKey: Key, path: Key): Key {
  return fold(fold(rowKey, path[0]), path[1]);
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Rejects a `sampleKeys` array whose length is not the batch size. */
export function checkSampleKeys(rows: readonly Key[], batch: number, what: string): readonly Key[] {
  if (rows.length !== batch)
    throw new RangeError(
      `${what}: options.sampleKeys must have one key per sample: expected ${batch} (shape[0]), got ${rows.length}`,
    );
  return rows;
}

/**
 * A {@link StepNormal} with one key per row (the sample keys of `SamplerOptions.sampleKeys`):
 * row b of the draw at `path` is `normalArray(rowDrawKey(rows[b], path))`, so a sample's noise
 * comes from its own key only and sampling rows in any grouping gives the same numbers.
 *
 * @example
 * ```ts
 * const draw = rowKeyedNormal([fold(k, 4), fold(k, 5)]);
 * const z = draw(stepKey, [2, 3, 32, 32]); // row 0 is sample 4's noise, row 1 sample 5's
 * ```
 */
export function rowKeyedNormal(rows: readonly Key[]): StepNormal {
  return (path, shape) => {
    const [batch, ...rest] = shape;
    if (batch !== rows.length)
      throw new RangeError(
        `rowKeyedNormal: the draw's batch must equal the number of sample keys: expected ${rows.length}, got ${String(batch)}`,
      );
    const per = size(rest);
    const out = new Float32Array(batch * per);
    for (let b = 0; b < batch; b++) out.set(normalArray(rowDrawKey(rows[b]!, path), per), b * per);
    return tf.tensor(out, [...shape], 'float32');
  };
}

/**
 * The prior sample x_T of a batch (Song et al. 2021, §4.2): `sde.priorSample(key, shape)`, or
 * with per-sample keys row b = `sde.priorSample(rowDrawKey(rows[b], key), [1, ...])`, so row b
 * depends only on its own key.
 *
 * @example
 * ```ts
 * const xT = priorSampleRows(sde, kPrior, [4, 2], [fold(k, 0), fold(k, 1), fold(k, 2), fold(k, 3)]);
 * ```
 */
export function priorSampleRows(
  sde: Sde,
  key: Key,
  shape: readonly number[],
  rows?: readonly Key[],
): tf.Tensor {
  if (!rows) return sde.priorSample(key, shape);
  const one = [1, ...shape.slice(1)];
  const parts = rows.map((r) => sde.priorSample(rowDrawKey(r, key), one));
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/** The default {@link StepNormal}: `normalPerSample` (row b from `fold(key, b)`). */
export const batchNormal: StepNormal = normalPerSample;
