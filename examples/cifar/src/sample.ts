import { dirname, join, resolve } from 'node:path';
import { fold, key, unwrap, veSde } from '@scorekit/core';
import type { ImageShape } from '@scorekit/datasets';
import { progressBar } from '@scorekit/example-kit';
import { bindLogits, bindScore } from '@scorekit/models';
import { classifierGuidance, pcSampler } from '@scorekit/samplers';
import { encodeSafetensors, writeDirAtomic, writeFileDurable } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as TE from 'fp-ts/lib/TaskEither.js';
import {
  checkpointConfig,
  disposeFrozen,
  type Frozen,
  loadFrozen,
  resolveCheckpoint,
} from './checkpoints.js';
import type { CifarConfig } from './config.js';
import { imageGrid } from './output.js';
import { checkWritableFolder } from './shard.js';
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

/** The checked inputs of a sampling run: both checkpoint step folders and the image side. */
export interface SamplingPlan {
  readonly scoreDir: string;
  readonly classifierDir: string;
  /** The image side s of the score model (samples are s × s × 3). */
  readonly side: number;
  /** Samples of the whole run: classes × n, class-major. */
  readonly total: number;
}

/**
 * Checks a `sample` config before any weights are loaded: both checkpoints given and
 * resolvable, every class inside the classifier's classes, the image sides of both models and
 * of the run equal. Errors name the option and the checkpoint.
 *
 * @example
 * ```ts
 * const plan = await planSampling(cfg); // { scoreDir, classifierDir, side, total }
 * ```
 */
export async function planSampling(cfg: CifarConfig): Promise<SamplingPlan> {
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
  return { scoreDir, classifierDir: clfDir, side, total: sc.classes.length * sc.n };
}

/**
 * The conditioning labels of a whole run, class-major: n samples of the first class, then of
 * the next, … (sample j has label `classes[⌊j / n⌋]`).
 *
 * @example
 * ```ts
 * sampleLabels({ classes: [0, 3], n: 2 }); // Int32Array [0, 0, 3, 3]
 * ```
 */
export function sampleLabels(sc: { readonly classes: readonly number[]; readonly n: number }) {
  return Int32Array.from(
    { length: sc.classes.length * sc.n },
    (_, i) => sc.classes[Math.floor(i / sc.n)]!,
  );
}

/** Samples [from, to) of a run, on the host (see {@link drawSamples}). */
export interface DrawnSamples {
  readonly from: number;
  readonly to: number;
  /** float32 [(to − from), s, s, 3], clipped to [0, 1]. */
  readonly pixels: Float32Array;
  readonly labels: Int32Array;
  readonly nfe: number;
}

/**
 * Draws samples [from, to) of a run (Chao et al. 2022 §3 posterior score
 * S = s(x̃, t) + α ∇ log p(y | x̃, t) by the PC sampler of Song et al. 2021 Alg. 1; see
 * {@link sampleImages}). Sample j draws every random number from its own key
 * `fold(key(seed + 2), j)` (the sampler's `sampleKeys`, with per-sample Langevin norms), so
 * sample j depends only on (seed, j) and the model — not on the batch size, the batch it
 * falls in, or which shard or machine draws it. `[from, to)` may be any range; it is drawn in
 * batches of B = `sample.batch` starting at `from`.
 *
 * @example
 * ```ts
 * const part = await drawSamples(cfg, plan, 0, 12); // the first two batches of 6
 * ```
 */
export async function drawSamples(
  cfg: CifarConfig,
  plan: SamplingPlan,
  from: number,
  to: number,
  options: RunOptions & { readonly onBatchStep?: (done: number, total: number) => void } = {},
): Promise<DrawnSamples> {
  const sc = cfg.sample;
  const B = sc.batch;
  if (
    !(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= plan.total)
  )
    throw new Error(`sample: index range [${from}, ${to}) is not inside [0, ${plan.total})`);
  const allLabels = sampleLabels(sc);
  const shape: ImageShape = [plan.side, plan.side, 3];
  const [h, w, ch] = shape;
  const size = h * w * ch;
  const pixels = new Float32Array((to - from) * size);
  const labels = allLabels.slice(from, to);
  let nfe = 0;
  if (to === from) return { from, to, pixels, labels, nfe };
  let score: Frozen<tf.Tensor4D> | undefined;
  let clf: Frozen<tf.Tensor2D> | undefined;
  try {
    score = await unwrap(loadFrozen(plan.scoreDir, 'score'));
    clf = await unwrap(loadFrozen(plan.classifierDir, 'classifier'));
    const sde = veSde(cfg.sde);
    const scoreFn = bindScore(score.model, score.vars, sde);
    const logitsFn = bindLogits(clf.model, clf.vars, sde); // inference mode
    const seedKey = key(cfg.seed + 2);
    const chunks = Math.ceil((to - from) / B);
    const bar = progressBar('sampling', chunks * cfg.sde.N, 'step', { quiet: cfg.quiet });
    for (let k = 0; k < chunks; k++) {
      const start = from + k * B;
      const b = Math.min(B, to - start);
      const y = Array.from(allLabels.subarray(start, start + b));
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
        seedKey,
        {
          sampleKeys: Array.from({ length: b }, (_, r) => fold(seedKey, start + r)),
          onStep: (step) => {
            bar.update(k * cfg.sde.N + step, `batch ${k + 1}/${chunks}`);
            options.onBatchStep?.(k * cfg.sde.N + step, chunks * cfg.sde.N);
          },
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      nfe += out.nfe;
      const clipped = tf.tidy(() => tf.clipByValue(out.samples, 0, 1));
      tf.dispose([out.samples, out.xMean]);
      const host = (await clipped.data().finally(() => clipped.dispose())) as Float32Array;
      pixels.set(host, (start - from) * size);
    }
    bar.finish();
    return { from, to, pixels, labels, nfe };
  } finally {
    if (score) disposeFrozen(score);
    if (clf) disposeFrozen(clf);
  }
}

/**
 * The bytes of `samples.safetensors` for a whole run: `samples` float32 [n, s, s, 3] in
 * [0, 1] and `labels` int32 [n], class-major, with the run's metadata. A single run and a merge
 * of shards produce the same bytes from the same samples.
 *
 * @example
 * ```ts
 * await writeFile('samples.safetensors', encodeSamples(cfg, pixels, labels, 16));
 * ```
 */
export function encodeSamples(
  cfg: CifarConfig,
  pixels: Float32Array,
  labels: Int32Array,
  side: number,
): Uint8Array {
  return encodeSafetensors({
    tensors: {
      samples: { dtype: 'float32', shape: [labels.length, side, side, 3], values: pixels },
      labels: { dtype: 'int32', shape: [labels.length], values: labels },
    },
    metadata: {
      format: 'scorekit',
      'scorekit.kind': 'samples',
      'scorekit.range': '[0, 1]',
      'scorekit.layout': 'NHWC',
      'scorekit.scale': String(cfg.sample.scale),
    },
  });
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Writes a whole run's outputs into `cfg.out` as one folder, atomically (training's
 * `writeDirAtomic`: the files are written and fsynced in a temporary sibling folder that is
 * then renamed over `cfg.out`, so a crash leaves the previous complete folder or the new one,
 * never a mix): `class-<c>.png` grids, `classes.png`, `samples.safetensors`, `config.json`
 * and `report.json`. Used by {@link sampleImages} and by `merge`.
 *
 * @example
 * ```ts
 * const report = await writeSampleFolder(cfg, pixels, labels, 16, { nfe, started });
 * ```
 */
export async function writeSampleFolder(
  cfg: CifarConfig,
  pixels: Float32Array,
  labels: Int32Array,
  side: number,
  run: { readonly nfe: number; readonly started: number },
): Promise<SampleReport> {
  const sc = cfg.sample;
  const shape: ImageShape = [side, side, 3];
  const size = side * side * 3;
  const zoom = Math.max(1, Math.round(32 / side));
  const files = new Map<string, Uint8Array | string>();
  const grids: string[] = [];
  for (const [ci, c] of sc.classes.entries()) {
    const images = pixels.subarray(ci * sc.n * size, (ci + 1) * sc.n * size);
    files.set(`class-${c}.png`, imageGrid(images, sc.n, shape, undefined, zoom));
    grids.push(join(cfg.out, `class-${c}.png`));
  }
  // every class at a glance: one row per class (its first 16 samples at most)
  const perRow = Math.min(sc.n, overviewColumns);
  const rows = new Float32Array(sc.classes.length * perRow * size);
  sc.classes.forEach((_, ci) =>
    rows.set(pixels.subarray(ci * sc.n * size, (ci * sc.n + perRow) * size), ci * perRow * size),
  );
  files.set('classes.png', imageGrid(rows, sc.classes.length * perRow, shape, perRow, zoom));
  files.set(samplesFileName, encodeSamples(cfg, pixels, labels, side));
  files.set('config.json', json(cfg));
  const report: SampleReport = {
    classes: sc.classes,
    overview: join(cfg.out, 'classes.png'),
    perClass: sc.n,
    scale: sc.scale,
    grids,
    samplesFile: join(cfg.out, samplesFileName),
    nfe: run.nfe,
    seconds: (performance.now() - run.started) / 1000,
  };
  files.set('report.json', json(report));
  await unwrap(
    writeDirAtomic(cfg.out, (tmp) =>
      TE.map(() => undefined)(
        TE.sequenceSeqArray(
          [...files].map(([name, data]) => writeFileDurable(join(tmp, name), data)),
        ),
      ),
    ),
  );
  return report;
}

/**
 * `sample`: class-conditional generation with classifier guidance (Chao et al. 2022 §3, the
 * posterior score S = s(x̃, t) + α ∇ log p(y | x̃, t); Song et al. 2021 eq. 14) by the PC
 * sampler (Song et al. 2021 Alg. 1: reverse-diffusion predictor, one Langevin corrector step
 * with snr 0.16, N steps from t = 1 to ε = 1e-5, denoised last step). The score model uses its
 * EMA weights, the classifier runs in inference mode. Samples of all requested classes are
 * drawn in batches of `sample.batch` (a batch may mix classes: each sample is guided towards
 * its own label; noise per sample as in {@link drawSamples}). Writes `class-<c>.png` (a grid
 * of that class's samples, pixels clipped to [0, 1], shown at 32×32), `classes.png` (one row
 * per class, at most 16 samples each), `samples.safetensors` (`samples` float32 [n, s, s, 3]
 * clipped to [0, 1], s the score model's image side, and `labels` int32 [n], class-major),
 * `config.json` and `report.json` into `cfg.out`, as one folder atomically
 * ({@link writeSampleFolder}). A class outside the classifier's classes, or models trained at
 * different image sizes, are errors before any sampling.
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
  const plan = await planSampling(cfg);
  await checkWritableFolder(dirname(resolve(cfg.out)), '--out (its parent folder)');
  const drawn = await drawSamples(cfg, plan, 0, plan.total, options);
  const report = await writeSampleFolder(cfg, drawn.pixels, drawn.labels, plan.side, {
    nfe: drawn.nfe,
    started,
  });
  log(
    `sample: ${drawn.labels.length} images (${drawn.nfe} score evaluations) in ${report.seconds.toFixed(1)} s → ${report.overview}, ${report.grids.join(', ')}, ${report.samplesFile}`,
  );
  return report;
}
