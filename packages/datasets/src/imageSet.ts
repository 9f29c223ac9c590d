import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Height, width and channels of one image (HWC): `[32, 32, 3]` for CIFAR (Krizhevsky 2009).
 *
 * @example
 * ```ts
 * const shape: ImageShape = [32, 32, 3];
 * ```
 */
export type ImageShape = readonly [height: number, width: number, channels: number];

/**
 * The CIFAR image shape, 32×32 RGB (Krizhevsky 2009).
 *
 * @example
 * ```ts
 * imageBytes(cifarShape); // 3072
 * ```
 */
export const cifarShape: ImageShape = [32, 32, 3];

/**
 * A labelled image set held in memory as raw bytes: `pixels` is NHWC uint8 (exactly the
 * stored values, 4× smaller than float32), `labels` int32 indices into `classNames`.
 * Tensors are made per batch by {@link imageBatch} (float32 in [0, 1]).
 * Krizhevsky 2009 (CIFAR-10/100); the data of Chao et al. 2022, §5.
 *
 * @example
 * ```ts
 * const set: ImageSet = { pixels, labels, count: 2, shape: cifarShape, classNames: ['cat', 'dog'] };
 * ```
 */
export interface ImageSet {
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly shape: ImageShape;
  readonly classNames: readonly string[];
}

/**
 * A batch of images and labels as tensors (the data (x, y) of Chao et al. 2022, §2): `x`
 * float32 NHWC [B, H, W, C], `y` int32 [B], and `indices`, the dataset index of each sample.
 * It is a `LabelledBatch` of @scorekit/losses. The consumer owns `x` and `y` and disposes
 * them (`tf.dispose([b.x, b.y])`).
 *
 * @example
 * ```ts
 * const b = imageBatch(set, [0, 1]);
 * tf.dispose([b.x, b.y]);
 * ```
 */
export interface ImageBatch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor1D;
  readonly indices: Int32Array;
}

/**
 * The number of bytes of one image of `shape` (3072 for Krizhevsky 2009 CIFAR).
 *
 * @example
 * ```ts
 * imageBytes([32, 32, 3]); // 3072
 * ```
 */
export function imageBytes(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/**
 * Checks that a set's arrays agree with its count, shape and class names (throws a
 * `ShapeError` naming the field otherwise); labels index the classes (Chao et al. 2022, §2).
 *
 * @example
 * ```ts
 * checkImageSet(set); // returns set
 * ```
 */
export function checkImageSet(set: ImageSet): ImageSet {
  const per = imageBytes(set.shape);
  if (set.pixels.length !== set.count * per)
    shapeError('ImageSet.pixels', `${set.count}×${per} bytes`, `${set.pixels.length}`);
  if (set.labels.length !== set.count)
    shapeError('ImageSet.labels', `${set.count} labels`, `${set.labels.length}`);
  for (let i = 0; i < set.count; i++) {
    const y = set.labels[i]!;
    if (y < 0 || y >= set.classNames.length)
      shapeError(`ImageSet.labels[${i}]`, `0..${set.classNames.length - 1}`, `${y}`);
  }
  return set;
}

/**
 * The images at `indices` (in that order) as a new in-memory set (bytes copied; Krizhevsky
 * 2009 images).
 *
 * @example
 * ```ts
 * const firstTen = gatherImages(set, Array.from({ length: 10 }, (_, i) => i));
 * ```
 */
export function gatherImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const per = imageBytes(set.shape);
  const n = indices.length;
  const pixels = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    if (!(i >= 0 && i < set.count)) shapeError('gatherImages index', `0..${set.count - 1}`, `${i}`);
    pixels.set(set.pixels.subarray(i * per, (i + 1) * per), j * per);
    labels[j] = set.labels[i]!;
  }
  return { pixels, labels, count: n, shape: set.shape, classNames: set.classNames };
}

/**
 * Concatenates sets with the same shape and class names (e.g. the chunks of a stream of
 * Krizhevsky 2009 records).
 *
 * @example
 * ```ts
 * const all = concatImages([chunk0, chunk1]);
 * ```
 */
export function concatImages(sets: readonly ImageSet[]): ImageSet {
  const first = sets[0];
  if (first === undefined) shapeError('concatImages', 'at least one set', 'none');
  const per = imageBytes(first.shape);
  const count = sets.reduce((a, s) => a + s.count, 0);
  const pixels = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  let at = 0;
  for (const s of sets) {
    if (s.shape.join() !== first.shape.join())
      shapeError('concatImages shape', `[${first.shape}]`, `[${s.shape}]`);
    if (s.classNames.join('\n') !== first.classNames.join('\n'))
      shapeError('concatImages classNames', 'the same class names', 'different ones');
    pixels.set(s.pixels, at * per);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { pixels, labels, count, shape: first.shape, classNames: first.classNames };
}

/**
 * Converts uint8 pixels to float32 in [0, 1] (value / 255), the input range of the paper's
 * models (Song et al. 2021, App. H: data in [0, 1]; Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * toUnitFloat(new Uint8Array([0, 255])); // Float32Array [0, 1]
 * ```
 */
export function toUnitFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

/**
 * The images at `indices` of an in-memory set as tensors (Song et al. 2021, App. H: data in
 * [0, 1]): x float32 [B, H, W, C] in [0, 1], y int32 [B]. The caller owns (and disposes) `x`
 * and `y`.
 *
 * @example
 * ```ts
 * const { x, y } = imageBatch(set, [3, 1, 4]);
 * tf.dispose([x, y]);
 * ```
 */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>): ImageBatch {
  const picked = gatherImages(set, indices);
  return batchFromBytes(picked.pixels, picked.labels, set.shape, Int32Array.from(indices));
}

/**
 * Tensors from raw NHWC bytes and labels (owned by the caller): x = bytes/255 in [0, 1]
 * (Song et al. 2021, App. H), y int32.
 *
 * @example
 * ```ts
 * const b = batchFromBytes(pixels, labels, cifarShape, Int32Array.from([0, 1]));
 * ```
 */
export function batchFromBytes(
  pixels: Uint8Array,
  labels: Int32Array,
  shape: ImageShape,
  indices: Int32Array,
): ImageBatch {
  const n = labels.length;
  const x = tf.tensor4d(toUnitFloat(pixels), [n, shape[0], shape[1], shape[2]], 'float32');
  const y = tf.tensor1d(labels, 'int32');
  return { x, y, indices };
}

/**
 * The per-channel mean of a set's pixels in [0, 1] (e.g. CIFAR-10 test, Krizhevsky 2009:
 * 0.4942, 0.4851, 0.4504), computed in float64 on the host.
 *
 * @example
 * ```ts
 * channelMean(set); // [r, g, b]
 * ```
 */
export function channelMean(set: ImageSet): number[] {
  const c = set.shape[2];
  const sums = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = ch; i < set.pixels.length; i += c) sum += set.pixels[i] as number;
    sums[ch] = sum;
  }
  const n = set.pixels.length / c;
  return Array.from(sums, (s) => s / n / 255);
}

/**
 * How many samples each class has: `counts[k]` = #{i : labels[i] = k} (labels outside
 * 0..numClasses−1 are not counted). Class-wise metrics need these (Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * classCounts(Int32Array.from([0, 2, 2]), 3); // [1, 0, 2]
 * ```
 */
export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y >= 0 && y < numClasses) counts[y]!++;
  }
  return counts;
}
