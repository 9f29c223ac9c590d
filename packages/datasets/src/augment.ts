import { fold, type Key, shapeError, uniformArray } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

const ids = (n: number, sampleIds?: ArrayLike<number>): ArrayLike<number> => {
  if (sampleIds !== undefined && sampleIds.length !== n)
    shapeError('sampleIds', `${n} ids (one per sample)`, `${sampleIds.length}`);
  return sampleIds ?? Array.from({ length: n }, (_, i) => i);
};

/**
 * The per-sample coin of {@link randomFlip} (score_sde's random flip, Song et al. 2021, App. H):
 * sample i is flipped iff the first uniform of `fold(key, id_i)` is below ½ (`id_i =
 * sampleIds[i]`, default i). Deterministic per sample.
 *
 * @example
 * ```ts
 * flipMask(key(0), 4); // Uint8Array of 0/1, e.g. [1, 0, 0, 1]
 * ```
 */
export function flipMask(k: Key, n: number, sampleIds?: ArrayLike<number>): Uint8Array {
  const id = ids(n, sampleIds);
  return Uint8Array.from({ length: n }, (_, i) =>
    uniformArray(fold(k, id[i]!), 1)[0]! < 0.5 ? 1 : 0,
  );
}

/**
 * Random horizontal flips of NHWC images, one coin per sample ({@link flipMask}): the data
 * augmentation of score_sde's CIFAR-10 training (Song et al. 2021, App. H "random_flip";
 * Chao et al. 2022, §5). Returns a new tensor owned by the caller.
 *
 * @example
 * ```ts
 * const flipped = randomFlip(key(0), x); // x [B, 32, 32, 3]
 * ```
 */
export function randomFlip(k: Key, x: tf.Tensor4D, sampleIds?: ArrayLike<number>): tf.Tensor4D {
  const n = x.shape[0];
  const mask = flipMask(k, n, sampleIds);
  return tf.tidy(() => {
    const m = tf.tensor4d(Float32Array.from(mask), [n, 1, 1, 1]);
    const mirrored = tf.reverse(x, 2);
    return tf.add(tf.mul(m, mirrored), tf.mul(tf.sub(1, m), x)) as tf.Tensor4D;
  });
}

/**
 * Uniform dequantisation of images in [0, 1] holding 8-bit values: (x·255 + u)/256 with
 * u ~ U[0, 1) elementwise (score_sde's `uniform_dequantization`, Song et al. 2021, App. H;
 * after Ho et al. 2020). Sample i's noise comes from `fold(key, id_i)` (`id_i = sampleIds[i]`,
 * default i), so it does not depend on the batch it is in. Returns a new tensor.
 *
 * @example
 * ```ts
 * const xq = dequantize(key(1), x); // values in [0, 1)
 * ```
 */
export function dequantize(k: Key, x: tf.Tensor, sampleIds?: ArrayLike<number>): tf.Tensor {
  const n = x.shape[0];
  if (n === undefined) shapeError('dequantize', 'a batch-first tensor', 'a scalar');
  const id = ids(n, sampleIds);
  const per = x.size / Math.max(n, 1);
  const u = new Float32Array(x.size);
  for (let i = 0; i < n; i++) u.set(uniformArray(fold(k, id[i]!), per), i * per);
  return tf.tidy(() => tf.div(tf.add(tf.mul(x, 255), tf.tensor(u, x.shape)), 256));
}

/**
 * The data scaler of score_sde (`get_data_scaler`, Song et al. 2021, App. H): maps data in
 * [0, 1] to [−1, 1] (2x − 1) when `centered`, else the identity (a copy). The paper's
 * NCSN++ takes [0, 1] and centres inside (Chao et al. 2022, §5), so `centered` is false there.
 *
 * @example
 * ```ts
 * scaler(true)(tf.tensor([0, 0.5, 1])); // [-1, 0, 1]
 * ```
 */
export function scaler(centered: boolean): (x: tf.Tensor) => tf.Tensor {
  return (x) => tf.tidy(() => (centered ? tf.sub(tf.mul(x, 2), 1) : tf.clone(x)));
}

/**
 * The inverse data scaler of score_sde (`get_data_inverse_scaler`, Song et al. 2021, App. H):
 * [−1, 1] → [0, 1], (x + 1)/2 when `centered`, else the identity (a copy).
 *
 * @example
 * ```ts
 * inverseScaler(true)(tf.tensor([-1, 0, 1])); // [0, 0.5, 1]
 * ```
 */
export function inverseScaler(centered: boolean): (x: tf.Tensor) => tf.Tensor {
  return (x) => tf.tidy(() => (centered ? tf.div(tf.add(x, 1), 2) : tf.clone(x)));
}
