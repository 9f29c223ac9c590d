import { join } from 'node:path';
import { fold, type Key, key, split, unwrap, veSde } from '@scorekit/core';
import { checkOutputDir } from '@scorekit/example-kit';
import { dsm } from '@scorekit/losses';
import { parametricScore, scoreUnet } from '@scorekit/models';
import { adam, disposeTrainState } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { startTraining } from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { type CifarData, loadCifarData } from './data.js';
import { writeJson } from './output.js';
import { prepareTrainingFolder } from './runFolder.js';
import {
  checkBatch,
  type RunOptions,
  runTrainingStage,
  type TrainReport,
} from './trainingStage.js';

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
  await checkOutputDir(cfg.out);
  const data = await unwrap(loadCifarData(cfg.data.path, cfg.data));
  const s = cfg.score;
  checkBatch(s.batch, data.train.count, 'score.batch');
  log(`train-score: ${data.train.count} training images from ${data.description}`);
  const lock = await prepareTrainingFolder(cfg, 'score', log);
  try {
    return await trainScoreLocked(cfg, data, log, started, options.signal);
  } finally {
    lock.release();
  }
}

async function trainScoreLocked(
  cfg: CifarConfig,
  data: CifarData,
  log: (line: string) => void,
  started: number,
  signal: AbortSignal | undefined,
): Promise<TrainReport> {
  const s = cfg.score;
  const sde = veSde(cfg.sde);
  const model = scoreUnet(s.model);
  const [kInit, kData, kFit] = split(key(cfg.seed), 3) as [Key, Key, Key];
  const start = await startTraining(cfg, 'score', model, kInit, log);
  await unwrap(writeJson(join(cfg.out, 'config.json'), cfg));
  // a fresh dropout key for every step: the loss key of step s is fold(kFit, s)
  const loss = (params: Parameters<ReturnType<typeof dsm>>[0], batch: { x: tf.Tensor }, k: Key) =>
    dsm({
      sde,
      score: parametricScore(model, start.buffers, sde, { training: true, key: fold(k, 0x5eed) }),
      eps: s.eps,
      weighting: 'sigma2',
    })(params, batch, k);
  let stage: Awaited<ReturnType<typeof runTrainingStage>>;
  try {
    stage = await runTrainingStage(
      cfg,
      start,
      {
        label: 'score model (DSM)',
        loss,
        optimizer: adam({ lr: s.lr, warmup: s.warmup, gradClip: s.gradClip }),
        data: data.train,
        batch: s.batch,
        flip: s.flip,
        steps: s.steps,
        checkpointEvery: s.checkpointEvery,
        kData,
        kFit,
        ema: s.ema,
      },
      signal,
    );
  } finally {
    tf.dispose(Object.values(start.buffers));
  }
  const { result, report: fields } = stage;
  disposeTrainState(result.state);
  const seconds = (performance.now() - started) / 1000;
  const report: TrainReport = { ...fields, seconds };
  await unwrap(writeJson(join(cfg.out, 'report.json'), report));
  log(
    `train-score: ${report.steps} steps in ${seconds.toFixed(1)} s; checkpoint ${report.checkpoint ?? '(none)'}`,
  );
  return report;
}
