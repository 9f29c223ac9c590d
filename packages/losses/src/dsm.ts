import { type ParametricFn, parseConfig, perSample, type Sde, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { type Loss, termValue, tidyLossValue } from './loss.js';
import { requireFunction, requireSde } from './options.js';
import { perturb } from './perturb.js';
import { reducePerSample } from './reduce.js';
import { applyWeighting, type Weighting } from './weighting.js';

/**
 * JSON config of {@link dsm}. `weighting` chooses λ(t) and the reduction over dimensions of
 * the per-sample squared error (z ~ N(0, I), σ = std of p_{0t}, s = the model's score):
 * - `'sigma2'` (default, the CIFAR setting; score_sde `reduce_mean=False`): λ = σ²,
 *   per sample ½ Σ (σ s + z)².
 * - `'reduceMean'` (score_sde `reduce_mean=True`): λ = σ², per sample mean_d (σ s + z)².
 * - `'likelihood'` (Song et al. 2021b, likelihood weighting): λ = g(t)², per sample
 *   ½ g² Σ (s + z/σ)².
 * - `'sigmaPower'` (the toy score model of Chao et al. 2022, weighting w = 2): λ = σ^(2w),
 *   per sample mean_d σ^(2w) (s + z/σ)².
 * `eps` is the smallest time: t ~ U(eps, T); 1e-3 for score training (Song et al. 2021,
 * CIFAR), 0 for the toy's log-uniform σ. `w` is used by `'sigmaPower'` only.
 * (Song et al. 2021, eq. 7 and App. C; Chao et al. 2022's toy weighting.)
 *
 * @example
 * ```ts
 * decodeConfig(dsmConfig, { weighting: 'likelihood' }, 'score.json');
 * // Right({ eps: 0.001, weighting: 'likelihood', w: 2 })
 * ```
 */
export const dsmConfig = type({
  '+': 'reject',
  eps: '0 <= number < 1 = 0.001',
  weighting: "'sigma2' | 'reduceMean' | 'likelihood' | 'sigmaPower' = 'sigma2'",
  w: 'number = 2',
});

/** The resolved {@link dsmConfig}. */
export type DsmConfig = typeof dsmConfig.infer;
/** {@link dsmConfig} as written: every field optional. */
export type DsmConfigInput = typeof dsmConfig.inferIn;

/**
 * Options of {@link dsm}: the JSON config plus the SDE and the parametric score. `weighting`
 * is one of the names of {@link dsmConfig} or any {@link Weighting} λ(t, σ), which gives per
 * sample mean_d λ (s + z/σ)² (so `sigmaPower(w)` equals `'sigmaPower'` with that w).
 */
export type DsmOptions = Omit<DsmConfigInput, 'weighting'> & {
  readonly weighting?: DsmConfigInput['weighting'] | Weighting;
  /** The forward SDE whose kernel p_{0t} perturbs the data. */
  readonly sde: Sde;
  /** The score model s(x, t; θ) as `(params, x, t) → [B, ...]`. */
  readonly score: ParametricFn;
};

/**
 * Continuous-time denoising score matching for any SDE (Song et al. 2021, eq. 7; Vincent
 * 2011): with t ~ U(ε, T) and z ~ N(0, I) per sample, x̃ = mean(x, t) + σ(t) z and
 * L = E_t λ(t) E‖s(x̃, t; θ) + z/σ‖², the target −z/σ = ∇_x̃ log p_{0t}(x̃ | x) (for VE,
 * (x − x̃)/σ²). λ and the reduction follow `weighting` (see {@link dsmConfig}); the batch
 * mean of the per-sample losses is the term `dsm`. Stage 1 of Chao et al. 2022 (the
 * unconditional score model). Accepts `{ x }` or a labelled batch; noise follows `lossKeys`.
 * `weighting` may also be any {@link Weighting} λ(t, σ): per sample mean_d λ (s + z/σ)².
 *
 * @example
 * ```ts
 * const loss = dsm({ sde: veSde(), score: (p, x, t) => model(p, x, t), eps: 1e-3 });
 * const { total } = loss(params, { x }, key(0)); // ½ Σ (σ s + z)², batch mean
 * ```
 */
export function dsm(options: DsmOptions): Loss<{ readonly x: tf.Tensor }> {
  const { sde, score, weighting: given, ...rest } = options;
  const custom = typeof given === 'function' ? given : undefined;
  const json = custom ? rest : { ...rest, ...(given === undefined ? {} : { weighting: given }) };
  const config = parseConfig(dsmConfig, json, 'dsm');
  requireSde(sde, 'dsm');
  requireFunction(score, 'dsm', 'score', 'a ParametricFn (params, x, t) → score');
  const { eps, weighting, w } = config;
  return (params, batch, key) =>
    tidyLossValue(() => {
      const { t, z, std, xTilde } = perturb(sde, batch.x, key, eps);
      const s = score(params, xTilde, t);
      if (!tf.util.arraysEqual(s.shape, batch.x.shape))
        shapeError('dsm: score', `shape [${batch.x.shape}] (like x)`, `shape [${s.shape}]`);
      const sigma = perSample(std, s.rank);
      let perSampleLoss: tf.Tensor1D;
      if (custom) {
        const lambda = applyWeighting(custom, t, std, 'dsm: weighting');
        const r = reducePerSample(tf.square(tf.add(s, tf.div(z, sigma))), 'mean');
        return termValue('dsm', tf.mean(tf.mul(r, lambda)) as tf.Scalar);
      }
      switch (weighting) {
        case 'sigma2':
          perSampleLoss = reducePerSample(tf.square(tf.add(tf.mul(s, sigma), z)), 'halfSum');
          break;
        case 'reduceMean':
          perSampleLoss = reducePerSample(tf.square(tf.add(tf.mul(s, sigma), z)), 'mean');
          break;
        case 'likelihood': {
          const g2 = tf.square(sde.diffusion(t));
          const r = reducePerSample(tf.square(tf.add(s, tf.div(z, sigma))), 'halfSum');
          perSampleLoss = tf.mul(r, g2);
          break;
        }
        case 'sigmaPower': {
          // σ^w s + σ^(w−1) z = σ^w (s + z/σ), as the reference toy code writes it
          const r = tf.add(tf.mul(s, tf.pow(sigma, w)), tf.mul(z, tf.pow(sigma, w - 1)));
          perSampleLoss = reducePerSample(tf.square(r), 'mean');
          break;
        }
        default: {
          const never: never = weighting;
          throw new Error(`dsm: unknown weighting ${String(never)}`);
        }
      }
      return termValue('dsm', tf.mean(perSampleLoss) as tf.Scalar);
    });
}
