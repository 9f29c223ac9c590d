import * as tf from '@tensorflow/tfjs-core';
import { shapeError } from './errors.js';

/**
 * Reshapes a per-sample vector `v` [B] to [B, 1, …, 1] so that it broadcasts against a
 * batch-first tensor of rank `rank` (e.g. σ(t) against images [B, H, W, C]).
 *
 * @example
 * ```ts
 * tf.mul(perSample(sigma, x.rank), z); // σ_i · z_i for every sample i
 * ```
 */
export function perSample(v: tf.Tensor, rank: number): tf.Tensor {
  if (v.rank !== 1) shapeError('perSample', 'a rank-1 tensor [B]', `shape [${v.shape}]`);
  return tf.reshape(v, [v.shape[0] as number, ...new Array<number>(rank - 1).fill(1)]);
}

/** The batch size of a batch-first tensor. */
export function batchSize(x: tf.Tensor): number {
  const b = x.shape[0];
  if (b === undefined) shapeError('batchSize', 'a batch-first tensor', 'a scalar');
  return b;
}

/**
 * The per-sample sum over all non-batch axes: [B, ...] → [B]. Used for squared norms
 * ‖·‖² in losses and for log-densities.
 */
export function sumPerSample(x: tf.Tensor): tf.Tensor1D {
  const axes = x.shape.map((_, i) => i).slice(1);
  return (axes.length === 0 ? x : tf.sum(x, axes)) as tf.Tensor1D;
}

/** The number of elements per sample of a batch-first tensor. */
export function sampleSize(x: tf.Tensor): number {
  return x.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** A [B] tensor filled with the scalar time `t` (samplers call score functions per batch). */
export function fillTime(batch: number, t: number): tf.Tensor1D {
  return tf.fill([batch], t) as tf.Tensor1D;
}
