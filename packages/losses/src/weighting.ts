import { ScorekitException, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A per-sample loss weighting λ(t, σ): times t [B] and kernel stds σ [B] → weights [B], applied
 * before the batch mean (Song et al. 2021, eq. 7's λ(t); Chao et al. 2022's `weighting_dlsm` /
 * `weighting_ce`). Accepted by `dlsm`, `crossEntropy` and `dsm` (option `weighting`). Must be
 * built from tensor ops on its inputs (it runs inside the loss's tidy and gradient).
 *
 * @example
 * ```ts
 * const likelihoodLike: Weighting = (t) => tf.square(sde.diffusion(t)); // λ = g(t)²
 * ```
 */
export type Weighting = (t: tf.Tensor1D, sigma: tf.Tensor1D) => tf.Tensor1D;

/**
 * The weighting λ = σ^(2w) (Chao et al. 2022: `weighting_dlsm` w = 2 for the toy, 0 for CIFAR;
 * the cross-entropy's σ^(−2 w_ce) is `sigmaPower(−w_ce)`). The default of `dlsm` (with its
 * config's `w`) and of `crossEntropy` (with −w).
 *
 * @example
 * ```ts
 * dlsm({ sde, logits, score, weighting: sigmaPower(2) }); // the toy's σ⁴ ‖g + s + z/σ‖²
 * ```
 */
export function sigmaPower(w: number): Weighting {
  if (!Number.isFinite(w))
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `sigmaPower: w must be a finite number (was ${w})`,
      path: 'w',
    });
  return (_t, sigma) => tf.pow(sigma, 2 * w);
}

/**
 * Evaluates `weighting` at (t, σ) and checks it returns one weight per sample, [B]; throws a
 * ShapeError naming `what` otherwise.
 *
 * @example
 * ```ts
 * const lambda = applyWeighting(options.weighting, ev.t, ev.std, 'dlsm: weighting'); // [B]
 * ```
 */
export function applyWeighting(
  weighting: Weighting,
  t: tf.Tensor1D,
  sigma: tf.Tensor1D,
  what: string,
): tf.Tensor1D {
  const lambda = weighting(t, sigma);
  if (!(lambda instanceof tf.Tensor) || !tf.util.arraysEqual(lambda.shape, t.shape))
    shapeError(
      what,
      `one weight per sample, shape [${t.shape}]`,
      lambda instanceof tf.Tensor ? `shape [${lambda.shape}]` : typeof lambda,
    );
  return lambda;
}
