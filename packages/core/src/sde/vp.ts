import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../config.js';
import { normalPerSample } from '../random.js';
import { perSample, sampleSize, sumPerSample } from '../tensor.js';
import { type SubVpSdeConfig, subVpSdeConfig, type VpSdeConfig, vpSdeConfig } from './config.js';
import type { Sde } from './types.js';

/** A VP or sub-VP SDE together with its resolved config and β(t). */
export interface VpFamilySde extends Sde {
  readonly kind: 'vp' | 'subvp';
  readonly config: VpSdeConfig | SubVpSdeConfig;
  /** β(t) = β₀ + t (β₁ − β₀), [B]. */
  beta(t: tf.Tensor1D): tf.Tensor1D;
  /** ln of the mean coefficient, −¼ t² (β₁ − β₀) − ½ t β₀, [B]. */
  logMeanCoeff(t: tf.Tensor1D): tf.Tensor1D;
}

/** Options for {@link vpSde} / {@link subVpSde}. */
export type VpSdeOptions = Partial<Omit<VpSdeConfig, 'kind'>>;

function vpCommon(beta0: number, beta1: number) {
  const beta = (t: tf.Tensor1D) =>
    tf.tidy(() => tf.add(beta0, tf.mul(t, beta1 - beta0))) as tf.Tensor1D;
  const logMeanCoeff = (t: tf.Tensor1D) =>
    tf.tidy(() =>
      tf.sub(tf.mul(tf.square(t), -0.25 * (beta1 - beta0)), tf.mul(t, 0.5 * beta0)),
    ) as tf.Tensor1D;
  const drift = (x: tf.Tensor, t: tf.Tensor1D) =>
    tf.tidy(() => tf.mul(perSample(tf.mul(beta(t), -0.5), x.rank), x));
  const standardPriorLogp = (z: tf.Tensor) =>
    tf.tidy(() =>
      tf.sub(-0.5 * sampleSize(z) * Math.log(2 * Math.PI), tf.mul(sumPerSample(tf.square(z)), 0.5)),
    ) as tf.Tensor1D;
  return { beta, logMeanCoeff, drift, standardPriorLogp };
}

/**
 * The variance-preserving SDE dx = −½ β(t) x dt + √β(t) dw (Song et al. 2021, eq. 11), the
 * continuous limit of DDPM. Marginal mean e^{lmc} x₀, std √(1 − e^{2 lmc}) (eq. 33); prior
 * N(0, I). `discretize` is the DDPM form: f = √(1 − β_i) x − x, G = √β_i with
 * β_i = linspace(β₀/N, β₁/N, N).
 *
 * @example
 * ```ts
 * const sde = vpSde(); // β₀ 0.1, β₁ 20, N 1000
 * ```
 */
export function vpSde(options: VpSdeOptions = {}): VpFamilySde {
  const config = parseConfig(vpSdeConfig, { kind: 'vp', ...options }, 'vpSde');
  const { beta0, beta1, N } = config;
  const c = vpCommon(beta0, beta1);
  return {
    kind: 'vp',
    T: 1,
    N,
    config,
    beta: c.beta,
    logMeanCoeff: c.logMeanCoeff,
    drift: c.drift,
    diffusion: (t) => tf.tidy(() => tf.sqrt(c.beta(t))) as tf.Tensor1D,
    marginal: (x0, t) =>
      tf.tidy(() => {
        const lmc = c.logMeanCoeff(t);
        return {
          mean: tf.mul(perSample(tf.exp(lmc), x0.rank), x0),
          std: tf.sqrt(tf.sub(1, tf.exp(tf.mul(lmc, 2)))) as tf.Tensor1D,
        };
      }),
    marginalStd: (t) =>
      tf.tidy(() => tf.sqrt(tf.sub(1, tf.exp(tf.mul(c.logMeanCoeff(t), 2))))) as tf.Tensor1D,
    priorSample: (key, shape) => normalPerSample(key, shape),
    priorLogp: c.standardPriorLogp,
    discretize: (x, t) =>
      tf.tidy(() => {
        const i = tf.round(tf.mul(t, N - 1));
        const b = tf.add(beta0 / N, tf.mul(tf.div(i, Math.max(N - 1, 1)), (beta1 - beta0) / N));
        const sqrtAlpha = perSample(tf.sqrt(tf.sub(1, b)), x.rank);
        return { f: tf.sub(tf.mul(sqrtAlpha, x), x), G: tf.sqrt(b) as tf.Tensor1D };
      }),
  };
}

/**
 * The sub-VP SDE dx = −½ β(t) x dt + √(β(t)(1 − e^{−2∫β})) dw (Song et al. 2021, eq. 12),
 * whose variance is bounded by the VP one: mean e^{lmc} x₀, std 1 − e^{2 lmc}; prior N(0, I).
 * `discretize` is Euler–Maruyama with Δt = T/N (score_sde's default for sub-VP).
 */
export function subVpSde(options: VpSdeOptions = {}): VpFamilySde {
  const config = parseConfig(subVpSdeConfig, { kind: 'subvp', ...options }, 'subVpSde');
  const { beta0, beta1, N } = config;
  const c = vpCommon(beta0, beta1);
  const diffusion = (t: tf.Tensor1D) =>
    tf.tidy(() => {
      const discount = tf.sub(
        1,
        tf.exp(tf.sub(tf.mul(t, -2 * beta0), tf.mul(tf.square(t), beta1 - beta0))),
      );
      return tf.sqrt(tf.mul(c.beta(t), discount));
    }) as tf.Tensor1D;
  const dt = 1 / N;
  return {
    kind: 'subvp',
    T: 1,
    N,
    config,
    beta: c.beta,
    logMeanCoeff: c.logMeanCoeff,
    drift: c.drift,
    diffusion,
    marginal: (x0, t) =>
      tf.tidy(() => {
        const lmc = c.logMeanCoeff(t);
        return {
          mean: tf.mul(perSample(tf.exp(lmc), x0.rank), x0),
          std: tf.sub(1, tf.exp(tf.mul(lmc, 2))) as tf.Tensor1D,
        };
      }),
    marginalStd: (t) =>
      tf.tidy(() => tf.sub(1, tf.exp(tf.mul(c.logMeanCoeff(t), 2)))) as tf.Tensor1D,
    priorSample: (key, shape) => normalPerSample(key, shape),
    priorLogp: c.standardPriorLogp,
    discretize: (x, t) =>
      tf.tidy(() => ({
        f: tf.mul(c.drift(x, t), dt),
        G: tf.mul(diffusion(t), Math.sqrt(dt)) as tf.Tensor1D,
      })),
  };
}
