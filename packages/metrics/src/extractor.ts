import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A pluggable feature extractor: the network whose features FID/PRDC compare and whose
 * logits IS uses (Heusel et al. 2017 and Salimans et al. 2016 use Inception-v3 pool-3
 * features and its logits). Inputs are images [B, H, W, C] in [0, 1]; outputs are owned by
 * the caller (dispose them). Nothing can be downloaded here, so the extractor is supplied:
 * a converted Inception (`loadGraphModelExtractor`), any tfjs layers model
 * (`loadLayersModelExtractor`) or a scorekit classifier (`classifierExtractor`).
 */
export interface FeatureExtractor {
  /**
   * Recorded on every result. Only {@link INCEPTION_V3_POOL3} yields metrics labelled "FID"
   * and "IS"; any other name gives e.g. "FD_name" (see {@link metricLabel}).
   */
  readonly name: string;
  /** Features [B, D] of images [B, H, W, C] in [0, 1]. */
  features(images: tf.Tensor): tf.Tensor2D;
  /** Class logits [B, K], when the network has a classification head (for IS). */
  logits?(images: tf.Tensor): tf.Tensor2D;
  /** Features and logits of one forward pass (when both are wanted). */
  featuresAndLogits?(images: tf.Tensor): { features: tf.Tensor2D; logits: tf.Tensor2D };
  /** Frees weights the extractor owns (loaded models). */
  dispose?(): void;
}

/**
 * The name that declares an extractor to be the reference Inception-v3 pool-3 network
 * (the 2015-12-05 TF graph used by TTUR and pytorch-fid): the only one whose metrics are
 * labelled "FID" and "IS" (Heusel et al. 2017; Salimans et al. 2016).
 */
export const INCEPTION_V3_POOL3 = 'inceptionV3Pool3';

/** The metrics whose label depends on the extractor. */
export type ExtractorMetric = 'FID' | 'IS';

/**
 * The label of a metric computed on `extractor`'s features: "FID"/"IS" only for
 * {@link INCEPTION_V3_POOL3}; otherwise the extractor is named, "FD_<name>" for a Fréchet
 * distance and "IS_<name>" for an Inception-style score, so numbers on other features are
 * never mistaken for published FIDs.
 *
 * @example
 * ```ts
 * metricLabel('FID', 'inceptionV3Pool3'); // 'FID'
 * metricLabel('FID', 'resnet18Cifar10');  // 'FD_resnet18Cifar10'
 * ```
 */
export function metricLabel(metric: ExtractorMetric, extractor: string): string {
  if (extractor === INCEPTION_V3_POOL3) return metric;
  return `${metric === 'FID' ? 'FD' : metric}_${extractor}`;
}

/** A noise-conditioned network evaluated on images at per-sample noise levels σ [B]. */
export type ConditionedFn = (x: tf.Tensor, sigma: tf.Tensor1D) => tf.Tensor;

/** Options of {@link classifierExtractor}. */
export interface ClassifierExtractorOptions {
  /** The name recorded on results (default 'classifier'); never {@link INCEPTION_V3_POOL3}. */
  readonly name?: string;
  /**
   * The noise level at which the classifier is evaluated: clean images, so σ ≈ 0 (use the
   * SDE's σ_min, e.g. 0.01, when the network embeds log σ).
   */
  readonly sigma: number;
  /** Penultimate features [B, D] (default: the logits serve as features). */
  readonly featureFn?: ConditionedFn;
}

/**
 * Uses a scorekit noise-conditioned classifier p(y | x, σ) (Chao et al. 2022, §3) at a small
 * σ as the feature extractor: features from `featureFn` (or the logits), logits for IS-style
 * scores. Results are labelled with `name` ("FD_name"), never "FID".
 *
 * @example
 * ```ts
 * const extractor = classifierExtractor((x, s) => model.apply(params, x, s, opts), {
 *   name: 'resnet18Cifar10', sigma: 0.01,
 * });
 * ```
 */
export function classifierExtractor(
  logits: ConditionedFn,
  options: ClassifierExtractorOptions,
): FeatureExtractor {
  const name = options.name ?? 'classifier';
  if (name === INCEPTION_V3_POOL3) {
    shapeError('classifierExtractor: name', 'a name other than the Inception one', name);
  }
  if (!(options.sigma >= 0)) shapeError('classifierExtractor: sigma', 'σ ≥ 0', `${options.sigma}`);
  const sigmaOf = (x: tf.Tensor) => tf.fill([x.shape[0] ?? 1], options.sigma) as tf.Tensor1D;
  const as2d = (y: tf.Tensor, what: string): tf.Tensor2D => {
    if (y.rank < 2) shapeError(`classifierExtractor(${name}).${what}`, '[B, D]', `[${y.shape}]`);
    return (y.rank === 2 ? y : tf.reshape(y, [y.shape[0]!, -1])) as tf.Tensor2D;
  };
  const logitsOf = (x: tf.Tensor) => tf.tidy(() => as2d(logits(x, sigmaOf(x)), 'logits'));
  const featuresOf = options.featureFn
    ? (x: tf.Tensor) => tf.tidy(() => as2d(options.featureFn!(x, sigmaOf(x)), 'features'))
    : logitsOf;
  return {
    name,
    features: featuresOf,
    logits: logitsOf,
    featuresAndLogits: (x) =>
      options.featureFn
        ? { features: featuresOf(x), logits: logitsOf(x) }
        : (() => {
            const l = logitsOf(x);
            return { features: tf.clone(l), logits: l };
          })(),
  };
}
