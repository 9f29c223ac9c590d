import {
  batchSize,
  type LogitsFn,
  logSoftmax,
  type ParametricFn,
  type Params,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkLabelRange, checkLabels, checkLogits } from './labels.js';

/**
 * Per-sample log-likelihoods log p(y_i | x_i) [B] of logits [B, C] at int32 labels y [B]
 * (Chao et al. 2022: a classifier's log softmax at the label). Uses core's
 * second-order-safe `logSoftmax` and a one-hot product (no gather), so the result can be
 * differentiated twice. Checks the logits shape and the label range.
 *
 * @example
 * ```ts
 * logLikelihoodAtLabels(tf.tensor2d([[0, 0]]), tf.tensor1d([1], 'int32')); // [−ln 2]
 * ```
 */
export function logLikelihoodAtLabels(logits: tf.Tensor, y: tf.Tensor1D): tf.Tensor1D {
  checkLabels(y, batchSize(logits));
  const classes = checkLogits(logits, y.shape[0]);
  checkLabelRange(y, classes);
  return tf.tidy(() => tf.sum(tf.mul(logSoftmax(logits), tf.oneHot(y, classes)), -1));
}

/** What {@link logLikelihoodAndScore} returns. */
export interface LogLikelihoodAndScore {
  /** log p(y_i | x_i, t_i) per sample, [B]. */
  readonly logp: tf.Tensor1D;
  /** The likelihood score ∇ₓ Σ_i log p(y_i | x_i, t_i), shaped like x. */
  readonly score: tf.Tensor;
}

/**
 * The classifier's per-sample log-likelihood and its input gradient in one forward and one
 * backward pass: the likelihood score ∇ₓ Σ_i log p(y_i | x_i, t_i) of Chao et al. 2022 (Bayes'
 * rule for scores: ∇ log p(x̃|y) = ∇ log p(y|x̃) + ∇ log p(x̃)). Computed with `tf.valueAndGrad`, so
 * inside an enclosing `tf.grad` by the classifier's parameters both outputs stay
 * differentiable (double back-propagation, as the DLSM loss of Chao et al. 2022 needs).
 *
 * @example
 * ```ts
 * const { logp, score } = logLikelihoodAndScore(logits, x, t, y);
 * ```
 */
export function logLikelihoodAndScore(
  logits: LogitsFn,
  x: tf.Tensor,
  t: tf.Tensor1D,
  y: tf.Tensor1D,
): LogLikelihoodAndScore {
  checkLabels(y, batchSize(x));
  return tf.tidy(() => {
    // An exception thrown while tfjs records a gradient leaks the tape's saved tensors, so a
    // failure (bad logits shape, label out of range, an error in `logits`) is caught, the
    // gradient completes on a dummy value, and the error is rethrown afterwards.
    let failure: { readonly error: unknown } | undefined;
    const f = (xt: tf.Tensor): tf.Tensor => {
      try {
        return logLikelihoodAtLabels(logits(xt, t), y);
      } catch (error) {
        failure = { error };
        return tf.sum(tf.mul(xt, 0));
      }
    };
    const { value, grad } = tf.valueAndGrad(f)(x);
    if (failure) throw failure.error;
    return { logp: value as tf.Tensor1D, score: grad };
  });
}

/**
 * The likelihood score ∇ₓ Σ_i log p(y_i | x_i, t_i) of a noise-conditioned classifier
 * (Chao et al. 2022: the likelihood term of ∇ log p(x̃|y) = ∇ log p(y|x̃) + ∇ log p(x̃)), shared by DLSM and the samplers'
 * classifier guidance (S = α ∇ log p(y|x̃) + s(x̃)). Returns an owned tensor shaped like x.
 * Take it with the classifier in inference mode when sampling.
 *
 * @example
 * ```ts
 * const g = likelihoodScore((x, t) => classifier(params, x, t), x, t, y);
 * ```
 */
export function likelihoodScore(
  logits: LogitsFn,
  x: tf.Tensor,
  t: tf.Tensor1D,
  y: tf.Tensor1D,
): tf.Tensor {
  return tf.tidy(() => logLikelihoodAndScore(logits, x, t, y).score);
}

/**
 * The parametric, differentiable form of {@link likelihoodScore}: ∇ₓ Σ_i log p(y_i | x_i,
 * t_i; θ) as a function of θ = `params`, for use inside a function differentiated by θ
 * (the DLSM loss of Chao et al. 2022).
 *
 * @example
 * ```ts
 * const g = parametricLikelihoodScore(classifier);
 * const grads = tf.grads((w: tf.Tensor) => tf.sum(tf.square(g({ w }, x, t, y))))([w]);
 * ```
 */
export function parametricLikelihoodScore(
  logits: ParametricFn<tf.Tensor2D>,
): (params: Params, x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D) => tf.Tensor {
  return (params, x, t, y) => likelihoodScore((xt, tt) => logits(params, xt, tt), x, t, y);
}
