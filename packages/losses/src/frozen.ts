import type { ScoreFn } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A frozen score: `frozen(s)(x, t)` evaluates `s` as a constant — off the gradient tape, with
 * a zero gradient — like PyTorch's `torch.no_grad()` in the reference DLSM code. In
 * L_DLSM = E‖∇ log p(y | x̃; θ) + s(x̃, σ; φ) − ∇ log p(x̃ | x)‖² (Chao et al. 2022, the DLSM loss)
 * the pre-trained score s(·; φ) (its EMA weights) is constant in θ: its operations are not
 * recorded (no memory is held for a backward pass through it, and `tf.variableGrads` gives
 * no gradient to φ even if φ's variables are trainable).
 *
 * Implemented with `tf.customGrad`, whose forward function runs with the tape off. The score
 * must not itself take gradients (`tf.grad`) — those need the tape.
 *
 * @example
 * ```ts
 * const s = frozen((x, t) => model.apply(emaParams, x, sde.marginalStd(t), opts));
 * const value = s(xTilde, t); // a constant for any surrounding tf.grad
 * ```
 */
export function frozen(score: ScoreFn): ScoreFn {
  const constant = tf.customGrad((x, t) => ({
    // clone: the output must be a fresh tensor even if the score returns one of its inputs
    value: tf.clone(score(x as tf.Tensor, t as tf.Tensor1D)),
    gradFunc: () => [tf.zerosLike(x as tf.Tensor), tf.zerosLike(t as tf.Tensor)],
  }));
  return (x, t) => constant(x, t);
}
