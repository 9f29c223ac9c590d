import type { Params } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The global L2 norm of a set of tensors, √(Σ_k ‖g_k‖²), as in PyTorch's
 * `clip_grad_norm_` (Pascanu et al. 2013, "On the difficulty of training RNNs", Alg. 1).
 * Returns an owned scalar.
 *
 * @example
 * ```ts
 * globalNorm({ a: tf.tensor([3]), b: tf.tensor([4]) }); // 5
 * ```
 */
export function globalNorm(grads: Params): tf.Scalar {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return (squares.length === 0 ? tf.scalar(0) : tf.sqrt(tf.addN(squares))) as tf.Scalar;
  });
}

/**
 * The factor global-norm clipping multiplies every gradient by (Pascanu et al. 2013, Alg. 1;
 * PyTorch's `clip_grad_norm_`): min(1, maxNorm / (‖g‖ + 1e-6)). Returns an owned scalar.
 *
 * @example
 * ```ts
 * clipCoefficient({ a: tf.tensor([3]), b: tf.tensor([4]) }, 1); // ≈ 0.2
 * ```
 */
export function clipCoefficient(grads: Params, maxNorm: number): tf.Scalar {
  return tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(globalNorm(grads), 1e-6))));
}

/**
 * Clips gradients by their global norm (Pascanu et al. 2013, Alg. 1; PyTorch's
 * `clip_grad_norm_`, used by score_sde with `grad_clip = 1`): every gradient is multiplied by
 * {@link clipCoefficient}, min(1, maxNorm / (‖g‖ + 1e-6)). Returns new owned tensors; the
 * inputs are not disposed.
 *
 * @example
 * ```ts
 * clipByGlobalNorm({ a: tf.tensor([3]), b: tf.tensor([4]) }, 1); // { a: [0.6], b: [0.8] }
 * ```
 */
export function clipByGlobalNorm(grads: Params, maxNorm: number): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const coef = clipCoefficient(grads, maxNorm);
    const out: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) out[name] = tf.mul(g, coef);
    return out;
  });
}
