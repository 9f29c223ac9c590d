import { parseConfig, shapeError } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { metricLabel } from './extractor.js';
import { type FeatureSet, featureSet, isFeatureSet, RAW_FEATURES } from './featureSet.js';

/**
 * Config of the Inception score: the number of splits (10 in Salimans et al. 2016 and the
 * reference code) and the total number of images (needed up front to stream: split k holds
 * images ⌊kN/S⌋ … ⌊(k+1)N/S⌋ − 1, the reference code's contiguous parts).
 */
export const inceptionScoreConfig = type({
  splits: 'number.integer >= 1 = 10',
  total: 'number.integer >= 1',
  extractor: `string = '${RAW_FEATURES}'`,
}).narrow(
  (c, ctx) =>
    c.total >= c.splits ||
    ctx.reject({
      path: ['total'],
      expected: `at least splits (${c.splits}) images`,
      actual: String(c.total),
    }),
);

/** The resolved {@link inceptionScoreConfig} (Salimans et al. 2016, §4). */
export type InceptionScoreConfig = typeof inceptionScoreConfig.infer;
/** {@link inceptionScoreConfig} as a user writes it, e.g. `{ splits: 10, total: 50000 }`. */
export type InceptionScoreOptions = typeof inceptionScoreConfig.inferIn;

/** The Inception score over splits, with its provenance. */
export interface InceptionScoreResult {
  /** "IS" for the Inception-v3 logits, "IS_<extractor>" for any other classifier. */
  readonly name: string;
  readonly extractor: string;
  /** Mean of the per-split scores. */
  readonly mean: number;
  /** Population standard deviation of the per-split scores (numpy's `np.std`). */
  readonly std: number;
  readonly splits: readonly number[];
  readonly count: number;
}

/** Streaming Inception score: feed logits with `add`, read the score with `result()`. */
export interface InceptionScoreAccumulator {
  readonly count: number;
  /** Adds logits [B, K] of the next B images (a tensor is read, not disposed). */
  add(logits: tf.Tensor | FeatureSet): void;
  /** The score; all `total` images must have been added. */
  result(): InceptionScoreResult;
}

/**
 * A streaming Inception score (Salimans et al. 2016, §4): per split,
 * IS = exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the split's mean prediction, reported as mean
 * and std over splits. Per split it keeps only Σ_x Σ_y p log p, Σ_x p(y|x) and a count, in
 * float64, using E_x KL = E_x Σ_y p log p − Σ_y p̄ log p̄; softmax is taken in float64.
 *
 * @example
 * ```ts
 * const is = inceptionScoreAccumulator({ splits: 10, total: 50000, extractor: 'inceptionV3Pool3' });
 * for (const batch of batches) is.add(logitsOf(batch)); // dispose your tensors
 * is.result(); // { name: 'IS', mean, std, … }
 * ```
 */
export function inceptionScoreAccumulator(
  options: InceptionScoreOptions,
): InceptionScoreAccumulator {
  const { splits, total, extractor } = parseConfig(inceptionScoreConfig, options, 'inceptionScore');
  const bound = (k: number) => Math.floor((k * total) / splits); // split k = [bound(k), bound(k+1))
  let classes = -1;
  let count = 0;
  let split = 0;
  const negEntropy = new Float64Array(splits); // Σ_x Σ_y p log p
  const counts = new Float64Array(splits);
  let marginal = new Float64Array(0); // splits × K: Σ_x p(y|x)
  let scratch = new Float64Array(0); // p(y|x) of the current row

  return {
    get count() {
      return count;
    },
    add(logits) {
      const set = isFeatureSet(logits) ? logits : featureSet(logits, extractor);
      if (classes < 0) {
        classes = set.dim;
        marginal = new Float64Array(splits * classes);
        scratch = new Float64Array(classes);
      }
      if (set.dim !== classes) shapeError('inceptionScore: classes', `${classes}`, `${set.dim}`);
      if (count + set.rows > total) {
        shapeError('inceptionScore: images', `at most total = ${total}`, `${count + set.rows}`);
      }
      for (let r = 0; r < set.rows; r++) {
        while (count >= bound(split + 1)) split++;
        const row = r * classes;
        let max = Number.NEGATIVE_INFINITY;
        for (let y = 0; y < classes; y++) max = Math.max(max, set.data[row + y]!);
        let z = 0;
        for (let y = 0; y < classes; y++) z += Math.exp(set.data[row + y]! - max);
        const lse = max + Math.log(z);
        let s = 0;
        for (let y = 0; y < classes; y++) {
          const lp = set.data[row + y]! - lse;
          const p = Math.exp(lp);
          scratch[y] = p;
          if (p > 0) s += p * lp;
        }
        negEntropy[split] = negEntropy[split]! + s;
        const m = split * classes;
        for (let y = 0; y < classes; y++) marginal[m + y] = marginal[m + y]! + scratch[y]!;
        counts[split] = counts[split]! + 1;
        count++;
      }
    },
    result() {
      if (count !== total) {
        shapeError('inceptionScore: images seen', `total = ${total}`, `${count}`);
      }
      const scores = Array.from({ length: splits }, (_, k) => {
        const n = counts[k]!;
        let crossEntropy = 0; // Σ_y p̄ log p̄
        for (let y = 0; y < classes; y++) {
          const pBar = marginal[k * classes + y]! / n;
          if (pBar > 0) crossEntropy += pBar * Math.log(pBar);
        }
        return Math.exp(negEntropy[k]! / n - crossEntropy);
      });
      const mean = scores.reduce((a, b) => a + b, 0) / splits;
      const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
      return { name: metricLabel('IS', extractor), extractor, mean, std, splits: scores, count };
    },
  };
}

/**
 * The Inception score (Salimans et al. 2016, §4) of a whole set of logits at once.
 *
 * @example
 * ```ts
 * inceptionScore(tf.zeros([20, 10]), { splits: 2 }).mean; // 1 (uniform predictions)
 * ```
 */
export function inceptionScore(
  logits: tf.Tensor | FeatureSet,
  options: Omit<InceptionScoreOptions, 'total'> = {},
): InceptionScoreResult {
  const set = isFeatureSet(logits) ? logits : featureSet(logits, options.extractor);
  const acc = inceptionScoreAccumulator({
    ...options,
    extractor: options.extractor ?? set.extractor,
    total: set.rows,
  });
  acc.add(set);
  return acc.result();
}
