import { shapeError } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import { gemmNT } from './eigen.js';
import {
  checkCompatible,
  type FeatureSet,
  featureSet,
  isFeatureSet,
  RAW_FEATURES,
} from './featureSet.js';

/**
 * The Gaussian fitted to a set of features: mean μ and unbiased covariance Σ (divisor
 * N − 1, as `numpy.cov` in the FID reference code), float64, Σ row-major D × D.
 * Heusel et al. 2017, "GANs trained by a two time-scale update rule …", §"FID".
 */
export interface GaussianStats {
  readonly extractor: string;
  readonly dim: number;
  readonly count: number;
  readonly mean: Float64Array;
  readonly cov: Float64Array;
}

/**
 * Running float64 sums of shifted features y = x − c (c = the first batch's mean, which
 * keeps Σ y yᵀ − (Σ y)(Σ y)ᵀ/N free of cancellation): count N, Σ y and the upper triangle
 * of Σ y yᵀ.
 */
export interface MomentSums {
  readonly dim: number;
  readonly count: number;
  readonly shift: Float64Array;
  readonly sum: Float64Array;
  /** Row-major D × D; only the upper triangle (j ≥ i) is filled. */
  readonly outer: Float64Array;
}

/** Streaming mean/covariance of features fed batch by batch (see {@link momentAccumulator}). */
export interface MomentAccumulator {
  readonly extractor: string;
  /** The feature dimension, fixed by the first batch (undefined before it). */
  readonly dim: number | undefined;
  readonly count: number;
  /** Adds a [B, D] batch of features (a tensor is read, not disposed). */
  add(features: tf.Tensor | FeatureSet): void;
  /** Adds everything another accumulator has seen (Chan et al. 1979 pairwise update). */
  merge(other: MomentAccumulator): void;
  /** The current sums (read-only view). */
  sums(): MomentSums | undefined;
  /** The fitted Gaussian; needs at least two samples. */
  stats(): GaussianStats;
}

/** Rows per inner block of the Σ y yᵀ update: bounds the transposed scratch buffer. */
const BLOCK = 256;

/**
 * A streaming accumulator of the feature mean and covariance in float64 (Heusel et al. 2017,
 * FID's μ and Σ): feed batches with `add`, read the Gaussian with `stats()`. Memory is
 * O(D²) whatever the number of images, so 50k images never have to sit in memory at once.
 *
 * @example
 * ```ts
 * const acc = momentAccumulator('inceptionV3Pool3');
 * for (const batch of batches) acc.add(extractor.features(batch)); // dispose your tensors
 * const { mean, cov } = acc.stats();
 * ```
 */
export function momentAccumulator(extractor: string = RAW_FEATURES): MomentAccumulator {
  let dim: number | undefined;
  let count = 0;
  let shift: Float64Array = new Float64Array(0);
  let sum: Float64Array = new Float64Array(0);
  let outer: Float64Array = new Float64Array(0);

  const init = (d: number, c: Float64Array) => {
    dim = d;
    shift = c;
    sum = new Float64Array(d);
    outer = new Float64Array(d * d);
  };

  const acc: MomentAccumulator = {
    extractor,
    get dim() {
      return dim;
    },
    get count() {
      return count;
    },
    add(features) {
      const set = isFeatureSet(features) ? features : featureSet(features, extractor);
      if (dim === undefined) {
        const c = new Float64Array(set.dim);
        for (let r = 0; r < set.rows; r++)
          for (let i = 0; i < set.dim; i++) c[i] = c[i]! + set.data[r * set.dim + i]!;
        for (let i = 0; i < set.dim; i++) c[i] = set.rows > 0 ? c[i]! / set.rows : 0;
        init(set.dim, c);
      }
      checkCompatible('momentAccumulator.add', { extractor, dim: dim! }, set);
      accumulate(set, shift, sum, outer);
      count += set.rows;
    },
    merge(other) {
      const o = other.sums();
      if (!o) return;
      if (dim === undefined) init(o.dim, Float64Array.from(o.shift));
      checkCompatible(
        'momentAccumulator.merge',
        { extractor, dim: dim! },
        { extractor: other.extractor, dim: o.dim },
      );
      // other's y' = x − c'; ours y = x − c = y' + δ with δ = c' − c:
      // Σ y = Σ y' + N' δ;  Σ y yᵀ = Σ y'y'ᵀ + δ (Σ y')ᵀ + (Σ y') δᵀ + N' δ δᵀ.
      const d = dim!;
      const delta = Float64Array.from(o.shift, (v, i) => v - shift[i]!);
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          outer[i * d + j] =
            outer[i * d + j]! +
            o.outer[i * d + j]! +
            delta[i]! * o.sum[j]! +
            o.sum[i]! * delta[j]! +
            o.count * delta[i]! * delta[j]!;
        }
      }
      for (let i = 0; i < d; i++) sum[i] = sum[i]! + o.sum[i]! + o.count * delta[i]!;
      count += o.count;
    },
    sums() {
      return dim === undefined ? undefined : { dim, count, shift, sum, outer };
    },
    stats() {
      if (dim === undefined || count < 2) {
        shapeError(`momentAccumulator('${extractor}').stats`, 'at least 2 samples', `${count}`);
      }
      const d = dim;
      const mean = new Float64Array(d);
      for (let i = 0; i < d; i++) mean[i] = shift[i]! + sum[i]! / count;
      // Σ = (Σ y yᵀ − (Σ y)(Σ y)ᵀ / N) / (N − 1), mirrored from the upper triangle.
      const cov = new Float64Array(d * d);
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          const v = (outer[i * d + j]! - (sum[i]! * sum[j]!) / count) / (count - 1);
          cov[i * d + j] = v;
          cov[j * d + i] = v;
        }
      }
      return { extractor, dim: d, count, mean, cov };
    },
  };
  return acc;
}

/** Adds the rows of `set` (shifted by c) to Σ y and the upper triangle of Σ y yᵀ. */
function accumulate(set: FeatureSet, c: Float64Array, sum: Float64Array, outer: Float64Array) {
  const d = set.dim;
  for (let start = 0; start < set.rows; start += BLOCK) {
    const b = Math.min(BLOCK, set.rows - start);
    const yt = new Float64Array(d * b); // yᵀ of the block: D × b
    for (let r = 0; r < b; r++) {
      const row = (start + r) * d;
      for (let i = 0; i < d; i++) yt[i * b + r] = set.data[row + i]! - c[i]!;
    }
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let r = 0; r < b; r++) s += yt[i * b + r]!;
      sum[i] = sum[i]! + s;
    }
    gemmNT(yt, yt, d, b, d, outer, true); // Σ y yᵀ += yᵀ (yᵀ)ᵀ, upper triangle
  }
}

/**
 * The Gaussian of a whole feature set at once (equivalent to feeding it to a
 * {@link momentAccumulator} in one batch).
 *
 * @example
 * ```ts
 * const stats = gaussianStats(featureRows([[0, 0], [2, 0], [0, 2]]));
 * // mean [2/3, 2/3]; cov [[4/3, −2/3], [−2/3, 4/3]]
 * ```
 */
export function gaussianStats(features: FeatureSet): GaussianStats {
  const acc = momentAccumulator(features.extractor);
  acc.add(features);
  return acc.stats();
}
