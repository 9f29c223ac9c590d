import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fold, key, unwrap, veSde } from '@scorekit/core';
import type { ImageShape } from '@scorekit/datasets';
import { progressBar } from '@scorekit/example-kit';
import { bindLogits, bindScore } from '@scorekit/models';
import { classifierGuidance, pcSampler } from '@scorekit/samplers';
import { writeSafetensors } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkpointConfig,
  disposeFrozen,
  type Frozen,
  loadFrozen,
  resolveCheckpoint,
} from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { imageGrid, writeJson } from './output.js';
import type { RunOptions } from './trainingStage.js';

/** What `sample` writes. */
export interface SampleReport {
  readonly classes: readonly number[];
  readonly perClass: number;
  readonly scale: number;
  /** One PNG grid per class. */
  readonly grids: readonly string[];
  /** `classes.png`: one row per class (its first {@link overviewColumns} samples). */
  readonly overview: string;
  /** `samples.safetensors`: `samples` float32 [n, s, s, 3] in [0, 1] (s = the score model's image side), `labels` int32 [n]. */
  readonly samplesFile: string;
  readonly nfe: number;
  readonly seconds: number;
}

/**
 * The file name of the sample array written by {@link sampleImages}.
 *
 * @example
 * ```ts
 * join(out, samplesFileName); // out/samples.safetensors
 * ```
 */
export const samplesFileName = 'samples.safetensors';

/** Samples per class shown in `classes.png` (the overview grid of {@link sampleImages}). */
export const overviewColumns = 16;

/**
 * `sample`: class-conditional generation with classifier guidance (Chao et al. 2022 §3, the
 * posterior score S = s(x̃, t) + α ∇ log p(y | x̃, t); Song et al. 2021 eq. 14) by the PC
 * sampler (Song et al. 2021 Alg. 1: reverse-diffusion predictor, one Langevin corrector step
 * with snr 0.16, N steps from t = 1 to ε = 1e-5, denoised last step). The score model uses its
 * EMA weights, the classifier runs in inference mode. Samples of all requested classes are
 * drawn in batches of `sample.batch` (a batch may mix classes: each sample is guided towards
 * its own label). Writes `class-<c>.png` (a grid of that class's samples, pixels clipped to
 * [0, 1], shown at 32×32), `classes.png` (one row per class, at most 16 samples each), `samples.safetensors`
 * (`samples` float32 [n, s, s, 3] clipped to [0, 1], s the score model's image side, and
 * `labels` int32 [n], class-major) and `config.json` into `cfg.out`. A class outside the
 * classifier's classes, or models trained at different image sizes, are errors before any
 * sampling.
 *
 * @example
 * ```ts
 * await sampleImages({ ...cfg, command: 'sample', inputs: { resume: false, scoreCheckpoint: 'runs/score', classifierCheckpoint: 'runs/clf' } });
 * ```
 */
export async function sampleImages(
  cfg: CifarConfig,
  options: RunOptions = {},
): Promise<SampleReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const sc = cfg.sample;
  if (!cfg.inputs.scoreCheckpoint) throw new Error('sample: --score <checkpoint> is required');
  if (!cfg.inputs.classifierCheckpoint)
    throw new Error('sample: --classifier <checkpoint> is required');
  if (sc.classes.length === 0) throw new Error('sample: --classes: give at least one class');
  // check the class indices against the classifier before loading any weights
  const clfDir = await unwrap(resolveCheckpoint(cfg.inputs.classifierCheckpoint));
  const clfCfg = await unwrap(checkpointConfig(clfDir, 'classifier'));
  const numClasses = clfCfg.classifier.model.classes;
  const bad = sc.classes.find((c) => c >= numClasses);
  if (bad !== undefined)
    throw new Error(
      `sample: --classes: class ${bad} is out of range: the classifier ${clfDir} has ${numClasses} classes (0 … ${numClasses - 1})`,
    );
  // … and the image sides of both models and of this run, also before loading any weights
  const scoreDir = await unwrap(resolveCheckpoint(cfg.inputs.scoreCheckpoint));
  const scoreCfg = await unwrap(checkpointConfig(scoreDir, 'score'));
  const side = scoreCfg.score.model.imageSize;
  if (clfCfg.data.imageSize !== side || cfg.data.imageSize !== side)
    throw new Error(
      `sample: image sides differ: score model ${scoreDir} ${side}×${side}, classifier ${clfDir} ${clfCfg.data.imageSize}×${clfCfg.data.imageSize}, this run's data.imageSize ${cfg.data.imageSize} (set it with --image-size)`,
    );
  let score: Frozen<tf.Tensor4D> | undefined;
  let clf: Frozen<tf.Tensor2D> | undefined;
  try {
    score = await unwrap(loadFrozen(scoreDir, 'score'));
    clf = await unwrap(loadFrozen(clfDir, 'classifier'));
    await unwrap(writeJson(join(cfg.out, 'config.json'), cfg));
    const sde = veSde(cfg.sde);
    const scoreFn = bindScore(score.model, score.vars, sde);
    const logitsFn = bindLogits(clf.model, clf.vars, sde); // inference mode
    const shape: ImageShape = [side, side, 3];
    const [h, w, ch] = shape;
    const size = h * w * ch;
    const total = sc.classes.length * sc.n;
    const all = new Float32Array(total * size);
    // class-major order: n samples of the first class, then of the next, …; batches may mix classes
    const labels = Int32Array.from({ length: total }, (_, i) => sc.classes[Math.floor(i / sc.n)]!);
    let nfe = 0;
    const chunks = Math.ceil(total / sc.batch);
    const bar = progressBar('sampling', chunks * cfg.sde.N, 'step', { quiet: cfg.quiet });
    for (let chunk = 0; chunk < chunks; chunk++) {
      const from = chunk * sc.batch;
      const b = Math.min(sc.batch, total - from);
      const y = Array.from(labels.subarray(from, from + b));
      // α = 0 is the unconditional sampler: no classifier pass at all
      const guided =
        sc.scale === 0 ? scoreFn : classifierGuidance(scoreFn, logitsFn, y, { scale: sc.scale });
      const out = await pcSampler(
        guided,
        sde,
        {
          shape: [b, h, w, ch],
          predictor: 'reverseDiffusion',
          corrector: 'langevin',
          snr: sc.snr,
          nStepsEach: 1,
          eps: sc.eps,
          denoise: true,
        },
        fold(key(cfg.seed + 2), chunk),
        {
          onStep: (step) => bar.update(chunk * cfg.sde.N + step, `batch ${chunk + 1}/${chunks}`),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      nfe += out.nfe;
      const clipped = tf.tidy(() => tf.clipByValue(out.samples, 0, 1));
      const host = clipped.dataSync() as Float32Array;
      tf.dispose([clipped, out.samples, out.xMean]);
      all.set(host, from * size);
    }
    const zoom = Math.max(1, Math.round(32 / side));
    const grids: string[] = [];
    for (const [ci, c] of sc.classes.entries()) {
      const file = join(cfg.out, `class-${c}.png`);
      const images = all.subarray(ci * sc.n * size, (ci + 1) * sc.n * size);
      await writeFile(file, imageGrid(images, sc.n, shape, undefined, zoom));
      grids.push(file);
    }
    // every class at a glance: one row per class (its first 16 samples at most)
    const overview = join(cfg.out, 'classes.png');
    const perRow = Math.min(sc.n, overviewColumns);
    const rows = new Float32Array(sc.classes.length * perRow * size);
    sc.classes.forEach((_, ci) =>
      rows.set(all.subarray(ci * sc.n * size, (ci * sc.n + perRow) * size), ci * perRow * size),
    );
    await writeFile(overview, imageGrid(rows, sc.classes.length * perRow, shape, perRow, zoom));
    bar.finish();
    const samplesFile = join(cfg.out, samplesFileName);
    const tensors = {
      samples: tf.tensor4d(all, [labels.length, h, w, ch]),
      labels: tf.tensor1d(labels, 'int32'),
    };
    try {
      await unwrap(
        writeSafetensors(samplesFile, tensors, {
          format: 'scorekit',
          'scorekit.kind': 'samples',
          'scorekit.range': '[0, 1]',
          'scorekit.layout': 'NHWC',
          'scorekit.scale': String(sc.scale),
        }),
      );
    } finally {
      tf.dispose(Object.values(tensors));
    }
    const seconds = (performance.now() - started) / 1000;
    const report: SampleReport = {
      classes: sc.classes,
      overview,
      perClass: sc.n,
      scale: sc.scale,
      grids,
      samplesFile,
      nfe,
      seconds,
    };
    await unwrap(writeJson(join(cfg.out, 'report.json'), report));
    log(
      `sample: ${labels.length} images (${nfe} score evaluations) in ${seconds.toFixed(1)} s → ${overview}, ${grids.join(', ')}, ${samplesFile}`,
    );
    return report;
  } finally {
    if (score) disposeFrozen(score);
    if (clf) disposeFrozen(clf);
  }
}
