import './gradients.js'; // tfjs's own gradients must be registered before we override some
import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels whose tfjs gradient reads the op's saved *output*. tfjs saves outputs as clones
 * recorded on the tape before the op that produced them, so a higher-order gradient drops
 * every path through them (measured: the DLSM parameter gradient of a tanh or log-softmax
 * classifier was off by up to 100 % against finite differences). We re-register these
 * gradients to save the *input* and recompute the output inside the gradient, which keeps
 * double back-propagation (Chao et al. 2022, eq. 10) exact.
 */
const OUTPUT_SAVING = ['Exp', 'Sigmoid', 'Tanh', 'Softmax', 'Elu'] as const;

/** Comparisons are piecewise constant: their gradient is zero (tfjs registers none). */
const COMPARISONS = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'] as const;

let done = false;

/**
 * Registers second-order-safe gradients (see {@link OUTPUT_SAVING}) and zero gradients for
 * comparison ops (so that max-shifted log-sum-exp and ReLU masks can be differentiated
 * twice). Called once when @scorekit/core is imported; idempotent unless `force` (needed after
 * something re-registers tfjs's own gradients, e.g. loading `@tensorflow/tfjs-node`).
 */
export function registerSecondOrderGradients(options: { readonly force?: boolean } = {}): void {
  if (done && !options.force) return;
  tf.registerGradient({
    kernelName: 'Exp',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.exp(saved[0]!)) }),
  });
  tf.registerGradient({
    kernelName: 'Sigmoid',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({
      x: () => {
        const y = tf.sigmoid(saved[0]!);
        return tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y)));
      },
    }),
  });
  tf.registerGradient({
    kernelName: 'Tanh',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({
      x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(tf.tanh(saved[0]!)))),
    }),
  });
  tf.registerGradient({
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => ({
      logits: () => {
        const dim = (attrs as { dim: number }).dim;
        const y = tf.softmax(saved[0]!, dim);
        const dyTimesY = tf.mul(dy as tf.Tensor, y);
        return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
      },
    }),
  });
  tf.registerGradient({
    kernelName: 'Elu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({
      x: () => {
        const x = saved[0]!;
        return tf.mul(dy as tf.Tensor, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(x)));
      },
    }),
  });
  for (const kernelName of COMPARISONS) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => ({
        a: () => tf.zerosLike(saved[0]!),
        b: () => tf.zerosLike(saved[1]!),
      }),
    });
  }
  done = true;
}

/** The kernels whose gradients {@link registerSecondOrderGradients} replaces. */
export const secondOrderKernels: readonly string[] = [...OUTPUT_SAVING, ...COMPARISONS];

/**
 * log softmax along the last axis, z − logsumexp(z), differentiable to second order
 * (tfjs's `tf.logSoftmax` saves its output and loses higher-order paths). The log-likelihood
 * log p(y | x) of a classifier (Chao et al. 2022, eq. 7).
 *
 * @example
 * ```ts
 * const logp = logSoftmax(logits); // [B, C]
 * ```
 */
export function logSoftmax(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(logits, tf.logSumExp(logits, -1, true)));
}

registerSecondOrderGradients();
