import { shapeError } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Features of a set of images on the host: `rows` × `dim`, row-major float32, together with
 * the name of the extractor that produced them (Heusel et al. 2017 compare Inception pool-3
 * features; any other extractor gives a different metric, see `metricLabel`).
 * Host arrays, not tensors: 50k × 2048 features are 400 MB and must not sit on the device.
 */
export interface FeatureSet {
  readonly extractor: string;
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/**
 * Whether `x` is a host {@link FeatureSet} (rather than a tensor).
 *
 * @example
 * ```ts
 * isFeatureSet(featureRows([[1, 2]])); // true; isFeatureSet(tf.zeros([1, 2])) is false
 * ```
 */
export function isFeatureSet(x: tf.Tensor | FeatureSet): x is FeatureSet {
  return 'rows' in x && 'extractor' in x && x.data instanceof Float32Array;
}

/** The extractor name given to features that came from no extractor (raw vectors). */
export const RAW_FEATURES = 'raw';

/**
 * Reads a [N, D] tensor into a host {@link FeatureSet} (the tensor stays the caller's).
 *
 * @example
 * ```ts
 * const set = featureSet(tf.tensor2d([[0, 1], [2, 3]]), 'pixels'); // rows 2, dim 2
 * ```
 */
export function featureSet(x: tf.Tensor, extractor: string = RAW_FEATURES): FeatureSet {
  if (x.rank !== 2) shapeError('featureSet', 'a [N, D] tensor', `shape [${x.shape}]`);
  const [rows, dim] = x.shape as [number, number];
  return { extractor, rows, dim, data: Float32Array.from(x.dataSync() as Float32Array) };
}

/**
 * Reads a [N, D] tensor into a host {@link FeatureSet} with an asynchronous read (the tensor
 * stays the caller's): the form that works on every backend, webgpu included, where a
 * synchronous read of GPU data is impossible in Node. Same values as {@link featureSet}.
 *
 * @example
 * ```ts
 * const set = await featureSetAsync(features, 'inceptionV3Pool3');
 * ```
 */
export async function featureSetAsync(
  x: tf.Tensor,
  extractor: string = RAW_FEATURES,
): Promise<FeatureSet> {
  if (x.rank !== 2) shapeError('featureSet', 'a [N, D] tensor', `shape [${x.shape}]`);
  const [rows, dim] = x.shape as [number, number];
  return { extractor, rows, dim, data: Float32Array.from((await x.data()) as Float32Array) };
}

/**
 * A {@link FeatureSet} from host rows (each an array of D numbers).
 *
 * @example
 * ```ts
 * featureRows([[0, 0], [1, 0]]); // rows 2, dim 2, extractor 'raw'
 * ```
 */
export function featureRows(
  rows: ReadonlyArray<ArrayLike<number>>,
  extractor: string = RAW_FEATURES,
): FeatureSet {
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    if (r.length !== dim) shapeError(`featureRows: row ${i}`, `${dim} values`, `${r.length}`);
    data.set(Array.from(r), i * dim);
  });
  return { extractor, rows: rows.length, dim, data };
}

/**
 * Concatenates feature sets of the same extractor and dimension (row order kept).
 *
 * @example
 * ```ts
 * concatFeatures([a, b]).rows === a.rows + b.rows;
 * ```
 */
export function concatFeatures(sets: readonly FeatureSet[]): FeatureSet {
  const first = sets[0];
  if (!first) shapeError('concatFeatures', 'at least one feature set', 'none');
  let rows = 0;
  for (const s of sets) {
    checkCompatible('concatFeatures', first, s);
    rows += s.rows;
  }
  const data = new Float32Array(rows * first.dim);
  let at = 0;
  for (const s of sets) {
    data.set(s.data.subarray(0, s.rows * s.dim), at);
    at += s.rows * s.dim;
  }
  return { extractor: first.extractor, rows, dim: first.dim, data };
}

/**
 * Splits features by integer class label: the per-class sets that class-wise metrics
 * (Chao et al. 2022, §5.2, "CW" metrics) compare. Classes come out in ascending order.
 *
 * @example
 * ```ts
 * const byClass = groupByClass(features, labels); // Map { 0 → FeatureSet, 1 → … }
 * ```
 */
export function groupByClass(
  set: FeatureSet,
  labels: ArrayLike<number>,
): ReadonlyMap<number, FeatureSet> {
  if (labels.length !== set.rows) {
    shapeError('groupByClass: labels', `${set.rows} labels (one per row)`, `${labels.length}`);
  }
  const rowsOf = new Map<number, number[]>();
  for (let i = 0; i < set.rows; i++) {
    const c = labels[i]!;
    const list = rowsOf.get(c);
    if (list) list.push(i);
    else rowsOf.set(c, [i]);
  }
  const out = new Map<number, FeatureSet>();
  for (const c of [...rowsOf.keys()].sort((p, q) => p - q)) {
    const rows = rowsOf.get(c)!;
    const data = new Float32Array(rows.length * set.dim);
    rows.forEach((r, i) => {
      data.set(set.data.subarray(r * set.dim, (r + 1) * set.dim), i * set.dim);
    });
    out.set(c, { extractor: set.extractor, rows: rows.length, dim: set.dim, data });
  }
  return out;
}

/**
 * Throws a `ShapeError` unless `b` has the same extractor and dimension as `a`: features of
 * different networks (or sizes) are not comparable.
 *
 * @example
 * ```ts
 * checkCompatible('fid', realStats, fakeStats); // throws if the extractors differ
 * ```
 */
export function checkCompatible(
  what: string,
  a: { readonly extractor: string; readonly dim: number },
  b: { readonly extractor: string; readonly dim: number },
): void {
  if (a.extractor !== b.extractor) {
    shapeError(`${what}: extractor`, `'${a.extractor}' on both sides`, `'${b.extractor}'`);
  }
  if (a.dim !== b.dim) shapeError(`${what}: feature dimension`, `${a.dim}`, `${b.dim}`);
}

/**
 * A growable host buffer of feature rows, for collecting the features of a stream of batches.
 *
 * @example
 * ```ts
 * const buf = featureBuffer('inceptionV3Pool3');
 * buf.add(featuresOfBatch); // repeatedly
 * const all = buf.result();
 * ```
 */
export function featureBuffer(extractor: string = RAW_FEATURES): {
  add(x: tf.Tensor | FeatureSet): void;
  readonly rows: number;
  result(): FeatureSet;
} {
  let dim = -1;
  let rows = 0;
  let data = new Float32Array(0);
  return {
    add(x) {
      const set = isFeatureSet(x) ? x : featureSet(x, extractor);
      if (dim < 0) dim = set.dim;
      checkCompatible('featureBuffer.add', { extractor, dim }, set);
      const need = (rows + set.rows) * dim;
      if (need > data.length) {
        const grown = new Float32Array(Math.max(need, 2 * data.length));
        grown.set(data.subarray(0, rows * dim));
        data = grown;
      }
      data.set(set.data.subarray(0, set.rows * dim), rows * dim);
      rows += set.rows;
    },
    get rows() {
      return rows;
    },
    result() {
      const d = Math.max(dim, 0);
      return { extractor, rows, dim: d, data: data.slice(0, rows * d) };
    },
  };
}
