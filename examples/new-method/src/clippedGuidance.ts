import {
  batchSize,
  type LogitsFn,
  likelihoodScore,
  perSample,
  type ScoreFn,
  sumPerSample,
} from '@scorekit/core';
import { type Labels, labelTensor } from '@scorekit/samplers';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link clippedGuidance}. */
export interface ClippedGuidanceOptions {
  /** The guidance scale α(t) per sample, [B] → [B]. */
  readonly scale: (t: tf.Tensor1D) => tf.Tensor1D;
  /** The classifier gradient is clipped to at most `ratio` · ‖s(x, t)‖ per sample. */
  readonly ratio: number;
}

/**
 * A new guidance rule: S(x, t) = s(x, t) + α(t) · clip(g(x, t, y)), where g is the classifier's
 * likelihood score (core's `likelihoodScore`) and clip rescales it per sample to at most
 * `ratio` times the norm of the unconditional score. A `ScoreFn`, so every sampler takes it.
 */
export function clippedGuidance(
  score: ScoreFn,
  logits: LogitsFn,
  y: Labels,
  { scale, ratio }: ClippedGuidanceOptions,
): ScoreFn {
  const g = likelihoodScore(logits);
  const norm = (v: tf.Tensor) => tf.sqrt(sumPerSample(tf.square(v)));
  return (x, t) =>
    tf.tidy(() => {
      const s = score(x, t);
      const gx = g(x, t, labelTensor(y, batchSize(x), 'clippedGuidance: y'));
      const clip = tf.minimum(1, tf.div(tf.mul(norm(s), ratio), tf.add(norm(gx), 1e-12)));
      return tf.add(s, tf.mul(perSample(tf.mul(scale(t), clip), x.rank), gx));
    });
}
