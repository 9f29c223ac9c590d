import { fold, type Key, normalArray, parseConfig, split, uniformArray } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import type { OracleScores } from './parzen.js';
import type { PointSet } from './pointSet.js';

/**
 * Config of a Gaussian mixture Σ_k w_k N(μ_k, diag(s_k²)): `means` (K × d), `stds` (per
 * component a number, isotropic, or d numbers, diagonal) and `weights` (K positive numbers
 * summing to 1; default uniform). Each component is one class. A toy with closed-form
 * scores for checking score models (Song & Ermon 2019, §3; Chao et al. 2022, §6).
 *
 * @example
 * ```ts
 * gaussianMixtureConfig({ means: [[-5, 0], [5, 0]], stds: [1, 1] });
 * ```
 */
export const gaussianMixtureConfig = type({
  means: 'number[][] > 0',
  stds: '(number > 0 | (number > 0)[])[]',
  'weights?': '(number > 0)[]',
}).narrow((c, ctx) => {
  const k = c.means.length;
  const d = c.means[0]?.length ?? 0;
  if (d === 0)
    return ctx.reject({ path: ['means', 0], expected: 'a non-empty mean', actual: '[]' });
  const wrongMean = c.means.findIndex((m) => m.length !== d);
  if (wrongMean >= 0)
    return ctx.reject({
      path: ['means', wrongMean],
      expected: `${d} coordinates like means[0]`,
      actual: `${c.means[wrongMean]!.length}`,
    });
  if (c.stds.length !== k)
    return ctx.reject({
      path: ['stds'],
      expected: `${k} entries (one per mean)`,
      actual: `${c.stds.length}`,
    });
  const wrongStd = c.stds.findIndex((s) => Array.isArray(s) && s.length !== d);
  if (wrongStd >= 0)
    return ctx.reject({
      path: ['stds', wrongStd],
      expected: `a number or ${d} numbers`,
      actual: `${(c.stds[wrongStd] as number[]).length} numbers`,
    });
  if (c.weights !== undefined) {
    if (c.weights.length !== k)
      return ctx.reject({
        path: ['weights'],
        expected: `${k} weights`,
        actual: `${c.weights.length}`,
      });
    const total = c.weights.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 1) > 1e-6)
      return ctx.reject({
        path: ['weights'],
        expected: 'weights summing to 1',
        actual: `sum ${total}`,
      });
  }
  return true;
});

/**
 * A {@link gaussianMixtureConfig} as a user writes it (Bishop 2006, §2.3.9 mixture).
 *
 * @example
 * ```ts
 * const input: GaussianMixtureConfigInput = { means: [[0, 0]], stds: [1] };
 * ```
 */
export type GaussianMixtureConfigInput = typeof gaussianMixtureConfig.inferIn;

/**
 * A Gaussian mixture with closed-form densities and scores of its σ-smoothed version
 * p_σ = p ∗ N(0, σ²I) = Σ_k w_k N(μ_k, diag(s_k² + σ²)) (σ = 0: the mixture itself;
 * Bishop 2006, §2.3.9; the perturbed density of Song et al. 2021, eq. 1). Tensors returned
 * are float32 and owned by the caller; `x` is [M, d].
 *
 * @example
 * ```ts
 * const s = gaussianMixture({ means: [[0, 0]], stds: [1] }).score(tf.tensor2d([[1, 0]]), 1); // [[-0.5, 0]]
 * ```
 */
export interface GaussianMixture {
  readonly dim: number;
  readonly numComponents: number;
  readonly weights: Float64Array;
  /** K × d, row-major. */
  readonly means: Float64Array;
  /** Per-component variances s_k² (K × d, row-major). */
  readonly variances: Float64Array;
  /** n samples with their component as label: sample i uses `fold(key, i)`. */
  sample(key: Key, n: number): PointSet;
  /** log p_σ(x) [M]. */
  logDensity(x: tf.Tensor2D, sigma?: number): tf.Tensor1D;
  /** ∇ₓ log p_σ(x) = Σ_k r_k(x) (μ_k − x)/(s_k² + σ²) [M, d]. */
  score(x: tf.Tensor2D, sigma?: number): tf.Tensor2D;
  /** log p_σ(y = k | x) [M, K]. */
  logPosterior(x: tf.Tensor2D, sigma?: number): tf.Tensor2D;
  /** The class-conditional ("posterior") score ∇ₓ log p_σ(x | y = k) = (μ_k − x)/(s_k² + σ²) [M, d]. */
  componentScore(x: tf.Tensor2D, k: number, sigma?: number): tf.Tensor2D;
  /** All oracle scores at once, as `oracleScores` returns them for a point set. */
  scores(x: tf.Tensor2D, sigma?: number): OracleScores;
}

/**
 * Builds a {@link GaussianMixture} from a validated config (throws a `ConfigError` naming the
 * field otherwise). Closed forms: Bishop 2006, §2.3.9; the score is eq. (6) of Song et al.
 * 2021 for this density; the likelihood score is the class score minus the prior score
 * (Chao et al. 2022, eq. 2).
 *
 * @example
 * ```ts
 * const gm = gaussianMixture({ means: [[-5, 0], [5, 0]], stds: [1, 2], weights: [0.3, 0.7] });
 * const s = gm.score(tf.tensor2d([[0, 0]]), 0.5); // [1, 2]
 * ```
 */
export function gaussianMixture(config: GaussianMixtureConfigInput): GaussianMixture {
  const cfg = parseConfig(gaussianMixtureConfig, config, 'gaussianMixture');
  const k = cfg.means.length;
  const d = cfg.means[0]!.length;
  const weights = Float64Array.from(cfg.weights ?? new Array<number>(k).fill(1 / k));
  const means = Float64Array.from(cfg.means.flat());
  const variances = new Float64Array(k * d);
  cfg.stds.forEach((s, c) => {
    for (let j = 0; j < d; j++) {
      const v = Array.isArray(s) ? s[j]! : s;
      variances[c * d + j] = v * v;
    }
  });
  const cumulative = new Float64Array(k);
  for (let c = 0, acc = 0; c < k; c++) cumulative[c] = acc += weights[c]!;

  /** [M, K, d] differences μ_k − x and [K, d] smoothed variances. */
  const parts = (x: tf.Tensor2D, sigma: number) => {
    const mu = tf.tensor2d(Float32Array.from(means), [k, d]);
    const v = tf.tensor2d(
      Float32Array.from(variances, (s) => s + sigma * sigma),
      [k, d],
    );
    const diff = tf.sub(tf.expandDims(mu, 0), tf.expandDims(x, 1)); // [M, K, d]
    return { v, diff };
  };
  const logJoint = (x: tf.Tensor2D, sigma: number): tf.Tensor2D =>
    tf.tidy(() => {
      const { v, diff } = parts(x, sigma);
      const quad = tf.sum(tf.div(tf.square(diff), v), 2); // [M, K]
      const logDet = tf.sum(tf.log(tf.mul(v, 2 * Math.PI)), 1); // [K]
      const logW = tf.tensor1d(Float32Array.from(weights, Math.log));
      return tf.add(tf.mul(tf.add(quad, logDet), -0.5), logW) as tf.Tensor2D;
    });
  const componentScores = (x: tf.Tensor2D, sigma: number): tf.Tensor3D =>
    tf.tidy(() => {
      const { v, diff } = parts(x, sigma);
      return tf.div(diff, v) as tf.Tensor3D; // [M, K, d]
    });

  const mixture: GaussianMixture = {
    dim: d,
    numComponents: k,
    weights,
    means,
    variances,
    sample(key, n) {
      const x = new Float32Array(n * d);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const [kc, kz] = split(fold(key, i), 2) as [Key, Key];
        const u = uniformArray(kc, 1)[0]!;
        let c = cumulative.findIndex((cw) => u < cw);
        if (c < 0) c = k - 1;
        const z = normalArray(kz, d);
        for (let j = 0; j < d; j++)
          x[i * d + j] = means[c * d + j]! + Math.sqrt(variances[c * d + j]!) * z[j]!;
        labels[i] = c;
      }
      return {
        x,
        dim: d,
        count: n,
        labels,
        classNames: Array.from({ length: k }, (_, c) => `component ${c}`),
      };
    },
    logDensity: (x, sigma = 0) => tf.tidy(() => tf.logSumExp(logJoint(x, sigma), 1) as tf.Tensor1D),
    logPosterior: (x, sigma = 0) =>
      tf.tidy(() => {
        const lj = logJoint(x, sigma);
        return tf.sub(lj, tf.logSumExp(lj, 1, true)) as tf.Tensor2D;
      }),
    score: (x, sigma = 0) =>
      tf.tidy(() => {
        const r = tf.exp(mixture.logPosterior(x, sigma)); // [M, K]
        return tf.sum(tf.mul(tf.expandDims(r, 2), componentScores(x, sigma)), 1) as tf.Tensor2D;
      }),
    componentScore: (x, c, sigma = 0) =>
      tf.tidy(() => {
        if (!(Number.isInteger(c) && c >= 0 && c < k))
          throw new RangeError(`componentScore: component ${c} out of range 0..${k - 1}`);
        const all = componentScores(x, sigma);
        return tf.reshape(tf.slice(all, [0, c, 0], [-1, 1, -1]), [x.shape[0], d]) as tf.Tensor2D;
      }),
    scores: (x, sigma = 0) =>
      tf.tidy(() => {
        const prior = mixture.score(x, sigma);
        const posterior = Array.from({ length: k }, (_, c) => mixture.componentScore(x, c, sigma));
        const likelihood = posterior.map((s) => tf.sub(s, prior) as tf.Tensor2D);
        return { prior, posterior, likelihood, logPosterior: mixture.logPosterior(x, sigma) };
      }),
  };
  return mixture;
}
