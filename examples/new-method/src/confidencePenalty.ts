import type { ScoreFn } from '@scorekit/core';
import { logSoftmax, type ParametricFn, type Sde } from '@scorekit/core';
import {
  crossEntropy,
  dlsm,
  evaluateNoisyClassifier,
  type LabelledBatch,
  type Loss,
  sum,
  termValue,
  tidyLossValue,
  type Weighting,
  weighted,
} from '@scorekit/losses';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A new loss term: the confidence penalty of Pereyra et al. 2017, −H(p(·|x̃, σ; θ)) averaged
 * over the batch, at the same x̃ as DLSM. It reads the logits of the shared noisy-classifier
 * evaluation, so inside a `sum` with `dlsm` the classifier still runs once per step.
 */
export function confidencePenalty(
  sde: Sde,
  logits: ParametricFn<tf.Tensor2D>,
): Loss<LabelledBatch> {
  return (params, batch, key, scope) =>
    tidyLossValue(() => {
      const ev = evaluateNoisyClassifier({ sde, logits, eps: 0, params, batch, key, scope });
      const logp = logSoftmax(ev.logits); // core's second-order-safe log-softmax
      const negEntropy = tf.mean(tf.sum(tf.mul(tf.exp(logp), logp), -1));
      return termValue('confidence', negEntropy as tf.Scalar);
    });
}

/**
 * The new classifier objective: DLSM with its own time weighting λ(t) = g(t)² (the likelihood
 * weighting of Song et al. 2021b, in place of the toy's σ⁴), + λ_CE · CE + β · confidence.
 */
export function newObjective(
  sde: Sde,
  logits: ParametricFn<tf.Tensor2D>,
  score: ScoreFn,
  { lambda = 0.125, beta = 0.05 } = {},
): Loss<LabelledBatch> {
  const g2: Weighting = (t) => tf.square(sde.diffusion(t));
  return sum(
    dlsm({ sde, logits, score, eps: 0, weighting: g2 }),
    weighted(lambda)(crossEntropy({ sde, logits, eps: 0 })),
    weighted(beta)(confidencePenalty(sde, logits)),
  );
}
