import * as tf from '@tensorflow/tfjs-core';

/**
 * SiLU / swish, x · sigmoid(x) (Elfwing et al. 2018; Ramachandran et al. 2017): the
 * nonlinearity of NCSN++ and of the classifier's noise embedding (Chao et al. 2022 §5).
 * Built from `tf.sigmoid`, whose gradient @scorekit/core re-registers so that double
 * back-propagation is exact.
 *
 * @example
 * ```ts
 * silu(tf.tensor([0, 1])); // [0, 0.7311]
 * ```
 */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/**
 * ReLU, max(x, 0) (Nair & Hinton 2010): the nonlinearity of the ResNet classifier and the toy
 * MLPs (Chao et al. 2022 §5–6). Its second derivative is zero almost everywhere, but the mask
 * it applies to the input gradient depends on the parameters, which DLSM differentiates.
 *
 * @example
 * ```ts
 * relu(tf.tensor([-1, 2])); // [0, 2]
 * ```
 */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** The nonlinearities a network config can name. */
export type Activation = 'silu' | 'relu';

/**
 * The function of an {@link Activation} name (the `nonlinearity` of a config; score_sde's
 * `get_act`).
 *
 * @example
 * ```ts
 * activation('silu')(x); // x · sigmoid(x)
 * ```
 */
export function activation(name: Activation): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'silu':
      return silu;
    case 'relu':
      return relu;
  }
}
