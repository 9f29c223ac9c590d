import type * as tf from '@tensorflow/tfjs-core';
import type { Key } from '../random.js';

/** The SDE families of Song et al. 2021 (§3.4): variance exploding, variance preserving, sub-VP. */
export type SdeKind = 've' | 'vp' | 'subvp';

/** The mean and per-sample std of the perturbation kernel p_{0t}(x_t | x_0). */
export interface Marginal {
  readonly mean: tf.Tensor;
  /** [B] */
  readonly std: tf.Tensor1D;
}

/** One step of a discretised SDE: x_{i+1} = x_i + f + G z (Song et al. 2021, eq. 46). */
export interface Discretization {
  readonly f: tf.Tensor;
  /** [B] */
  readonly G: tf.Tensor1D;
}

/**
 * An Itô SDE dx = f(x, t) dt + g(t) dw on t ∈ [0, T] (Song et al. 2021, eq. 5) as a record
 * of pure tensor functions. All take batch-first `x` [B, ...] and per-sample `t` [B] and
 * return owned tensors. Build one with `veSde`, `vpSde` or `subVpSde`.
 */
export interface Sde {
  readonly kind: SdeKind;
  /** End time T (1 for all three families). */
  readonly T: number;
  /** Number of discretisation steps of `discretize`. */
  readonly N: number;
  /** Drift f(x, t). */
  drift(x: tf.Tensor, t: tf.Tensor1D): tf.Tensor;
  /** Diffusion coefficient g(t), [B]. */
  diffusion(t: tf.Tensor1D): tf.Tensor1D;
  /** Mean and std of p_{0t}(x_t | x_0) (Song et al. 2021, eqs. 29, 32, 34). */
  marginal(x0: tf.Tensor, t: tf.Tensor1D): Marginal;
  /** The std of p_{0t} alone (σ(t) for VE), [B]: the noise level a network is conditioned on. */
  marginalStd(t: tf.Tensor1D): tf.Tensor1D;
  /** A sample of the prior p_T, batch-first `shape`, one key per sample. */
  priorSample(key: Key, shape: readonly number[]): tf.Tensor;
  /** log p_T(z) per sample, [B]. */
  priorLogp(z: tf.Tensor): tf.Tensor1D;
  /** The discretisation used by reverse-diffusion and ancestral samplers (SMLD / DDPM / Euler). */
  discretize(x: tf.Tensor, t: tf.Tensor1D): Discretization;
}
