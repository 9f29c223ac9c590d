import {
  batchSize,
  type ConditionalScoreFn,
  type LogitsFn,
  likelihoodScore,
  type ScoreFn,
  shapeError,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Class labels y for a batch (Chao et al. 2022, §3: one label per sample): a tensor [B] (int32
 * or integral floats, owned by the caller), an array of B labels, or one label for every sample.
 *
 * @example
 * ```ts
 * const y: Labels = [0, 1, 1, 0]; // or 3, or tf.tensor1d([0, 1, 1, 0], 'int32')
 * ```
 */
export type Labels = tf.Tensor1D | readonly number[] | number;

/**
 * The labels as an int32 tensor [B] (a new tensor; call inside `tf.tidy`); throws a ShapeError
 * naming `what` when an array or tensor does not hold one label per sample.
 *
 * @example
 * ```ts
 * tf.tidy(() => labelTensor(3, 4)); // [3, 3, 3, 3]
 * ```
 */
export function labelTensor(y: Labels, batch: number, what = 'labels'): tf.Tensor1D {
  if (typeof y === 'number') return tf.fill([batch], y, 'int32') as tf.Tensor1D;
  const n = Array.isArray(y) ? y.length : (y as tf.Tensor1D).shape[0];
  if (n !== batch) shapeError(what, `${batch} labels (one per sample)`, `${n}`);
  return Array.isArray(y)
    ? tf.tensor1d(y as number[], 'int32')
    : (tf.cast(y as tf.Tensor1D, 'int32') as tf.Tensor1D);
}

/** Options of {@link classifierGuidance}: the guidance scale α (default 1). */
export interface ClassifierGuidanceOptions {
  readonly scale?: number;
}

/**
 * Classifier guidance as a score transformer (Song et al. 2021, eq. 14 and App. I; Chao et al.
 * 2022, §3, the posterior score S_P of method.md §1; Dhariwal & Nichol 2021 for α > 1):
 * S_P(x, t) = s(x, t) + α ∇_x Σ_b log p(y_b | x_b, t), the likelihood score being core's
 * `likelihoodScore(logits)`. α = 1 is plain Bayes' rule; α > 1 is the
 * "scaling" method (sharper, less diverse classes). The result is an ordinary `ScoreFn`, so
 * every sampler (PC, probability-flow ODE, likelihood) takes it unchanged.
 *
 * The classifier must run in inference mode: whoever builds `logits` binds the model with
 * `training: false` (running batch-norm statistics, no dropout), as the paper samples.
 *
 * @example
 * ```ts
 * const guided = classifierGuidance(score, logits, [3, 3, 7, 7], { scale: 2 });
 * const { samples } = await pcSampler(guided, sde, { shape: [4, 32, 32, 3] }, key(0));
 * ```
 */
export function classifierGuidance(
  score: ScoreFn,
  logits: LogitsFn,
  y: Labels,
  options: ClassifierGuidanceOptions = {},
): ScoreFn {
  const scale = options.scale ?? 1;
  const likelihood = likelihoodScore(logits);
  return (x, t) =>
    tf.tidy(() => {
      const labels = labelTensor(y, batchSize(x), 'classifierGuidance: y');
      return tf.add(score(x, t), tf.mul(likelihood(x, t, labels), scale));
    });
}

/** Options of {@link classifierFreeGuidance}: the guidance weight w (default 0). */
export interface ClassifierFreeGuidanceOptions {
  readonly scale?: number;
}

/**
 * Classifier-free guidance as a score transformer (Ho & Salimans 2021, §3.2):
 * s̃(x, t) = (1 + w) s(x, t | y) − w s(x, t). Convention: `scale` is Ho & Salimans' w, with
 * w = 0 the plain conditional score. Since s(x | y) − s(x) = ∇ log p(y | x), this equals
 * classifier guidance with α = 1 + w (`classifierGuidance(..., { scale: 1 + w })` with an
 * exact classifier).
 *
 * @example
 * ```ts
 * const guided = classifierFreeGuidance(condScore, score, 3, { scale: 1 }); // α = 2
 * ```
 */
export function classifierFreeGuidance(
  condScore: ConditionalScoreFn,
  uncondScore: ScoreFn,
  y: Labels,
  options: ClassifierFreeGuidanceOptions = {},
): ScoreFn {
  const w = options.scale ?? 0;
  return (x, t) =>
    tf.tidy(() => {
      const labels = labelTensor(y, batchSize(x), 'classifierFreeGuidance: y');
      const cond = condScore(x, t, labels);
      if (w === 0) return cond;
      return tf.sub(tf.mul(cond, 1 + w), tf.mul(uncondScore(x, t), w));
    });
}
