import type { Key, LogitsFn, ParametricFn, Params, ScoreFn, Sde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Buffers, Model, ModelVariables } from './model.js';
import { assertLive } from './variables.js';

/** Options of the bind helpers. */
export interface BindOptions {
  /** Training mode (batch statistics, dropout); default false (inference). */
  readonly training?: boolean;
  /** Dropout key (required only for training with dropout > 0). */
  readonly key?: Key;
}

/** The part of an SDE a binding needs: the marginal std σ(t) the networks are conditioned on. */
export type NoiseScale = Pick<Sde, 'marginalStd'>;

function applyAt<Out extends tf.Tensor>(
  what: string,
  model: Model<Out>,
  params: Params,
  buffers: Buffers,
  sde: NoiseScale,
  options: BindOptions,
  x: tf.Tensor,
  t: tf.Tensor1D,
): Out {
  assertLive(what, params, buffers);
  return tf.tidy(() =>
    model.apply(params, x, sde.marginalStd(t), {
      training: options.training ?? false,
      buffers,
      ...(options.key ? { key: options.key } : {}),
    }),
  );
}

/**
 * A score function over time, s(x, t) = model(x, σ(t)) with σ(t) = `sde.marginalStd(t)`
 * (Song et al. 2021, eq. 6–7: networks are conditioned on the noise level of the perturbation
 * kernel). Inference mode by default. Every sampler accepts the result. Calling it after
 * `vars` were disposed throws a `DisposedParamsError` naming the first freed variable.
 *
 * @example
 * ```ts
 * const score = bindScore(unet, vars, veSde());
 * const s = score(x, fillTime(B, 0.5));
 * ```
 */
export function bindScore(
  model: Model,
  vars: ModelVariables,
  sde: NoiseScale,
  options: BindOptions = {},
): ScoreFn {
  return (x, t) => applyAt('bindScore', model, vars.params, vars.buffers, sde, options, x, t);
}

/**
 * Classifier logits over time, logits(x, t) = model(x, σ(t)) (Chao et al. 2022 §3: the
 * noise-conditioned classifier p(y | x̃, σ; θ)). Inference mode by default — running batch-norm
 * statistics, as the likelihood score must be taken when sampling.
 *
 * @example
 * ```ts
 * const logits = bindLogits(classifier, vars, veSde());
 * ```
 */
export function bindLogits(
  model: Model<tf.Tensor2D>,
  vars: ModelVariables,
  sde: NoiseScale,
  options: BindOptions = {},
): LogitsFn {
  return (x, t) => applyAt('bindLogits', model, vars.params, vars.buffers, sde, options, x, t);
}

/**
 * The score model as a function of its params, `(params, x, t) → s`, for losses that
 * differentiate with respect to params (DSM, Song et al. 2021 eq. 7). Buffers stay bound
 * (and are updated in place in training mode).
 *
 * @example
 * ```ts
 * const s = parametricScore(unet, vars.buffers, sde, { training: true, key: k });
 * tf.grads((...ps) => loss(s(record(ps), x, t)));
 * ```
 */
export function parametricScore(
  model: Model,
  buffers: Buffers,
  sde: NoiseScale,
  options: BindOptions = {},
): ParametricFn {
  return (params, x, t) => applyAt('parametricScore', model, params, buffers, sde, options, x, t);
}

/**
 * The classifier as a function of its params, `(params, x, t) → logits`, for the CE and DLSM
 * losses (Chao et al. 2022, eqs. 9–10). Pass `{ training: true }` for the reference behaviour
 * of batch norm inside the DLSM gradient (batch statistics).
 *
 * @example
 * ```ts
 * const f = parametricLogits(classifier, vars.buffers, sde, { training: true });
 * ```
 */
export function parametricLogits(
  model: Model<tf.Tensor2D>,
  buffers: Buffers,
  sde: NoiseScale,
  options: BindOptions = {},
): ParametricFn<tf.Tensor2D> {
  return (params, x, t) => applyAt('parametricLogits', model, params, buffers, sde, options, x, t);
}
