import type { Key } from '@scorekit/core';
import { unwrap } from '@scorekit/core';
import { type ImageBatch, type ImageSet, trainingBatches } from '@scorekit/datasets';
import { progressBar } from '@scorekit/example-kit';
import {
  disposeTrainState,
  type FitResult,
  fit,
  type Loss,
  type Optimizer,
} from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainingStart } from './checkpoints.js';
import type { CifarConfig } from './config.js';

/**
 * Thrown by a training command stopped by its `signal` (SIGINT / SIGTERM in the CLI) after the
 * current step finished and a checkpoint was written: the step reached and that checkpoint
 * (`undefined` when no step ran), so the caller can say how to resume.
 *
 * @example
 * ```ts
 * if (e instanceof TrainingInterrupted) console.error(`stopped at step ${e.step}: ${e.checkpoint}`);
 * ```
 */
export class TrainingInterrupted extends Error {
  readonly step: number;
  readonly checkpoint: string | undefined;
  constructor(step: number, checkpoint: string | undefined) {
    super(
      checkpoint === undefined
        ? `interrupted at step ${step} before any new step was saved`
        : `interrupted after step ${step}; checkpoint ${checkpoint}`,
    );
    this.name = 'TrainingInterrupted';
    this.step = step;
    this.checkpoint = checkpoint;
  }
}

/**
 * Refuses a batch larger than the training set (it would silently be clamped to the set: every
 * batch the whole set), naming the config `field`.
 *
 * @example
 * ```ts
 * checkBatch(cfg.score.batch, data.train.count, 'score.batch');
 * ```
 */
export function checkBatch(batch: number, count: number, field: string): void {
  if (count === 0) throw new Error(`${field}: the training set is empty`);
  if (batch > count)
    throw new Error(`${field}: expected at most the ${count} training images, got ${batch}`);
}

/** Logging and interruption of a command. */
export interface RunOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What a training command reports. */
export interface TrainReport {
  readonly steps: number;
  readonly resumedFrom?: number;
  readonly checkpoint?: string;
  readonly lastTerms: Readonly<Record<string, number>>;
  /** The global gradient norm of the last step, before clipping. */
  readonly lastGradNorm?: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/**
 * Renders named loss terms for the logs (L_DLSM and L_CE of Chao et al. 2022, eq. 10 + λ·CE).
 *
 * @example
 * ```ts
 * formatTerms({ dlsm: 0.51, crossEntropy: 2.3 }); // 'dlsm 0.5100, crossEntropy 2.300'
 * ```
 */
export const formatTerms = (terms: Readonly<Record<string, number>>): string =>
  Object.entries(terms)
    .map(([n, v]) => `${n} ${v.toPrecision(4)}`)
    .join(', ');

/** One training stage: its loss, optimiser, data and schedule (score model or classifier). */
export interface TrainingStage {
  /** The progress bar's label. */
  readonly label: string;
  readonly loss: Loss<ImageBatch>;
  readonly optimizer: Optimizer;
  readonly data: ImageSet;
  readonly batch: number;
  readonly flip: boolean;
  readonly steps: number;
  readonly checkpointEvery: number;
  /** Base keys of the batch order and of the per-step loss keys (a fresh start's `key`). */
  readonly kData: Key;
  readonly kFit: Key;
  /** EMA decay of a fresh start (score models; Song et al. 2021 App. H). */
  readonly ema?: number;
}

/** What {@link runTrainingStage} returns: fit's result (its state owned by the caller) and the report fields. */
export interface StageResult {
  readonly result: FitResult;
  readonly report: Omit<TrainReport, 'seconds'>;
}

/**
 * Runs one training stage of the CIFAR pipeline (Chao et al. 2022 §5: DSM for the score model,
 * CE / DLSM / DLSM + λ·CE for the classifier) with training's `fit`: keyed, resumable batches
 * (shuffle, optional flips), a progress bar with the loss terms and images/s, checkpoints into
 * `cfg.out`, and either a fresh start or the resumed state of `start`. Stopped by `signal`, it
 * finishes the current step, writes a checkpoint and throws {@link TrainingInterrupted}. The start's params /
 * resume state are disposed here; `result.state` and `start.buffers` stay the caller's.
 *
 * @example
 * ```ts
 * const { result, report } = await runTrainingStage(cfg, start, { label: 'score model (DSM)', loss, optimizer, data: data.train, batch: 32, flip: true, steps: 1500, checkpointEvery: 250, kData, kFit, ema: 0.995 });
 * ```
 */
export async function runTrainingStage(
  cfg: CifarConfig,
  start: TrainingStart,
  stage: TrainingStage,
  signal?: AbortSignal,
): Promise<StageResult> {
  const bar = progressBar(stage.label, stage.steps, 'step', { quiet: cfg.quiet });
  const common = {
    loss: stage.loss,
    optimizer: stage.optimizer,
    batches: (from: number) =>
      trainingBatches(
        stage.data,
        { batchSize: stage.batch, shuffle: true, flip: stage.flip },
        stage.kData,
        from,
      ),
    steps: stage.steps,
    buffers: start.buffers,
    checkpointDir: cfg.out,
    checkpointEvery: stage.checkpointEvery,
    keepLast: cfg.keepLast,
    config: cfg,
    signal,
    onStep: (i: {
      step: number;
      terms: Readonly<Record<string, number>>;
      imagesPerSecond: number;
    }) => bar.update(i.step + 1, `${formatTerms(i.terms)}  ${i.imagesPerSecond.toFixed(1)} img/s`),
  };
  const { resume, initParams } = start;
  let result: FitResult;
  try {
    result = resume
      ? await unwrap(fit({ ...common, resume }))
      : await unwrap(fit({ ...common, params: initParams!, key: stage.kFit, ema: stage.ema }));
  } finally {
    if (resume) disposeTrainState(resume);
    if (initParams) tf.dispose(Object.values(initParams));
  }
  bar.finish(result.last ? formatTerms(result.last.terms) : '');
  if (result.stopReason === 'aborted') {
    disposeTrainState(result.state);
    throw new TrainingInterrupted(result.state.step, result.checkpoint);
  }
  return {
    result,
    report: {
      steps: result.state.step,
      ...(resume ? { resumedFrom: resume.step } : {}),
      ...(result.checkpoint ? { checkpoint: result.checkpoint } : {}),
      lastTerms: result.last?.terms ?? {},
      ...(result.last ? { lastGradNorm: result.last.gradNorm } : {}),
      imagesPerSecond: result.last?.imagesPerSecond ?? 0,
    },
  };
}
