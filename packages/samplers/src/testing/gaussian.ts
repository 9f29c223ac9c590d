// Closed-form scores of Gaussian data and of a two-class Gaussian mixture under any SDE:
// the test oracles of this package (not exported from the package entry).

import { type LogitsFn, perSample, type ScoreFn, type Sde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/** The marginal coefficients of p_t at per-sample times t: mean factor m(t) and std(t), [B, 1]. */
function coefficients(sde: Sde, t: tf.Tensor1D): { m: tf.Tensor; std: tf.Tensor } {
  const ones = tf.ones([t.shape[0], 1]);
  const { mean, std } = sde.marginal(ones, t);
  return { m: mean, std: perSample(std, 2) };
}

/** The variance of p_t per dimension for data N(μ, diag s²): m² s² + std², [B, d]. */
function variance(sde: Sde, t: tf.Tensor1D, s: readonly number[]): tf.Tensor {
  const { m, std } = coefficients(sde, t);
  return tf.add(tf.mul(tf.square(m), tf.tensor1d(s.map((v) => v * v))), tf.square(std));
}

/**
 * The exact score of x_t for data N(μ, diag s²): −(x − m(t) μ) / (m(t)² s² + std(t)²).
 * `mu` may be a [B, d] tensor of per-sample means (owned by the caller).
 */
export function gaussianScore(
  sde: Sde,
  mu: readonly number[] | tf.Tensor,
  s: readonly number[],
): ScoreFn {
  return (x, t) =>
    tf.tidy(() => {
      const { m } = coefficients(sde, t);
      const muT = Array.isArray(mu) ? tf.tensor1d(mu as number[]) : (mu as tf.Tensor);
      return tf.neg(tf.div(tf.sub(x, tf.mul(m, muT)), variance(sde, t, s)));
    });
}

/** The exact log-density log p_t(x) for data N(μ, diag s²), [B]. */
export function gaussianLogp(
  sde: Sde,
  mu: readonly number[],
  s: readonly number[],
  x: tf.Tensor,
  t: tf.Tensor1D,
): tf.Tensor1D {
  return tf.tidy(() => {
    const { m } = coefficients(sde, t);
    const v = variance(sde, t, s);
    const r = tf.sub(x, tf.mul(m, tf.tensor1d(mu as number[])));
    return tf.mul(tf.sum(tf.add(tf.log(tf.mul(v, 2 * Math.PI)), tf.div(tf.square(r), v)), 1), -0.5);
  }) as tf.Tensor1D;
}

/** The class means of the mixture: class 0 at +m, class 1 at −m. */
export const classMean = (m: readonly number[], y: number): number[] =>
  m.map((v) => (y === 0 ? v : -v));

/** Per class y: the residual r_y = x − m(t) μ_y, with v = m² s² + std², [B, d] each. */
function mixtureParts(
  sde: Sde,
  m: readonly number[],
  s: readonly number[],
  x: tf.Tensor,
  t: tf.Tensor1D,
) {
  const { m: a } = coefficients(sde, t);
  const v = variance(sde, t, s);
  const am = tf.mul(a, tf.tensor1d(m as number[]));
  return { v, r0: tf.sub(x, am), r1: tf.add(x, am) };
}

/**
 * Exact classifier logits of the equal-weight mixture ½ N(+m, s²) + ½ N(−m, s²) at time t:
 * log p_t(y | x) up to a constant, −Σ_j (x_j − m(t) μ_yj)² / (2 v_j), [B, 2].
 */
export function mixtureLogits(sde: Sde, m: readonly number[], s: readonly number[]): LogitsFn {
  return (x, t) =>
    tf.tidy(() => {
      const { v, r0, r1 } = mixtureParts(sde, m, s, x, t);
      const logit = (r: tf.Tensor) => tf.mul(tf.sum(tf.div(tf.square(r), v), 1), -0.5);
      return tf.stack([logit(r0), logit(r1)], 1) as tf.Tensor2D;
    });
}

/** The exact (unconditional) score of the mixture: −Σ_y p_t(y | x) r_y / v. */
export function mixtureScore(sde: Sde, m: readonly number[], s: readonly number[]): ScoreFn {
  return (x, t) =>
    tf.tidy(() => {
      const { v, r0, r1 } = mixtureParts(sde, m, s, x, t);
      const logit = (r: tf.Tensor) => tf.mul(tf.sum(tf.div(tf.square(r), v), 1, true), -0.5);
      const w0 = tf.sigmoid(tf.sub(logit(r0), logit(r1))); // p(y = 0 | x), [B, 1]
      const mixed = tf.add(tf.mul(w0, r0), tf.mul(tf.sub(1, w0), r1));
      return tf.neg(tf.div(mixed, v));
    });
}

/** The exact class-conditional score s(x, t | y) of the mixture, labels [B]. */
export function mixtureConditionalScore(
  sde: Sde,
  m: readonly number[],
  s: readonly number[],
): (x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D) => tf.Tensor {
  return (x, t, y) =>
    tf.tidy(() => {
      // μ_y = m (1 − 2y), per sample
      const sign = tf.sub(1, tf.mul(tf.cast(y, 'float32'), 2));
      const mu = tf.mul(perSample(sign, 2), tf.tensor1d(m as number[]));
      return gaussianScore(sde, mu, s)(x, t);
    });
}

/** Column means and (biased) variances of a [B, d] sample, on the host. */
export function moments(x: tf.Tensor): { mean: number[]; variance: number[] } {
  const data = x.dataSync();
  const [b, d] = x.shape as [number, number];
  const mean = new Array<number>(d).fill(0);
  const variance = new Array<number>(d).fill(0);
  for (let i = 0; i < b; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / b;
  for (let i = 0; i < b; i++)
    for (let j = 0; j < d; j++) variance[j]! += (data[i * d + j]! - mean[j]!) ** 2 / b;
  return { mean, variance };
}
