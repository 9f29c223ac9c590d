import * as tf from '@tensorflow/tfjs-core';

/**
 * The sinusoidal (transformer) embedding of a per-sample scalar (Vaswani et al. 2017 §3.5;
 * DDPM's timestep embedding, Ho et al. 2020 App. B; score_sde `get_timestep_embedding`):
 * with h = ⌊dim/2⌋ and ω_j = exp(−j · ln(maxPositions)/(h − 1)), j < h,
 * emb(t) = [sin(t ω_0..h−1), cos(t ω_0..h−1)] (zero-padded to `dim` if odd). [B] → [B, dim].
 *
 * @example
 * ```ts
 * sinusoidalEmbedding(tf.tensor1d([0, 999]), 128); // [2, 128]
 * ```
 */
export function sinusoidalEmbedding(
  t: tf.Tensor1D,
  dim: number,
  maxPositions = 10000,
): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  if (half < 2) throw new RangeError(`sinusoidalEmbedding: dim must be at least 4, got ${dim}`);
  const freqs = new Float32Array(half);
  const step = Math.log(maxPositions) / (half - 1);
  for (let j = 0; j < half; j++) freqs[j] = Math.exp(-j * step);
  return tf.tidy(() => {
    const arg = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(freqs, [1, half]));
    const emb = tf.concat([tf.sin(arg), tf.cos(arg)], 1);
    return (
      dim % 2 === 1
        ? tf.pad(emb, [
            [0, 0],
            [0, 1],
          ])
        : emb
    ) as tf.Tensor2D;
  });
}
