import {
  batchSize,
  ddpmAlphasCumprod,
  ddpmBetas,
  geometricSigmas,
  normalPerSample,
  type ParametricFn,
  parseConfig,
  perSample,
  shapeError,
  type VeSde,
  type VpFamilySde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { type Loss, termValue, tidyLossValue } from './loss.js';
import { requireFunction, requireSde } from './options.js';
import { lossKeys, sampleIndices } from './perturb.js';
import { reducePerSample } from './reduce.js';

// Discrete-time score matching: the SMLD/NCSN and DDPM training objectives on their noise
// tables (score_sde's "legacy" losses). Both draw a table index per sample from
// `lossKeys(key).time` and call the network at the table time t_i = i / (N − 1).

/** The table time of index i in an N-entry table (0 when N = 1). */
const tableTime = (index: Int32Array, n: number) =>
  tf.tensor1d(Array.from(index, (i) => (n > 1 ? i / (n - 1) : 0)));

/**
 * JSON config of {@link smld}: `reduceMean` averages the squared error over dimensions
 * instead of ½ Σ (score_sde's `reduce_mean`; NCSN used the sum). (Song & Ermon 2019, eq. 6.)
 *
 * @example
 * ```ts
 * decodeConfig(smldConfig, {}, 'ncsn.json'); // Right({ reduceMean: false })
 * ```
 */
export const smldConfig = type({ '+': 'reject', reduceMean: 'boolean = false' });

/** The resolved {@link smldConfig}. */
export type SmldConfig = typeof smldConfig.infer;
/** {@link smldConfig} as written. */
export type SmldConfigInput = typeof smldConfig.inferIn;

/** Options of {@link smld}: the JSON config, a VE SDE (its σ table) and the score model. */
export type SmldOptions = SmldConfigInput & {
  /** A VE SDE: σ_min, σ_max and N define the geometric σ table. */
  readonly sde: VeSde;
  /** s(x, t; θ), called at the table time t_i = i / (N − 1), where σ(t_i) = σ_i. */
  readonly score: ParametricFn;
};

/**
 * Discrete SMLD / NCSN denoising score matching (Song & Ermon 2019, eqs. 5–6; score_sde's
 * `get_smld_loss_fn`): i ~ U{0, …, N−1} per sample, σ_i from the geometric table
 * σ_min (σ_max/σ_min)^{i/(N−1)}, x̃ = x + σ_i z, and λ(σ) = σ²: per sample
 * ½ Σ (σ_i s + z)² (or the mean over dimensions), averaged over the batch as term `smld`.
 * The score is called with the time t_i = i/(N−1) of level i (so σ(t_i) = σ_i; score_sde
 * passes the descending label N−1−i instead). Index from `lossKeys(key).time`, noise from
 * `lossKeys(key).noise`.
 *
 * @example
 * ```ts
 * const loss = smld({ sde: veSde({ N: 1000 }), score });
 * const { total } = loss(params, { x }, key(0));
 * ```
 */
export function smld(options: SmldOptions): Loss<{ readonly x: tf.Tensor }> {
  const { sde, score, ...json } = options;
  const config = parseConfig(smldConfig, json, 'smld');
  requireSde(sde, 'smld', 've');
  requireFunction(score, 'smld', 'score', 'a ParametricFn (params, x, t) → score');
  const { sigmaMin, sigmaMax, N } = sde.config;
  const sigmas = geometricSigmas(sigmaMin, sigmaMax, N);
  return (params, batch, key) =>
    tidyLossValue(() => {
      const x = batch.x;
      const index = sampleIndices(key, batchSize(x), N);
      const t = tableTime(index, N);
      const sigma = perSample(tf.tensor1d(Array.from(index, (i) => sigmas[i]!)), x.rank);
      const z = normalPerSample(lossKeys(key).noise, x.shape);
      const xTilde = tf.add(x, tf.mul(sigma, z));
      const s = score(params, xTilde, t);
      if (!tf.util.arraysEqual(s.shape, x.shape))
        shapeError('smld: score', `shape [${x.shape}] (like x)`, `shape [${s.shape}]`);
      // (s − target)² σ² with target −z/σ is (σ s + z)²
      const sq = tf.square(tf.add(tf.mul(s, sigma), z));
      const perSampleLoss = reducePerSample(sq, config.reduceMean ? 'mean' : 'halfSum');
      return termValue('smld', tf.mean(perSampleLoss) as tf.Scalar);
    });
}

/**
 * JSON config of {@link ddpm}: `reduceMean` (default true, as DDPM's L_simple) averages the
 * squared error over dimensions instead of ½ Σ; `prediction` says what the network outputs:
 * the noise ε (`'epsilon'`, DDPM's parameterisation) or the score (`'score'`, converted by
 * ε̂ = −√(1 − ᾱ_i) s). (Ho et al. 2020, eq. 14.)
 *
 * @example
 * ```ts
 * decodeConfig(ddpmConfig, { prediction: 'score' }, 'ddpm.json');
 * // Right({ reduceMean: true, prediction: 'score' })
 * ```
 */
export const ddpmConfig = type({
  '+': 'reject',
  reduceMean: 'boolean = true',
  prediction: "'epsilon' | 'score' = 'epsilon'",
});

/** The resolved {@link ddpmConfig}. */
export type DdpmConfig = typeof ddpmConfig.infer;
/** {@link ddpmConfig} as written. */
export type DdpmConfigInput = typeof ddpmConfig.inferIn;

/** Options of {@link ddpm}: the JSON config, a VP SDE (its β table) and the network. */
export type DdpmOptions = DdpmConfigInput & {
  /** A VP SDE: β₀, β₁ and N define β_i = linspace(β₀/N, β₁/N, N) and ᾱ_i. */
  readonly sde: VpFamilySde;
  /** The network `(params, x, t) → ε̂` (or a score, see `prediction`), at t_i = i/(N−1). */
  readonly net: ParametricFn;
};

/**
 * Discrete DDPM training (Ho et al. 2020, eq. 14, L_simple; score_sde's `get_ddpm_loss_fn`):
 * i ~ U{0, …, N−1} per sample, x̃ = √ᾱ_i x + √(1 − ᾱ_i) z and per sample mean_d (ε̂ − z)²
 * (or ½ Σ), averaged over the batch as term `ddpm`. Equivalent to DSM with λ = 1 − ᾱ_i
 * (σ²-weighting) on the DDPM chain. The network is called at the table time t_i = i/(N−1)
 * (score_sde passes the index i). Index and noise follow `lossKeys`.
 *
 * @example
 * ```ts
 * const loss = ddpm({ sde: vpSde(), net: (p, x, t) => unet(p, x, t) });
 * const { total } = loss(params, { x }, key(0));
 * ```
 */
export function ddpm(options: DdpmOptions): Loss<{ readonly x: tf.Tensor }> {
  const { sde, net, ...json } = options;
  const config = parseConfig(ddpmConfig, json, 'ddpm');
  requireSde(sde, 'ddpm', 'vp');
  requireFunction(net, 'ddpm', 'net', 'a ParametricFn (params, x, t) → ε̂');
  const { beta0, beta1, N } = sde.config;
  const alphasCumprod = ddpmAlphasCumprod(ddpmBetas(beta0, beta1, N));
  return (params, batch, key) =>
    tidyLossValue(() => {
      const x = batch.x;
      const index = sampleIndices(key, batchSize(x), N);
      const t = tableTime(index, N);
      const abar = Array.from(index, (i) => alphasCumprod[i]!);
      const a = perSample(tf.tensor1d(abar.map(Math.sqrt)), x.rank);
      const std = perSample(tf.tensor1d(abar.map((v) => Math.sqrt(1 - v))), x.rank);
      const z = normalPerSample(lossKeys(key).noise, x.shape);
      const xTilde = tf.add(tf.mul(a, x), tf.mul(std, z));
      const out = net(params, xTilde, t);
      if (!tf.util.arraysEqual(out.shape, x.shape))
        shapeError('ddpm: net', `shape [${x.shape}] (like x)`, `shape [${out.shape}]`);
      const epsHat = config.prediction === 'epsilon' ? out : tf.neg(tf.mul(std, out));
      const sq = tf.square(tf.sub(epsHat, z));
      const perSampleLoss = reducePerSample(sq, config.reduceMean ? 'mean' : 'halfSum');
      return termValue('ddpm', tf.mean(perSampleLoss) as tf.Scalar);
    });
}
