import { fold, type Key, perSample, sumPerSample } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type StepContext, type StepResult, stepNoise } from './predictors.js';

/**
 * How the Langevin corrector turns gradient and noise norms into a step size:
 * `'batch'` is score_sde's rule (norms averaged over the batch, one ε for all samples, so the
 * batch is coupled); `'sample'` uses each sample's own norms (batch-size invariant).
 */
export type LangevinNorms = 'batch' | 'sample';

/** Settings of a corrector: target signal-to-noise ratio, steps per noise level, norm rule. */
export interface CorrectorSettings {
  readonly snr: number;
  readonly nStepsEach: number;
  readonly langevinNorms: LangevinNorms;
}

/**
 * A corrector: `nStepsEach` steps of score-based MCMC at a fixed time t (Song et al. 2021,
 * §4.2). Step j draws its noise from `fold(key, j)`, per sample.
 */
export type Corrector = (
  ctx: StepContext,
  x: tf.Tensor,
  key: Key,
  settings: CorrectorSettings,
) => StepResult;

const norms = (v: tf.Tensor) => tf.sqrt(sumPerSample(tf.square(v)));

/**
 * Langevin corrector with snr-controlled steps (Song et al. 2021, App. G, corrector
 * algorithms; score_sde `LangevinCorrector`): with S = s(x, t) and ξ ~ N(0, I),
 * ε = 2 α (snr · mean_b‖ξ_b‖ / mean_b‖S_b‖)², x_mean = x + ε S, x = x_mean + √(2ε) ξ.
 * α = 1 for VE and α_i = 1 − β_i for VP / sub-VP. With `langevinNorms: 'sample'` each sample
 * uses its own ‖ξ_b‖ / ‖S_b‖.
 *
 * @example
 * ```ts
 * const { x, xMean } = langevin(ctx, x0, key(2), { snr: 0.16, nStepsEach: 1, langevinNorms: 'batch' });
 * ```
 */
export function langevin(
  ctx: StepContext,
  x: tf.Tensor,
  key: Key,
  settings: CorrectorSettings,
): StepResult {
  const alpha = ctx.schedule.alpha(ctx.schedule.index(ctx.t));
  return tf.tidy(() => {
    let cur = x;
    let mean = x;
    for (let j = 0; j < settings.nStepsEach; j++) {
      const grad = ctx.score(cur, ctx.tVec);
      const noise = stepNoise(ctx, fold(key, j), x.shape);
      const ratio =
        settings.langevinNorms === 'batch'
          ? tf.div(tf.mean(norms(noise)), tf.mean(norms(grad)))
          : perSample(tf.div(norms(noise), norms(grad)), x.rank);
      const eps = tf.mul(tf.square(tf.mul(ratio, settings.snr)), 2 * alpha);
      mean = tf.add(cur, tf.mul(eps, grad));
      cur = tf.add(mean, tf.mul(tf.sqrt(tf.mul(eps, 2)), noise));
    }
    return { x: cur === x ? tf.clone(x) : cur, xMean: mean === x ? tf.clone(x) : mean };
  });
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1; Song et al. 2021, App. G;
 * score_sde `AnnealedLangevinDynamics`): ε = 2 α (snr · σ(t))² with σ(t) the marginal std,
 * x_mean = x + ε s(x, t), x = x_mean + √(2ε) ξ; α as in {@link langevin}.
 *
 * @example
 * ```ts
 * const { x } = annealedLangevin(ctx, x0, key(2), { snr: 0.16, nStepsEach: 5, langevinNorms: 'batch' });
 * ```
 */
export function annealedLangevin(
  ctx: StepContext,
  x: tf.Tensor,
  key: Key,
  settings: CorrectorSettings,
): StepResult {
  const alpha = ctx.schedule.alpha(ctx.schedule.index(ctx.t));
  return tf.tidy(() => {
    const std = perSample(ctx.sde.marginalStd(ctx.tVec), x.rank);
    const eps = tf.mul(tf.square(tf.mul(std, settings.snr)), 2 * alpha);
    const noiseScale = tf.sqrt(tf.mul(eps, 2));
    let cur = x;
    let mean = x;
    for (let j = 0; j < settings.nStepsEach; j++) {
      const grad = ctx.score(cur, ctx.tVec);
      mean = tf.add(cur, tf.mul(eps, grad));
      cur = tf.add(mean, tf.mul(noiseScale, stepNoise(ctx, fold(key, j), x.shape)));
    }
    return { x: cur === x ? tf.clone(x) : cur, xMean: mean === x ? tf.clone(x) : mean };
  });
}

/**
 * The empty corrector (predictor-only sampling): x and x_mean are (copies of) the input and
 * the score is not called.
 *
 * @example
 * ```ts
 * noCorrector(ctx, x0, key(2), settings).x; // equals x0
 * ```
 */
export function noCorrector(
  _ctx: StepContext,
  x: tf.Tensor,
  _key: Key,
  _settings: CorrectorSettings,
): StepResult {
  const y = tf.clone(x);
  return { x: y, xMean: y };
}

/**
 * The correctors a sampler config may name (`corrector: 'langevin'`), a closed record
 * (Song et al. 2021, App. G; score_sde's corrector registry without global state).
 *
 * @example
 * ```ts
 * const step = correctors['langevin'];
 * ```
 */
export const correctors = {
  langevin,
  annealedLangevin,
  none: noCorrector,
} as const satisfies Record<string, Corrector>;

/** The name of a corrector in {@link correctors}. */
export type CorrectorName = keyof typeof correctors;

/** The corrector names, for schemas and CLIs. */
export const correctorNames = Object.keys(correctors) as CorrectorName[];
