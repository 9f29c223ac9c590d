import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../config.js';
import { normalPerSample } from '../random.js';
import { sampleSize, sumPerSample } from '../tensor.js';
import { type VeSdeConfig, veSdeConfig } from './config.js';
import type { Sde } from './types.js';

/** Options accepted by {@link veSde}: any subset of the VE config (kind may be omitted). */
export type VeSdeOptions = Partial<Omit<VeSdeConfig, 'kind'>>;

/** A VE SDE together with its resolved config. */
export interface VeSde extends Sde {
  readonly kind: 've';
  readonly config: VeSdeConfig;
  /** σ(t) = σ_min (σ_max/σ_min)^t per sample, [B]. */
  sigma(t: tf.Tensor1D): tf.Tensor1D;
}

/**
 * The variance-exploding SDE dx = √(d[σ²(t)]/dt) dw (Song et al. 2021, eq. 9) with
 * σ(t) = σ_min (σ_max/σ_min)^t, so g(t) = σ(t) √(2 ln(σ_max/σ_min)). Marginal std is σ(t)
 * (score_sde's convention, which includes σ_min at t = 0); prior N(0, σ_max² I).
 * `discretize` is the SMLD form: f = 0, G = √(σ_i² − σ_{i−1}²) with σ_{−1} = 0.
 *
 * @example
 * ```ts
 * const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
 * const { std } = sde.marginal(x0, t); // σ(t)
 * ```
 */
export function veSde(options: VeSdeOptions = {}): VeSde {
  const config = parseConfig(veSdeConfig, { kind: 've', ...options }, 'veSde');
  const { sigmaMin, sigmaMax, N } = config;
  const logRatio = Math.log(sigmaMax / sigmaMin);
  const sigma = (t: tf.Tensor1D) =>
    tf.tidy(() => tf.mul(sigmaMin, tf.exp(tf.mul(t, logRatio)))) as tf.Tensor1D;
  // σ of table index i (float): σ_min (σ_max/σ_min)^{i/(N−1)}
  const tableSigma = (i: tf.Tensor) =>
    tf.mul(sigmaMin, tf.exp(tf.mul(tf.div(i, Math.max(N - 1, 1)), logRatio)));
  return {
    kind: 've',
    T: 1,
    N,
    config,
    sigma,
    drift: (x) => tf.zerosLike(x),
    diffusion: (t) => tf.tidy(() => tf.mul(sigma(t), Math.sqrt(2 * logRatio))) as tf.Tensor1D,
    marginal: (x0, t) => ({ mean: tf.clone(x0), std: sigma(t) }),
    marginalStd: sigma,
    priorSample: (key, shape) => tf.tidy(() => tf.mul(normalPerSample(key, shape), sigmaMax)),
    priorLogp: (z) =>
      tf.tidy(() => {
        const n = sampleSize(z);
        const sq = sumPerSample(tf.square(z));
        return tf.sub(
          -0.5 * n * Math.log(2 * Math.PI * sigmaMax * sigmaMax),
          tf.div(sq, 2 * sigmaMax * sigmaMax),
        );
      }) as tf.Tensor1D,
    discretize: (x, t) =>
      tf.tidy(() => {
        const i = tf.round(tf.mul(t, N - 1));
        const s = tableSigma(i);
        const prev = tf.where(tf.greater(i, 0), tableSigma(tf.sub(i, 1)), tf.zerosLike(s));
        const G = tf.sqrt(tf.relu(tf.sub(tf.square(s), tf.square(prev)))) as tf.Tensor1D;
        return { f: tf.zerosLike(x), G };
      }),
  };
}
