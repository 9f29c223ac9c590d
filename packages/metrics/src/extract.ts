import { parseConfig, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import type { FeatureExtractor } from './extractor.js';
import { type FeatureSet, featureBuffer, featureSetAsync, groupByClass } from './featureSet.js';
import {
  type InceptionScoreAccumulator,
  type InceptionScoreResult,
  inceptionScoreAccumulator,
} from './inceptionScore.js';
import { type GaussianStats, type MomentAccumulator, momentAccumulator } from './moments.js';
import { isLabelled, type LabelledImages, type Stream } from './stream.js';

/**
 * What {@link extractStatistics} keeps from one pass over a stream of images: the feature
 * Gaussian (`moments`, for FID), the features themselves (`features`, for PRDC), per-class
 * Gaussians (`byClass`, for CW-FID; needs labelled batches) and the Inception score of the
 * logits (`inceptionScore`: splits and the total number of images).
 */
export const extractConfig = type({
  moments: 'boolean = true',
  features: 'boolean = false',
  byClass: 'boolean = false',
  'inceptionScore?': {
    splits: 'number.integer >= 1 = 10',
    total: 'number.integer >= 1',
  },
});

/** The resolved {@link extractConfig} (defaults applied). */
export type ExtractConfig = typeof extractConfig.infer;
/** {@link extractConfig} as a user writes it, e.g. `{ features: true }`. */
export type ExtractOptions = typeof extractConfig.inferIn;

/** Statistics of a set of images under one extractor (whose name every field carries). */
export interface ImageStatistics {
  readonly extractor: string;
  readonly count: number;
  readonly stats?: GaussianStats;
  readonly statsByClass?: ReadonlyMap<number, GaussianStats>;
  readonly features?: FeatureSet;
  /** The labels of `features`' rows, when the batches were labelled. */
  readonly labels?: Int32Array;
  readonly inceptionScore?: InceptionScoreResult;
}

/**
 * One streaming pass of `extractor` over batches of images in [0, 1] (bare [B, H, W, C]
 * tensors or labelled `{ x, y }`): accumulates the float64 feature Gaussian (Heusel et al.
 * 2017), the per-class Gaussians, the host features and the Inception score (Salimans et al.
 * 2016) as asked, so that 50k images are never in memory at once. Batches are not disposed
 * (see `Stream`); the extractor's outputs are.
 *
 * @example
 * ```ts
 * const real = await extractStatistics(extractor, batchesOf(images, 100), { features: true });
 * fid(real.stats!, fake.stats!); prdc(real.features!, fake.features!, { k: 3 });
 * ```
 */
export async function extractStatistics(
  extractor: FeatureExtractor,
  batches: Stream<tf.Tensor | LabelledImages>,
  options: ExtractOptions = {},
): Promise<ImageStatistics> {
  const config = parseConfig(extractConfig, options, 'extractStatistics');
  const name = extractor.name;
  const wantLogits = config.inceptionScore !== undefined;
  if (wantLogits && !extractor.logits && !extractor.featuresAndLogits) {
    shapeError(`extractStatistics: extractor '${name}'`, 'logits for the Inception score', 'none');
  }
  const all: MomentAccumulator | undefined =
    config.moments && !config.byClass ? momentAccumulator(name) : undefined;
  const perClass = new Map<number, MomentAccumulator>();
  const kept = config.features ? featureBuffer(name) : undefined;
  const labels: number[] = [];
  const is: InceptionScoreAccumulator | undefined = config.inceptionScore
    ? inceptionScoreAccumulator({ ...config.inceptionScore, extractor: name })
    : undefined;
  let count = 0;
  let labelled: boolean | undefined;

  for await (const batch of batches) {
    const images = isLabelled(batch) ? batch.x : batch;
    const isLab = isLabelled(batch);
    if (labelled !== undefined && labelled !== isLab) {
      shapeError('extractStatistics: batches', 'all labelled or all unlabelled', 'a mix');
    }
    labelled = isLab;
    if (config.byClass && !isLab) {
      shapeError('extractStatistics: byClass', 'labelled batches { x, y }', 'bare images');
    }
    // One asynchronous read per batch (features, logits and labels together): works on
    // webgpu, where synchronous reads of GPU data are impossible in Node.
    const out: { features: tf.Tensor; logits?: tf.Tensor } = wantLogits
      ? extractor.featuresAndLogits
        ? extractor.featuresAndLogits(images)
        : { features: extractor.features(images), logits: extractor.logits!(images) }
      : { features: extractor.features(images) };
    let features: FeatureSet;
    let logits: FeatureSet | undefined;
    let labelValues: ArrayLike<number> | undefined;
    try {
      [features, logits, labelValues] = await Promise.all([
        featureSetAsync(out.features, name),
        out.logits ? featureSetAsync(out.logits, name) : undefined,
        isLab ? batch.y.data() : undefined,
      ]);
    } finally {
      tf.dispose(out.logits ? [out.features, out.logits] : [out.features]);
    }
    if (logits) is!.add(logits);
    if (features.rows !== (images.shape[0] ?? 0)) {
      shapeError(`extractor '${name}' features`, `${images.shape[0]} rows`, `${features.rows}`);
    }
    all?.add(features);
    kept?.add(features);
    if (isLab) {
      const y = Array.from(labelValues as ArrayLike<number>);
      if (y.length !== features.rows) {
        shapeError('extractStatistics: labels', `${features.rows}`, `${y.length}`);
      }
      labels.push(...y);
      if (config.byClass && config.moments) {
        for (const [c, set] of groupByClass(features, y)) {
          let acc = perClass.get(c);
          if (!acc) {
            acc = momentAccumulator(name);
            perClass.set(c, acc);
          }
          acc.add(set);
        }
      }
    }
    count += features.rows;
  }

  let stats: GaussianStats | undefined;
  let statsByClass: Map<number, GaussianStats> | undefined;
  if (config.moments && count > 0) {
    if (config.byClass) {
      // the overall Gaussian is the merge of the per-class sums (no second O(N D²) pass)
      const merged = momentAccumulator(name);
      statsByClass = new Map();
      for (const c of [...perClass.keys()].sort((p, q) => p - q)) {
        const acc = perClass.get(c)!;
        merged.merge(acc);
        if (acc.count >= 2) statsByClass.set(c, acc.stats());
      }
      stats = merged.count >= 2 ? merged.stats() : undefined;
    } else if (all && all.count >= 2) {
      stats = all.stats();
    }
  }
  return {
    extractor: name,
    count,
    ...(stats ? { stats } : {}),
    ...(statsByClass ? { statsByClass } : {}),
    ...(kept ? { features: kept.result() } : {}),
    ...(kept && labelled ? { labels: Int32Array.from(labels) } : {}),
    ...(is ? { inceptionScore: is.result() } : {}),
  };
}
