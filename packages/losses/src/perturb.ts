import {
  batchSize,
  fold,
  type Key,
  normalPerSample,
  perSample,
  ScorekitException,
  type Sde,
  split,
  uniformArray,
  uniformPerSample,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * One draw of the perturbation kernel p_{0t}(x̃ | x) = N(x̃; mean(x, t), std(t)² I) at a
 * per-sample time t ~ U(ε, T) (Song et al. 2021, eq. 7 and §3.3; Chao et al. 2022: x̃ = x + σ z).
 * `xTilde = mean + std · z`, so ∇_x̃ log p_{0t}(x̃ | x) = −z / std (for the VE SDE,
 * (x − x̃)/σ²).
 */
export interface Perturbation {
  /** Per-sample times [B] in [ε, T). */
  readonly t: tf.Tensor1D;
  /** Standard normal noise, shaped like x. */
  readonly z: tf.Tensor;
  /** The kernel mean (x for VE, e^{lmc} x for VP / sub-VP), shaped like x. */
  readonly mean: tf.Tensor;
  /** The kernel std [B]: σ(t) for VE — the noise level networks are conditioned on. */
  readonly std: tf.Tensor1D;
  /** The perturbed batch x̃ = mean + std · z. */
  readonly xTilde: tf.Tensor;
}

/**
 * The key convention of every scorekit loss: `[kTime, kNoise] = split(key)`. Times (or table
 * indices) come from `kTime`, one key per sample (`fold(kTime, i)`), noise z from `kNoise`,
 * also per sample. Two losses given the same key and batch therefore perturb with the same
 * t and z — as the reference DLSM code does for its DLSM and CE terms — and results do not
 * depend on batch size.
 *
 * @example
 * ```ts
 * const { time, noise } = lossKeys(key(0));
 * ```
 */
export function lossKeys(key: Key): { readonly time: Key; readonly noise: Key } {
  const [time, noise] = split(key, 2) as [Key, Key];
  return { time, noise };
}

/**
 * Per-sample times t_i ~ U(ε, T) [B] from the time key of {@link lossKeys} (Song et al. 2021,
 * eq. 7: the continuous-time objective samples t uniformly; ε avoids the singular t = 0).
 *
 * @example
 * ```ts
 * const t = sampleTimes(key(0), 128, 1e-5, 1); // [128] in [1e-5, 1)
 * ```
 */
export function sampleTimes(key: Key, batch: number, eps: number, T: number): tf.Tensor1D {
  if (!(eps >= 0 && eps < T))
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `eps: expected 0 ≤ eps < T (${T}), got ${eps}`,
      path: 'eps',
    });
  return uniformPerSample(lossKeys(key).time, [batch], eps, T) as tf.Tensor1D;
}

/**
 * Per-sample integer table indices i ~ U{0, …, N − 1} from the time key of {@link lossKeys},
 * as host numbers: the discrete noise levels of SMLD / DDPM training (Song & Ermon 2019;
 * Ho et al. 2020; score_sde's `randint(0, N)`).
 *
 * @example
 * ```ts
 * sampleIndices(key(0), 4, 1000); // e.g. Int32Array [17, 802, 455, 3]
 * ```
 */
export function sampleIndices(key: Key, batch: number, n: number): Int32Array {
  const time = lossKeys(key).time;
  const out = new Int32Array(batch);
  for (let i = 0; i < batch; i++)
    out[i] = Math.min(n - 1, Math.floor(uniformArray(fold(time, i), 1)[0]! * n));
  return out;
}

/**
 * Samples t ~ U(ε, T) and z ~ N(0, I) per sample from `key` (see {@link lossKeys}) and
 * perturbs `x` with the SDE's transition kernel: x̃ = mean(x, t) + std(t) z (Song et al. 2021,
 * eq. 7; the VE case is Chao et al. 2022's x̃ = x + σ z). Returns owned tensors.
 *
 * @example
 * ```ts
 * const { xTilde, z, std, t } = perturb(veSde(), x, key(1), 1e-5);
 * ```
 */
export function perturb(sde: Sde, x: tf.Tensor, key: Key, eps: number): Perturbation {
  return tf.tidy(() => {
    const t = sampleTimes(key, batchSize(x), eps, sde.T);
    const z = normalPerSample(lossKeys(key).noise, x.shape);
    const { mean, std } = sde.marginal(x, t);
    const xTilde = tf.add(mean, tf.mul(perSample(std, x.rank), z));
    return { t, z, mean, std, xTilde };
  });
}
