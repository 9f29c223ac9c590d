import {
  type Key,
  normalPerSample,
  perSample,
  reverse,
  type ScoreFn,
  type Sde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { StepNormal } from './rowKeys.js';
import type { DiscreteSchedule } from './schedule.js';

/**
 * Everything a predictor or corrector step sees: the SDE (discretised with the sampler's N), the
 * score, its discrete tables and the current time, uniform over the batch (`t` on the host,
 * `tVec` [B] for the score). `tVec` is owned by the sampler.
 */
export interface StepContext {
  readonly sde: Sde;
  readonly score: ScoreFn;
  readonly schedule: DiscreteSchedule;
  readonly t: number;
  readonly tVec: tf.Tensor1D;
  /** Predictors follow the probability-flow ODE instead of the reverse SDE (no noise). */
  readonly probabilityFlow: boolean;
  /**
   * How the step draws its noise from a key (see {@link stepNoise}); absent means
   * `normalPerSample`. The sampler sets it to `rowKeyedNormal` when it has per-sample keys.
   */
  readonly normal?: StepNormal;
}

/**
 * Standard normal noise of `shape` for a step, drawn from `key` the way the sampler asks
 * (`ctx.normal`, default `normalPerSample`). Built-in steps draw every noise through this, so
 * per-sample keys (`SamplerOptions.sampleKeys`) reach them; a custom step should too.
 *
 * @example
 * ```ts
 * const z = stepNoise(ctx, key, x.shape);
 * ```
 */
export function stepNoise(ctx: StepContext, key: Key, shape: readonly number[]): tf.Tensor {
  return (ctx.normal ?? normalPerSample)(key, shape);
}

/** The state after a step: the new `x` and its noise-free mean `xMean` (both owned, fresh). */
export type StepResult = {
  readonly x: tf.Tensor;
  readonly xMean: tf.Tensor;
};

/**
 * A predictor: one step of a reverse-time SDE solver from t_i to t_{i+1} (Song et al. 2021,
 * §4.2 and Algorithm 1). Noise is drawn per sample from `key` (batch-size invariant).
 */
export type Predictor = (ctx: StepContext, x: tf.Tensor, key: Key) => StepResult;

/**
 * Euler–Maruyama on the reverse SDE (Song et al. 2021, eq. 6) with score_sde's step
 * Δt = −T/N: x_mean = x + f̄(x, t) Δt, x = x_mean + g(t) √|Δt| z.
 *
 * @example
 * ```ts
 * const { x, xMean } = eulerMaruyama(ctx, x0, key(1));
 * ```
 */
export function eulerMaruyama(ctx: StepContext, x: tf.Tensor, key: Key): StepResult {
  return tf.tidy(() => {
    const rsde = reverse(ctx.sde, ctx.score, { probabilityFlow: ctx.probabilityFlow });
    const dt = -ctx.sde.T / ctx.sde.N;
    const xMean = tf.add(x, tf.mul(rsde.drift(x, ctx.tVec), dt));
    const g = perSample(tf.mul(rsde.diffusion(ctx.tVec), Math.sqrt(-dt)), x.rank);
    return { x: tf.add(xMean, tf.mul(g, stepNoise(ctx, key, x.shape))), xMean };
  });
}

/**
 * The reverse-diffusion predictor (Song et al. 2021, App. E): the forward discretisation
 * x_{i+1} = x_i + f_i + G_i z reversed through `reverse(sde, score).discretize`:
 * x_mean = x − f̄, x = x_mean + Ḡ z. On the VE SDE this is x_mean = x + (σ_i² − σ_{i−1}²) s,
 * x = x_mean + √(σ_i² − σ_{i−1}²) z (method.md §4).
 *
 * @example
 * ```ts
 * const { x, xMean } = reverseDiffusion(ctx, x0, key(1));
 * ```
 */
export function reverseDiffusion(ctx: StepContext, x: tf.Tensor, key: Key): StepResult {
  return tf.tidy(() => {
    const rsde = reverse(ctx.sde, ctx.score, { probabilityFlow: ctx.probabilityFlow });
    const { f, G } = rsde.discretize(x, ctx.tVec);
    const xMean = tf.sub(x, f);
    const noise = tf.mul(perSample(G, x.rank), stepNoise(ctx, key, x.shape));
    return { x: tf.add(xMean, noise), xMean };
  });
}

/**
 * Ancestral sampling (Song et al. 2021, App. F; score_sde `AncestralSamplingPredictor`).
 * VE (SMLD): x_mean = x + (σ_i² − σ_{i−1}²) s, x = x_mean + √(σ_{i−1}² (σ_i² − σ_{i−1}²) / σ_i²) z.
 * VP (DDPM, Ho et al. 2020, Algorithm 2): x_mean = (x + β_i s) / √(1 − β_i), x = x_mean + √β_i z.
 * Not defined for sub-VP or for the probability-flow ODE (the sampler rejects those configs).
 *
 * @example
 * ```ts
 * const { x, xMean } = ancestral(ctx, x0, key(1));
 * ```
 */
export function ancestral(ctx: StepContext, x: tf.Tensor, key: Key): StepResult {
  const i = ctx.schedule.index(ctx.t);
  return tf.tidy(() => {
    const s = ctx.score(x, ctx.tVec);
    const z = stepNoise(ctx, key, x.shape);
    switch (ctx.sde.kind) {
      case 've': {
        const sigma2 = ctx.schedule.sigma(i) ** 2;
        const prev2 = ctx.schedule.sigma(i - 1) ** 2;
        const xMean = tf.add(x, tf.mul(s, sigma2 - prev2));
        const std = Math.sqrt((prev2 * (sigma2 - prev2)) / sigma2);
        return { x: tf.add(xMean, tf.mul(z, std)), xMean };
      }
      case 'vp': {
        const beta = ctx.schedule.beta(i);
        const xMean = tf.div(tf.add(x, tf.mul(s, beta)), Math.sqrt(1 - beta));
        return { x: tf.add(xMean, tf.mul(z, Math.sqrt(beta))), xMean };
      }
      case 'subvp':
        throw new Error('ancestral: not defined for the sub-VP SDE (as in score_sde)');
      default: {
        const never: never = ctx.sde.kind;
        throw new Error(`ancestral: unknown SDE kind ${String(never)}`);
      }
    }
  });
}

/**
 * The empty predictor (corrector-only sampling, e.g. NCSN's annealed Langevin dynamics):
 * x and x_mean are (copies of) the input.
 *
 * @example
 * ```ts
 * noPredictor(ctx, x0, key(1)).x; // equals x0
 * ```
 */
export function noPredictor(_ctx: StepContext, x: tf.Tensor, _key: Key): StepResult {
  const y = tf.clone(x);
  return { x: y, xMean: y };
}

/**
 * The predictors a sampler config may name (`predictor: 'reverseDiffusion'`), a closed
 * record (Song et al. 2021, App. G; score_sde's predictor registry without global state).
 *
 * @example
 * ```ts
 * const step = predictors['reverseDiffusion'];
 * ```
 */
export const predictors = {
  eulerMaruyama,
  reverseDiffusion,
  ancestral,
  none: noPredictor,
} as const satisfies Record<string, Predictor>;

/** The name of a predictor in {@link predictors}. */
export type PredictorName = keyof typeof predictors;

/** The predictor names, for schemas and CLIs. */
export const predictorNames = Object.keys(predictors) as PredictorName[];
