import * as tf from '@tensorflow/tfjs-core';
import { checkLabelRange, checkLabels, checkLogits } from './labels.js';
import { logSoftmax } from './secondOrder.js';
import { batchSize } from './tensor.js';
import type { ConditionalScoreFn, LogitsFn } from './types.js';

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

/** What {@link logLikelihoodAndScore} returns: one forward and one backward pass. */
export interface LogLikelihoodAndScore {
  /** The classifier's logits at (x, t), [B, C] — the forward pass itself. */
  readonly logits: tf.Tensor2D;
  /** log p(y_i | x_i, t_i) per sample, [B]. */
  readonly logp: tf.Tensor1D;
  /** The likelihood score ∇ₓ Σ_i log p(y_i | x_i, t_i), shaped like x. */
  readonly score: tf.Tensor;
}

/**
 * The classifier's logits, per-sample log-likelihood and its input gradient in one forward and
 * one backward pass: the likelihood score ∇ₓ Σ_i log p(y_i | x_i, t_i) of Chao et al. 2022
 * (Bayes' rule for scores, eq. 3: ∇ log p(x̃|y) = ∇ log p(y|x̃) + ∇ log p(x̃)). Computed with
 * `tf.valueAndGrad`, so inside an enclosing `tf.grad` by the classifier's parameters all three
 * outputs stay differentiable (double back-propagation, as the DLSM loss of Chao et al. 2022
 * needs). Returns owned tensors.
 *
 * @example
 * ```ts
 * const { logits, logp, score } = logLikelihoodAndScore(classifier, x, t, y);
 * ```
 */
export function logLikelihoodAndScore(
  logits: LogitsFn,
  x: tf.Tensor,
  t: tf.Tensor1D,
  y: tf.Tensor1D,
): LogLikelihoodAndScore {
  checkLabels(y, batchSize(x));
  let forward: tf.Tensor2D | undefined;
  // An exception thrown while tfjs records a gradient leaks the tape's saved tensors, so a
  // failure (bad logits shape, label out of range, an error in `logits`) is caught, the
  // gradient completes on a dummy value, and the error is rethrown afterwards.
  let failure: { readonly error: unknown } | undefined;
  const f = (xt: tf.Tensor): tf.Tensor => {
    try {
      const out = logits(xt, t);
      const logp = logLikelihoodAtLabels(out, y);
      // kept past the gradient's tidy: the logits stay on the tape of an enclosing gradient
      forward = tf.keep(out);
      return logp;
    } catch (error) {
      failure = { error };
      return tf.sum(tf.mul(xt, 0));
    }
  };
  const { value, grad } = tf.tidy(() => tf.valueAndGrad(f)(x));
  if (failure) {
    tf.dispose([value, grad]);
    throw failure.error;
  }
  // a clone owned by the caller's scope (an enclosing tidy disposes it) and still on the tape
  const out = tf.clone(forward!);
  forward!.dispose();
  return { logits: out, logp: value as tf.Tensor1D, score: grad };
}

/**
 * The likelihood score of a noise-conditioned classifier as a {@link ConditionalScoreFn}:
 * g(x, t, y) = ∇ₓ Σ_i log p(y_i | x_i, t_i) (Chao et al. 2022, eq. 3: the likelihood term of
 * ∇ log p(x̃|y) = ∇ log p(y|x̃) + ∇ log p(x̃); method.md §1). The one definition shared by the
 * DLSM loss, the samplers' classifier guidance (S = α g + s) and the score-error metrics.
 * Labels are int32 [B]; returns an owned tensor shaped like x. Take it with the classifier in
 * inference mode when sampling. Inside a `tf.grad` by the classifier's parameters it is
 * differentiable (second order).
 *
 * @example
 * ```ts
 * const g = likelihoodScore((x, t) => classifier(params, x, t));
 * const gx = g(x, t, tf.tensor1d([0, 1, 1], 'int32')); // shaped like x
 * ```
 */
export function likelihoodScore(logits: LogitsFn): ConditionalScoreFn {
  return (x, t, y) =>
    tf.tidy(() => {
      const { logits: out, logp, score } = logLikelihoodAndScore(logits, x, t, y);
      tf.dispose([out, logp]);
      return score;
    });
}
