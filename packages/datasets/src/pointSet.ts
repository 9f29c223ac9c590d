import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A labelled point cloud in memory (the toy data of Chao et al. 2022, §6): `x` row-major
 * float32 [count, dim], `labels` int32 [count] indexing `classNames`.
 *
 * @example
 * ```ts
 * const set: PointSet = { x: Float32Array.of(0, 1, 2, 3), dim: 2, count: 2, labels: Int32Array.of(0, 1), classNames: ['a', 'b'] };
 * ```
 */
export interface PointSet {
  readonly x: Float32Array;
  readonly dim: number;
  readonly count: number;
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
}

/**
 * A batch of toy points as tensors (Chao et al. 2022, §6): x float32 [B, dim], y int32 [B],
 * dataset `indices`. The consumer disposes x and y.
 *
 * @example
 * ```ts
 * const b: PointBatch = pointBatch(moons, [0, 1]);
 * ```
 */
export interface PointBatch {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor1D;
  readonly indices: Int32Array;
}

/**
 * The points of class `c` only (rows copied), e.g. for a class oracle (Chao et al. 2022, §6).
 *
 * @example
 * ```ts
 * const upper = pointsOfClass(moons, 0); // 5000 points
 * ```
 */
export function pointsOfClass(set: PointSet, c: number): PointSet {
  const rows: number[] = [];
  for (let i = 0; i < set.count; i++) if (set.labels[i] === c) rows.push(i);
  return gatherPoints(set, rows);
}

/**
 * The points at `indices` (in that order) as a new set (Chao et al. 2022, §6 toy data).
 *
 * @example
 * ```ts
 * gatherPoints(set, [2, 0]);
 * ```
 */
export function gatherPoints(set: PointSet, indices: ArrayLike<number>): PointSet {
  const d = set.dim;
  const x = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (!(i >= 0 && i < set.count)) shapeError('gatherPoints index', `0..${set.count - 1}`, `${i}`);
    x.set(set.x.subarray(i * d, (i + 1) * d), j * d);
    labels[j] = set.labels[i]!;
  }
  return { x, dim: d, count: indices.length, labels, classNames: set.classNames };
}

/**
 * The points at `indices` as tensors (owned by the caller), a toy batch of Chao et al. 2022, §6.
 *
 * @example
 * ```ts
 * const { x, y } = pointBatch(moons, [0, 5000]);
 * tf.dispose([x, y]);
 * ```
 */
export function pointBatch(set: PointSet, indices: ArrayLike<number>): PointBatch {
  const picked = gatherPoints(set, indices);
  return {
    x: tf.tensor2d(picked.x, [picked.count, set.dim], 'float32'),
    y: tf.tensor1d(picked.labels, 'int32'),
    indices: Int32Array.from(indices),
  };
}

/**
 * All points as one tensor [count, dim] (owned by the caller; Chao et al. 2022, §6 toy data).
 *
 * @example
 * ```ts
 * const all = pointsTensor(moons); // [10000, 2]
 * ```
 */
export function pointsTensor(set: PointSet): tf.Tensor2D {
  return tf.tensor2d(set.x, [set.count, set.dim], 'float32');
}
