import { join } from 'node:path';
import { fold, type Key, key, split, veSde } from '@scorekit/core';
import { trainingBatches, unwrap } from '@scorekit/datasets';
import { progressBar } from '@scorekit/example-kit';
import { dsm } from '@scorekit/losses';
import { parametricScore, scoreUnet } from '@scorekit/models';
import { adam, disposeTrainState, type FitResult, fit } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { startTraining } from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { loadCifarData } from './data.js';
import { writeJson } from './output.js';

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

/**
 * `train-score`: stage 1 of Chao et al. 2022 — the unconditional score model trained with
 * continuous DSM on the VE SDE (Song et al. 2021, eq. 7; λ = σ², t ~ U(ε = 1e-3, 1)), Adam
 * with warm-up and gradient clipping, EMA of the weights, random horizontal flips,
 * checkpoints every `score.checkpointEvery` steps into `cfg.out`. With `inputs.resume` it
 * continues exactly from the latest checkpoint there.
 *
 * @example
 * ```ts
 * await trainScore({ ...presets.tiny, command: 'train-score', out: 'runs/score' });
 * ```
 */
export async function trainScore(cfg: CifarConfig, options: RunOptions = {}): Promise<TrainReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const data = await unwrap(loadCifarData(cfg.data.path, cfg.data));
  const s = cfg.score;
  log(`train-score: ${data.train.count} training images from ${data.description}`);
  const sde = veSde(cfg.sde);
  const model = scoreUnet(s.model);
  const [kInit, kData, kFit] = split(key(cfg.seed), 3) as [Key, Key, Key];
  const { resume, initParams, buffers } = await startTraining(cfg, 'score', model, kInit, log);
  await unwrap(writeJson(join(cfg.out, 'config.json'), cfg));
  const bound = buffers;
  // a fresh dropout key for every step: the loss key of step s is fold(kFit, s)
  const loss = (params: Parameters<ReturnType<typeof dsm>>[0], batch: { x: tf.Tensor }, k: Key) =>
    dsm({
      sde,
      score: parametricScore(model, bound, sde, { training: true, key: fold(k, 0x5eed) }),
      eps: s.eps,
      weighting: 'sigma2',
    })(params, batch, k);
  const bar = progressBar('score model (DSM)', s.steps, 'step', { quiet: cfg.quiet });
  const common = {
    loss,
    optimizer: adam({ lr: s.lr, warmup: s.warmup, gradClip: s.gradClip }),
    batches: (start: number) =>
      trainingBatches(
        data.train,
        { batchSize: s.batch, shuffle: true, flip: s.flip },
        kData,
        start,
      ),
    steps: s.steps,
    buffers,
    checkpointDir: cfg.out,
    checkpointEvery: s.checkpointEvery,
    config: cfg,
    signal: options.signal,
    onStep: (i: {
      step: number;
      terms: Readonly<Record<string, number>>;
      imagesPerSecond: number;
    }) => bar.update(i.step + 1, `${formatTerms(i.terms)}  ${i.imagesPerSecond.toFixed(1)} img/s`),
  };
  let result: FitResult;
  try {
    result = resume
      ? await unwrap(fit({ ...common, resume }))
      : await unwrap(fit({ ...common, params: initParams!, key: kFit, ema: s.ema }));
  } finally {
    if (resume) disposeTrainState(resume);
    if (initParams) tf.dispose(Object.values(initParams));
  }
  bar.finish(result.last ? formatTerms(result.last.terms) : '');
  disposeTrainState(result.state);
  tf.dispose(Object.values(buffers));
  const seconds = (performance.now() - started) / 1000;
  const report: TrainReport = {
    steps: result.state.step,
    ...(resume ? { resumedFrom: resume.step } : {}),
    ...(result.checkpoint ? { checkpoint: result.checkpoint } : {}),
    lastTerms: result.last?.terms ?? {},
    seconds,
    imagesPerSecond: result.last?.imagesPerSecond ?? 0,
  };
  await unwrap(writeJson(join(cfg.out, 'report.json'), report));
  log(
    `train-score: ${report.steps} steps in ${seconds.toFixed(1)} s; checkpoint ${report.checkpoint ?? '(none)'}`,
  );
  return report;
}
