import type { Key, Params } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Loss } from './contracts.js';

/**
 * A loss value with the gradients of its total with respect to every param (for DLSM a
 * second-order derivative, Chao et al. 2022, eq. 10).
 *
 * @example
 * ```ts
 * const { total, terms, grads }: LossAndGrads = lossAndGrads(loss, params, batch, k);
 * ```
 */
export interface LossAndGrads {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
  readonly grads: Readonly<Record<string, tf.Tensor>>;
}

/**
 * Evaluates `loss(params, batch, key)` and the gradient of its `total` with respect to every
 * tensor of `params` (reverse mode through tfjs's tape). The loss may itself call `tf.grad`
 * (DLSM's input gradient ∇ₓ log p(y|x̃, σ; θ), Chao et al. 2022, eq. 10): the outer gradient
 * is then a second-order derivative, which tfjs computes because the inner backward pass is
 * recorded on the outer tape. Params the loss does not use get a zero gradient.
 *
 * Everything returned (total, terms, grads) is owned by the caller; `params` and `batch` are
 * not disposed.
 *
 * @example
 * ```ts
 * const { total, terms, grads } = lossAndGrads(loss, params, batch, fold(k, step));
 * ```
 */
export function lossAndGrads<B>(loss: Loss<B>, params: Params, batch: B, key: Key): LossAndGrads {
  const names = Object.keys(params);
  if (names.length === 0) throw new RangeError('lossAndGrads: params is empty');
  const xs = names.map((n) => params[n]!);
  const kept: tf.Tensor[] = [];
  let rawTerms: Record<string, tf.Scalar> = {};
  let result: { value: tf.Tensor; grads: tf.Tensor[] };
  try {
    result = tf.engine().gradients(
      () => {
        const v = loss(params, batch, key);
        rawTerms = {};
        for (const [name, t] of Object.entries(v.terms)) {
          rawTerms[name] = tf.keep(t);
          kept.push(t);
        }
        return v.total;
      },
      xs,
      undefined,
      true,
    );
  } catch (cause) {
    tf.dispose(kept);
    throw cause;
  }
  const { value, grads } = result;
  // Kept tensors belong to no scope: hand the caller ordinary tracked copies instead.
  const total = tf.clone(value) as tf.Scalar;
  const terms: Record<string, tf.Scalar> = {};
  for (const [name, t] of Object.entries(rawTerms)) terms[name] = tf.clone(t) as tf.Scalar;
  const out: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => {
    out[n] = grads[i] ?? tf.zerosLike(xs[i]!);
  });
  value.dispose();
  for (const t of kept) t.dispose();
  return { total, terms, grads: out };
}
