import type { Key, LogitsFn, ScoreFn, VeSde } from '@scorekit/core';
import {
  likelihoodScore,
  logLikelihoodAtLabels,
  normalArray,
  permutation,
  split,
  uniformArray,
} from '@scorekit/core';
import type { PointSet } from '@scorekit/datasets';
import type { ConditionalScores } from '@scorekit/metrics';
import * as tf from '@tensorflow/tfjs-core';

/** A classifier-based conditional model S_P = α g + s (Chao et al. 2022, eq. 4), over t. */
export function classifierScores(
  prior: ScoreFn,
  logits: LogitsFn,
  alpha: number,
): ConditionalScores {
  const likelihood = likelihoodScore(logits);
  return {
    likelihood,
    posterior: (x, t, y) => tf.tidy(() => tf.add(prior(x, t), tf.mul(alpha, likelihood(x, t, y)))),
  };
}

/** Posterior score matching: one score model per class; its implied likelihood is s_y − s. */
export function posteriorScores(prior: ScoreFn, perClass: readonly ScoreFn[]): ConditionalScores {
  // every evaluation batch is of one class (scoreErrors and the samplers label whole batches)
  const pick = (x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D) => perClass[y.dataSync()[0]!]!(x, t);
  return {
    posterior: pick,
    likelihood: (x, t, y) => tf.tidy(() => tf.sub(pick(x, t, y), prior(x, t))),
  };
}

/** Cross-entropy of a classifier on held-out noisy points (for the learning curves). */
export function heldOutCrossEntropy(
  logits: LogitsFn,
  sde: VeSde,
  data: PointSet,
  k: Key,
  n = 2000,
): number {
  return tf.tidy(() => {
    const [kIdx, kT, kZ] = split(k, 3) as [Key, Key, Key];
    const idx = Array.from(permutation(kIdx, data.count).subarray(0, Math.min(n, data.count)));
    const m = idx.length;
    const x = tf.tensor2d(
      idx.flatMap((i) => [data.x[2 * i]!, data.x[2 * i + 1]!]),
      [m, 2],
    );
    const y = tf.tensor1d(
      idx.map((i) => data.labels[i]!),
      'int32',
    );
    const t = tf.tensor1d(uniformArray(kT, m)); // σ(t) log-uniform, as in training
    const sigma = sde.marginalStd(t);
    const xt = tf.add(
      x,
      tf.mul(tf.reshape(sigma, [-1, 1]), tf.tensor2d(normalArray(kZ, 2 * m), [m, 2])),
    );
    return -tf.mean(logLikelihoodAtLabels(logits(xt, t), y)).dataSync()[0]!;
  });
}
