import { dirname, join, resolve } from 'node:path';
import { type Key, key, logLikelihoodAtLabels, split, unwrap } from '@scorekit/core';
import { gatherImages, type ImageSet, type ImageShape, trainingBatches } from '@scorekit/datasets';
import { type LabelledBatch, type Loss, termValue, tidyLossValue } from '@scorekit/losses';
import {
  type AccuracyResult,
  type CasResult,
  type ClasswiseFrechetResult,
  type ClasswiseResult,
  cas,
  classifierExtractor,
  classwiseFid,
  classwisePrdc,
  extractStatistics,
  type FeatureExtractor,
  type FrechetResult,
  fid,
  gaussianStats,
  groupByClass,
  type InceptionScoreResult,
  metricLabel,
  type PrdcResult,
  prdc,
} from '@scorekit/metrics';
import { loadGraphModelExtractor } from '@scorekit/metrics/node';
import { resnetClassifier } from '@scorekit/models';
import {
  adam,
  disposeTrainState,
  fit,
  readSafetensors,
  writeDirAtomic,
  writeFileDurable,
} from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { disposeFrozen, type Frozen, loadFrozen } from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { loadCifarData } from './data.js';
import { samplesFileName } from './sample.js';
import { checkWritableFolder } from './shard.js';
import { accuracyAtSigma, labelledImages } from './trainClassifier.js';
import type { RunOptions } from './trainingStage.js';

/** A parsed `--extractor` value. */
export type ExtractorSpec =
  | { readonly kind: 'classifier'; readonly path: string }
  | { readonly kind: 'graph'; readonly path: string };

/**
 * Parses `--extractor classifier:<checkpoint>` (a scorekit noise-conditioned classifier at a
 * small σ, Chao et al. 2022 §3) or `graph:<model.json>` (a user-converted Inception-v3 graph,
 * Heusel et al. 2017: pool_3 features, softmax logits, fed at `Mul` with 299×299 inputs in
 * [−1, 1]); anything else is an error naming the option.
 *
 * @example
 * ```ts
 * parseExtractor('classifier:runs/clf'); // { kind: 'classifier', path: 'runs/clf' }
 * ```
 */
export function parseExtractor(spec: string): ExtractorSpec {
  const at = spec.indexOf(':');
  const kind = spec.slice(0, at);
  const path = spec.slice(at + 1);
  if (at > 0 && path.length > 0 && (kind === 'classifier' || kind === 'graph'))
    return { kind, path };
  throw new Error(
    `--extractor: expected classifier:<checkpoint> or graph:<model.json>, got '${spec}'`,
  );
}

/** Every metric of `evaluate`, labelled by the extractor (metricLabel: "FD_x", never "FID" unless Inception). */
export interface EvaluationReport {
  readonly extractor: string;
  readonly labels: { readonly frechet: string; readonly inceptionScore: string };
  readonly realCount: number;
  readonly fakeCount: number;
  readonly frechet: FrechetResult;
  readonly inceptionScore: InceptionScoreResult;
  readonly prdc: PrdcResult;
  readonly classwiseFrechet: ClasswiseFrechetResult;
  readonly classwisePrdc: ClasswiseResult<PrdcResult>;
  readonly cas: CasResult;
  /**
   * With a classifier extractor: that classifier's accuracy on the generated images against
   * their conditioning labels (how class-dependent the samples are; 1/classes = none).
   */
  readonly sampleAccuracy?: AccuracyResult;
  readonly seconds: number;
}

/**
 * Generated images as an 8-bit {@link ImageSet} (pixels clipped to [0, 1] and rounded), the form
 * every metric of `evaluate` reads them in.
 *
 * @example
 * ```ts
 * const set = hostSet(pixels, labels, classNames, [16, 16, 3]);
 * ```
 */
export const hostSet = (
  pixels: Float32Array,
  labels: Int32Array,
  classNames: readonly string[],
  shape: ImageShape,
): ImageSet => {
  const bytes = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++)
    bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i]!)) * 255);
  return { pixels: bytes, labels, count: labels.length, shape, classNames };
};

/**
 * Reads a `samples.safetensors` written by `sample` (checks its tensors against the image
 * shape; an error names the file, expected vs got).
 *
 * @example
 * ```ts
 * const { pixels, labels } = await readSamples('out/samples/samples.safetensors', [16, 16, 3]);
 * ```
 */
export async function readSamples(
  file: string,
  shape: ImageShape,
): Promise<{ pixels: Float32Array; labels: Int32Array }> {
  const contents = await unwrap(readSafetensors(file));
  const s = contents.tensors['samples'];
  const y = contents.tensors['labels'];
  const [h, w, c] = shape;
  if (
    !s ||
    !y ||
    s.dtype !== 'float32' ||
    y.dtype !== 'int32' ||
    s.shape.length !== 4 ||
    s.shape[1] !== h ||
    s.shape[2] !== w ||
    s.shape[3] !== c ||
    y.shape[0] !== s.shape[0]
  )
    throw new Error(
      `${file}: expected tensors samples float32 [n, ${h}, ${w}, ${c}] and labels int32 [n] (written by the sample command at data.imageSize ${h}), got samples ${s ? `${s.dtype} [${s.shape}]` : 'none'}`,
    );
  return { pixels: s.values as Float32Array, labels: y.values as Int32Array };
}

/** A loaded feature extractor, and the classifier behind it when it is one. */
export interface LoadedExtractor {
  readonly extractor: FeatureExtractor;
  readonly frozen?: Frozen<tf.Tensor2D>;
}

/**
 * Loads the extractor an `--extractor` spec names: a scorekit classifier checkpoint (its
 * penultimate features at σ = `evaluate.extractorSigma`; trained at the run's image side, else
 * an error) or a converted Inception graph. Dispose with {@link disposeExtractor}.
 *
 * @example
 * ```ts
 * const loaded = await loadExtractor(cfg, parseExtractor('classifier:runs/clf'));
 * ```
 */
export async function loadExtractor(
  cfg: CifarConfig,
  spec: ExtractorSpec,
): Promise<LoadedExtractor> {
  const e = cfg.evaluate;
  let frozen: Frozen<tf.Tensor2D> | undefined;
  let extractor: FeatureExtractor;
  if (spec.kind === 'classifier') {
    const f = await unwrap(loadFrozen(spec.path, 'classifier'));
    frozen = f;
    if (f.config.data.imageSize !== cfg.data.imageSize) {
      disposeFrozen(f);
      throw new Error(
        `evaluate: --extractor ${spec.path}: the classifier was trained on ${f.config.data.imageSize}×${f.config.data.imageSize} images, this run's data.imageSize is ${cfg.data.imageSize}`,
      );
    }
    const m = f.config.classifier.model;
    extractor = classifierExtractor(
      (x, sigma) =>
        f.model.apply(f.vars.params, x, sigma, { training: false, buffers: f.vars.buffers }),
      { name: `resnet${m.depth}w${m.width}Classifier`, sigma: e.extractorSigma },
    );
  } else {
    extractor = await unwrap(
      loadGraphModelExtractor(spec.path, {
        name: 'inceptionV3Pool3',
        featureNode: 'pool_3',
        logitsNode: 'softmax/logits',
        inputNode: 'Mul',
        inputSize: [299, 299],
        inputRange: [-1, 1],
      }),
    );
  }
  return frozen ? { extractor, frozen } : { extractor };
}

/**
 * Frees what {@link loadExtractor} loaded.
 *
 * @example
 * ```ts
 * disposeExtractor(loaded);
 * ```
 */
export function disposeExtractor(loaded: LoadedExtractor): void {
  if (loaded.frozen) disposeFrozen(loaded.frozen);
  else loaded.extractor.dispose?.();
}

/**
 * The CAS classifier (Ravuri & Vinyals 2019): a fresh noise-conditioned ResNet of the run's
 * classifier config trained with cross-entropy at σ = `evaluate.extractorSigma` on the
 * generated images and their conditioning labels.
 */
async function casClassifier(cfg: CifarConfig, generated: ImageSet) {
  const e = cfg.evaluate;
  const model = resnetClassifier(cfg.classifier.model);
  const [kInit, kData, kFit] = split(key(cfg.seed + 3), 3) as [Key, Key, Key];
  const vars = model.init(kInit);
  const loss: Loss<LabelledBatch> = (params, batch) =>
    tidyLossValue(() => {
      const n = batch.x.shape[0]!;
      const logits = model.apply(params, batch.x, tf.fill([n], e.extractorSigma) as tf.Tensor1D, {
        training: true,
        buffers: vars.buffers,
      });
      const ce = tf.neg(tf.mean(logLikelihoodAtLabels(logits, batch.y))) as tf.Scalar;
      return termValue('crossEntropy', ce);
    });
  const result = await unwrap(
    fit<LabelledBatch>({
      loss,
      optimizer: adam({ lr: e.casLr, gradClip: 1 }),
      batches: (start: number) =>
        trainingBatches(
          generated,
          { batchSize: e.casBatch, shuffle: true, flip: true },
          kData,
          start,
        ),
      steps: e.casSteps,
      params: vars.params,
      key: kFit,
      config: cfg,
    }),
  );
  tf.dispose(Object.values(vars.params));
  const params = result.state.params;
  return {
    model,
    params,
    buffers: vars.buffers,
    dispose: () => {
      disposeTrainState(result.state);
      tf.dispose(Object.values(vars.buffers));
    },
  };
}

/**
 * `evaluate`: sample-quality metrics of generated vs real images (Chao et al. 2022 §5;
 * method.md §7): the Fréchet distance of the feature Gaussians (Heusel et al. 2017), the
 * Inception-style score (Salimans et al. 2016), precision / recall / density / coverage
 * (Naeem et al. 2020, k = 3), their class-wise versions (each class's samples against that
 * class's real images) and CAS (a classifier trained on the samples, tested on the held-out
 * real images of the same classes); with a classifier extractor also that classifier's accuracy
 * on the samples against their conditioning labels. Features come from the extractor the user names; unless
 * it is the reference Inception, results are labelled "FD_<name>" / "IS_<name>" (metricLabel).
 * Writes `metrics.json` and `config.json` into `cfg.out` as one folder, atomically (training's
 * `writeDirAtomic`: an interrupted evaluation leaves the previous folder untouched); the
 * output's parent folder is checked for writing before any work.
 *
 * @example
 * ```ts
 * await evaluateSamples({ ...cfg, command: 'evaluate', inputs: { resume: false, samples: 'runs/sample', extractor: 'classifier:runs/clf' } });
 * ```
 */
export async function evaluateSamples(
  cfg: CifarConfig,
  options: RunOptions = {},
): Promise<EvaluationReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const e = cfg.evaluate;
  if (!cfg.inputs.samples)
    throw new Error('evaluate: --samples <file or sample folder> is required');
  if (!cfg.inputs.extractor)
    throw new Error(
      'evaluate: --extractor classifier:<checkpoint> | graph:<model.json> is required',
    );
  const spec = parseExtractor(cfg.inputs.extractor);
  await checkWritableFolder(dirname(resolve(cfg.out)), '--out (its parent folder)');
  const samplesFile = cfg.inputs.samples.endsWith('.safetensors')
    ? cfg.inputs.samples
    : join(cfg.inputs.samples, samplesFileName);
  const shape: ImageShape = [cfg.data.imageSize, cfg.data.imageSize, 3];
  const fake = await readSamples(samplesFile, shape);
  const data = await unwrap(loadCifarData(cfg.data.path, cfg.data));
  const { extractor, frozen } = await loadExtractor(cfg, spec);
  let casDispose: (() => void) | undefined;
  try {
    const classes = [...new Set(fake.labels)].sort((a, b) => a - b);
    const bad = classes.find((c) => c < 0 || c >= data.train.classNames.length);
    if (bad !== undefined)
      throw new Error(
        `${samplesFile}: label ${bad} is not a class of the data (${data.train.classNames.length} classes)`,
      );
    const pick = (set: ImageSet) =>
      gatherImages(
        set,
        Array.from(set.labels.keys()).filter((i) => classes.includes(set.labels[i]!)),
      );
    // reference set: the training images (of the generated classes, for the class-wise metrics)
    const real = data.train;
    const realOfClasses = pick(real);
    const generated = hostSet(fake.pixels, fake.labels, real.classNames, shape);
    const realStats = await extractStatistics(extractor, labelledImages(real, e.batch), {
      features: true,
    });
    const realCw = await extractStatistics(extractor, labelledImages(realOfClasses, e.batch), {
      features: true,
      moments: false,
    });
    const fakeStats = await extractStatistics(extractor, labelledImages(generated, e.batch), {
      features: true,
      inceptionScore: { splits: Math.min(e.splits, generated.count), total: generated.count },
    });
    const frechet = fid(realStats.stats!, fakeStats.stats!);
    const quality = prdc(realStats.features!, fakeStats.features!, { k: e.k });
    const realBy = groupByClass(realCw.features!, realCw.labels!);
    const fakeBy = groupByClass(fakeStats.features!, fakeStats.labels!);
    const gauss = (m: ReadonlyMap<number, Parameters<typeof gaussianStats>[0]>) =>
      new Map([...m].map(([c, f]) => [c, gaussianStats(f)] as const));
    const cwFrechet = classwiseFid(gauss(realBy), gauss(fakeBy));
    const cwPrdc = classwisePrdc(realBy, fakeBy, { k: e.k });
    // CAS: the classifier is trained on the (8-bit) generated images and their labels
    const genX = tf.tensor4d(fake.pixels, [generated.count, ...shape]);
    const genY = tf.tensor1d(fake.labels, 'int32');
    let casResult: CasResult;
    try {
      casResult = await cas({
        trainClassifier: async () => {
          const c = await casClassifier(cfg, generated);
          casDispose = c.dispose;
          return {
            predict: (x) =>
              tf.tidy(() =>
                c.model.apply(
                  c.params,
                  x,
                  tf.fill([x.shape[0]!], e.extractorSigma) as tf.Tensor1D,
                  {
                    training: false,
                    buffers: c.buffers,
                  },
                ),
              ),
          };
        },
        generated: { x: genX, y: genY },
        test: labelledImages(pick(data.test), e.batch),
      });
    } finally {
      tf.dispose([genX, genY]);
    }
    // class-dependence: does the (real-data) classifier see the conditioning class?
    const sampleAccuracy = frozen
      ? await accuracyAtSigma(
          frozen.model,
          frozen.vars.params,
          frozen.vars.buffers,
          generated,
          e.extractorSigma,
          e.batch,
        )
      : undefined;
    const report: EvaluationReport = {
      extractor: extractor.name,
      labels: {
        frechet: metricLabel('FID', extractor.name),
        inceptionScore: metricLabel('IS', extractor.name),
      },
      realCount: realStats.count,
      fakeCount: fakeStats.count,
      frechet,
      inceptionScore: fakeStats.inceptionScore!,
      prdc: quality,
      classwiseFrechet: cwFrechet,
      classwisePrdc: cwPrdc,
      cas: casResult,
      ...(sampleAccuracy ? { sampleAccuracy } : {}),
      seconds: (performance.now() - started) / 1000,
    };
    const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
    await unwrap(
      writeDirAtomic(cfg.out, (tmp) =>
        TE.map(() => undefined)(
          TE.sequenceSeqArray([
            writeFileDurable(join(tmp, 'config.json'), json(cfg)),
            writeFileDurable(join(tmp, 'metrics.json'), json(report)),
          ]),
        ),
      ),
    );
    log(
      `evaluate (${extractor.name}): ${report.labels.frechet} ${frechet.value.toFixed(3)}, ${report.labels.inceptionScore} ${report.inceptionScore.mean.toFixed(3)}, P ${quality.precision.toFixed(3)} R ${quality.recall.toFixed(3)} D ${quality.density.toFixed(3)} C ${quality.coverage.toFixed(3)}, ${cwFrechet.name} ${cwFrechet.value.toFixed(3)}, CAS ${(100 * casResult.accuracy).toFixed(1)} %${sampleAccuracy ? `, extractor accuracy on samples ${(100 * sampleAccuracy.accuracy).toFixed(1)} %` : ''}`,
    );
    return report;
  } finally {
    casDispose?.();
    if (frozen) disposeFrozen(frozen);
    else extractor.dispose?.();
  }
}
