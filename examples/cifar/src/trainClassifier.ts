import { join } from 'node:path';
import { type Key, key, type ScoreFn, split, unwrap, veSde } from '@scorekit/core';
import { type ImageSet, imageBatch } from '@scorekit/datasets';
import { checkOutputDir } from '@scorekit/example-kit';
import { classifierObjective } from '@scorekit/losses';
import { type AccuracyResult, classifierAccuracy, type LabelledImages } from '@scorekit/metrics';
import {
  type Buffers,
  bindScore,
  type Model,
  parametricLogits,
  resnetClassifier,
} from '@scorekit/models';
import { adam, type DirLock, disposeTrainState } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { disposeFrozen, type Frozen, loadFrozen, startTraining } from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { loadCifarData } from './data.js';
import { writeJson } from './output.js';
import { prepareTrainingFolder } from './runFolder.js';
import {
  checkBatch,
  type RunOptions,
  runTrainingStage,
  type TrainReport,
} from './trainingStage.js';

/** What `train-classifier` reports: the training report plus held-out accuracy at small σ. */
export interface ClassifierReport extends TrainReport {
  readonly loss: CifarConfig['classifier']['loss'];
  readonly accuracy: AccuracyResult;
  readonly evalSigma: number;
}

const methodOf = { ce: 'crossEntropy', dlsm: 'dlsm', total: 'total' } as const;

/**
 * Labelled batches of an in-memory image set, in order (each disposed when the consumer moves on).
 *
 * @example
 * ```ts
 * for (const b of labelledImages(test, 100)) …
 * ```
 */
export function* labelledImages(set: ImageSet, batchSize: number): Generator<LabelledImages> {
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const b = imageBatch(set, idx);
    try {
      yield { x: b.x, y: b.y };
    } finally {
      tf.dispose([b.x, b.y]);
    }
  }
}

/**
 * Accuracy of a noise-conditioned classifier on `set` at the noise level σ (clean images, σ
 * small; inference mode: running batch-norm statistics) — the classifier's accuracy of
 * Chao et al. 2022 §5 at σ ≈ 0.
 *
 * @example
 * ```ts
 * const acc = await accuracyAtSigma(clf, params, buffers, test, 0.01);
 * ```
 */
export function accuracyAtSigma(
  model: Model<tf.Tensor2D>,
  params: Parameters<Model['apply']>[0],
  buffers: Buffers,
  set: ImageSet,
  sigma: number,
  batchSize = 100,
): Promise<AccuracyResult> {
  return classifierAccuracy(
    {
      predict: (x) =>
        tf.tidy(() =>
          model.apply(params, x, tf.fill([x.shape[0]!], sigma) as tf.Tensor1D, {
            training: false,
            buffers,
          }),
        ),
    },
    labelledImages(set, batchSize),
  );
}

/**
 * `train-classifier --loss ce|dlsm|total`: stage 2 of Chao et al. 2022 — the noise-conditioned
 * ResNet classifier trained with cross-entropy ("base"), DLSM (eq. 10) or DLSM + λ·CE (the
 * paper's method, λ = 1 on CIFAR) against the frozen score model (its EMA weights, inference
 * mode), t ~ U(ε = 1e-5, 1) on the VE SDE, batch norm in training mode inside the loss. Logs
 * every loss term, checkpoints into `cfg.out`, and reports the held-out accuracy at σ =
 * `classifier.evalSigma` with the classifier in inference mode.
 *
 * @example
 * ```ts
 * await trainClassifier({ ...cfg, command: 'train-classifier', inputs: { resume: false, scoreCheckpoint: 'runs/score' } });
 * ```
 */
export async function trainClassifier(
  cfg: CifarConfig,
  options: RunOptions = {},
): Promise<ClassifierReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const c = cfg.classifier;
  const needsScore = c.loss !== 'ce';
  if (needsScore && !cfg.inputs.scoreCheckpoint)
    throw new Error(`train-classifier --loss ${c.loss}: --score <checkpoint> is required`);
  await checkOutputDir(cfg.out);
  let frozen: Frozen<tf.Tensor4D> | undefined;
  let lock: DirLock | undefined;
  if (cfg.inputs.scoreCheckpoint)
    frozen = await unwrap(loadFrozen(cfg.inputs.scoreCheckpoint, 'score'));
  try {
    if (frozen && frozen.config.score.model.imageSize !== cfg.data.imageSize)
      throw new Error(
        `train-classifier: the score model ${frozen.path} was trained on ${frozen.config.score.model.imageSize}×${frozen.config.score.model.imageSize} images, data.imageSize is ${cfg.data.imageSize}`,
      );
    const data = await unwrap(loadCifarData(cfg.data.path, cfg.data));
    const classes = data.train.classNames.length;
    if (c.model.classes !== classes)
      throw new Error(
        `classifier.model.classes: the data has ${classes} classes, the config says ${c.model.classes}`,
      );
    checkBatch(c.batch, data.train.count, 'classifier.batch');
    lock = await prepareTrainingFolder(cfg, 'classifier', log);
    log(
      `train-classifier (${c.loss}): ${data.train.count} training, ${data.test.count} held-out images${frozen ? `; frozen score ${frozen.path} (EMA, step ${frozen.step})` : ''}`,
    );
    const sde = veSde(cfg.sde);
    const score: ScoreFn | undefined = frozen
      ? bindScore(frozen.model, frozen.vars, sde)
      : undefined;
    const model = resnetClassifier(c.model);
    const [kInit, kData, kFit] = split(key(cfg.seed + 1), 3) as [Key, Key, Key];
    const start = await startTraining(cfg, 'classifier', model, kInit, log);
    const { buffers } = start;
    await unwrap(writeJson(join(cfg.out, 'config.json'), cfg));
    const loss = classifierObjective(
      { method: methodOf[c.loss], lambda: c.lambda, eps: c.eps, wDlsm: 0, wCe: 0 },
      {
        sde,
        logits: parametricLogits(model, buffers, sde, { training: true }),
        ...(score ? { score } : {}),
      },
    );
    let stage: Awaited<ReturnType<typeof runTrainingStage>>;
    try {
      stage = await runTrainingStage(
        cfg,
        start,
        {
          label: `classifier (${c.loss})`,
          loss,
          optimizer: adam({ lr: c.lr, warmup: c.warmup, gradClip: c.gradClip }),
          data: data.train,
          batch: c.batch,
          flip: c.flip,
          steps: c.steps,
          checkpointEvery: c.checkpointEvery,
          kData,
          kFit,
        },
        options.signal,
      );
    } catch (e) {
      tf.dispose(Object.values(buffers));
      throw e;
    }
    const { result, report: fields } = stage;
    let accuracy: AccuracyResult;
    try {
      accuracy = await accuracyAtSigma(model, result.state.params, buffers, data.test, c.evalSigma);
    } finally {
      disposeTrainState(result.state);
      tf.dispose(Object.values(buffers));
    }
    const seconds = (performance.now() - started) / 1000;
    const report: ClassifierReport = {
      loss: c.loss,
      ...fields,
      seconds,
      accuracy,
      evalSigma: c.evalSigma,
    };
    await unwrap(writeJson(join(cfg.out, 'report.json'), report));
    log(
      `train-classifier: ${report.steps} steps in ${seconds.toFixed(1)} s; held-out accuracy at σ = ${c.evalSigma}: ${(100 * accuracy.accuracy).toFixed(1)} % (${accuracy.count} images)`,
    );
    return report;
  } finally {
    if (frozen) disposeFrozen(frozen);
    lock?.release();
  }
}
