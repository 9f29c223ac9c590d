import type { ScoreFn } from '@scorekit/core';
import { type Key, normalArray, split, veSde, veTime } from '@scorekit/core';
import { syncReadPhase } from '@scorekit/core/node';
import { evaluationGrid, type PointSet, parzenConditionalScores } from '@scorekit/datasets';
import { progressBar } from '@scorekit/example-kit';
import { type ConditionalScores, featureSet, prdc, scoreErrors } from '@scorekit/metrics';
import { bindLogits, bindScore } from '@scorekit/models';
import { AbortError, pcSampler } from '@scorekit/samplers';
import * as tf from '@tensorflow/tfjs-core';
import type { ToyConfig } from './config.js';
import { trainInChildren } from './parallel.js';
import type { ClassScores, MethodResult } from './report.js';
import { classifierScores, posteriorScores } from './scores.js';
import {
  type ClassifierMethod,
  type CurvePoint,
  disposeTrained,
  Interrupted,
  type TaskId,
  type TaskOutcome,
  type Trained,
  taskLabel,
  toySetup,
  trainingStages,
  trainTask,
} from './stages.js';

export type { ClassifierMethod, CurvePoint } from './stages.js';

/** Everything a run produces, before it is written to disk. */
export interface ToyRun {
  readonly results: readonly MethodResult[];
  /**
   * The D_L of a classifier with zero input gradient on the same grid and σ, per class: the
   * oracle likelihood score's mean norm, the floor any useful classifier must beat.
   */
  readonly zeroGradientFloor: readonly number[];
  readonly learningCurves: Readonly<Partial<Record<ClassifierMethod, readonly CurvePoint[]>>>;
  /** CPU seconds of each model's training (see `TaskOutcome.cpuSeconds`). */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** Wall time per stage, in seconds. */
  readonly timings: Readonly<Record<string, number>>;
  /** Host copies for the figures: samples per method and class, and likelihood fields. */
  readonly figures: {
    readonly samples: ReadonlyArray<{ method: string; perClass: Float32Array[] }>;
    readonly grid: Float32Array;
    readonly fields: ReadonlyArray<{ method: string; perClass: Float32Array[] }>;
    readonly points: readonly Float32Array[];
  };
  readonly finalLosses: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Options of {@link runToyMoons}. */
export interface RunOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /**
   * Checkpoint folder: every model checkpoints there every `cfg.checkpointEvery` steps, and
   * models found there (finished or interrupted) are loaded or resumed. None: in memory.
   */
  readonly dir?: string | undefined;
  /** Train up to this many independent models at once in child processes (needs `dir`; default 1: in this process). */
  readonly jobs?: number | undefined;
}

const now = () => performance.now() / 1000;

/** Class c's points plus N(0, σ² I) noise: the reference set of precision / recall at σ. */
function noisyReference(set: PointSet, sigma: number, k: Key): tf.Tensor2D {
  const z = normalArray(k, set.count * set.dim);
  const out = new Float32Array(set.count * set.dim);
  for (let i = 0; i < out.length; i++) out[i] = set.x[i]! + sigma * z[i]!;
  return tf.tensor2d(out, [set.count, set.dim]);
}

/**
 * Draws `n` samples of p_σ(x̃ | y = c) at the fixed evaluation σ with the samplers package's
 * predictor–corrector sampler run as Langevin dynamics at one noise level: predictor 'none',
 * corrector 'langevin' (snr-controlled steps, method.md §4), on a VE SDE whose σ range is
 * [σ, σ(1 + 1e-6)] so its prior is N(0, σ² I) and every step uses the posterior score at σ.
 */
async function sampleAtSigma(
  cfg: ToyConfig,
  scores: ConditionalScores,
  c: number,
  time: number,
  k: Key,
  signal?: AbortSignal,
): Promise<tf.Tensor2D> {
  const sigma = cfg.evaluation.sigma;
  const n = cfg.evaluation.samplesPerClass;
  const levelSde = veSde({
    sigmaMin: sigma,
    sigmaMax: sigma * (1 + 1e-6),
    N: cfg.evaluation.samplerSteps,
  });
  const y = tf.fill([n], c, 'int32') as tf.Tensor1D;
  const s = tf.fill([n], time) as tf.Tensor1D;
  const score: ScoreFn = (x) => scores.posterior(x, s, y);
  try {
    const out = await pcSampler(
      score,
      levelSde,
      {
        shape: [n, 2],
        predictor: 'none',
        corrector: 'langevin',
        snr: cfg.evaluation.snr,
        langevinNorms: cfg.evaluation.langevinNorms,
        nStepsEach: Math.max(cfg.evaluation.correctorSteps, 1),
        denoise: false,
        eps: 1e-3,
      },
      k,
      { signal },
    );
    out.xMean.dispose();
    return out.samples as tf.Tensor2D;
  } finally {
    tf.dispose([y, s]);
  }
}

const hostOf = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync());

/**
 * The paper's two-moons experiment end to end (Chao et al. 2022, §5.1; method.md §6): trains
 * the unconditional score model and one score model per class with DSM, three classifiers
 * (CE, DLSM, DLSM + λ·CE) against the frozen score model, then evaluates base, scaling,
 * posterior SM, DLSM, ours and the oracle by D_P, D_L at σ = 7.5 on the 35×35 grid and by
 * precision / recall (k = 5) of Langevin samples at σ against the class points + N(0, σ²).
 * Deterministic for a seed on a given backend.
 */
export async function runToyMoons(cfg: ToyConfig, options: RunOptions = {}): Promise<ToyRun> {
  const log = options.log ?? (() => {});
  const signal = options.signal;
  const timings: Record<string, number> = {};
  const cpuSeconds: Record<string, number> = {};
  const losses: Record<string, Record<string, number>> = {};
  const setup = toySetup(cfg);
  const { data, classes, sde } = setup;
  const sigma = cfg.evaluation.sigma;
  const tEval = veTime(cfg.sde.sigmaMin, cfg.sde.sigmaMax, sigma);
  log(
    `two moons: ${data.count} points; σ ∈ [${cfg.sde.sigmaMin}, ${cfg.sde.sigmaMax}] log-uniform; evaluation at σ = ${sigma} (t = ${tEval.toFixed(4)})`,
  );
  const jobs = options.jobs ?? 1;
  if (jobs > 1 && options.dir === undefined)
    throw new Error('runToyMoons: jobs > 1 needs a checkpoint folder (dir)');

  const outcomes: Partial<Record<TaskId, TaskOutcome>> = {};
  const gridHost = evaluationGrid(cfg.evaluation.grid);
  const grid = tf.tensor2d(gridHost, [gridHost.length / 2, 2]);
  try {
    // stage 1: the three score models; stage 2: the three classifiers against the frozen
    // unconditional score model. Within a stage the models are independent.
    if (jobs > 1) {
      const t0 = now();
      await trainInChildren(cfg, trainingStages.flat(), { dir: options.dir!, jobs, signal, log });
      timings['training (wall)'] = now() - t0;
    }
    for (const stage of trainingStages) {
      const t0 = now();
      for (const id of stage) {
        if (signal?.aborted) throw new Interrupted(id);
        const outcome = await trainTask(cfg, setup, id, {
          dir: options.dir,
          signal,
          prior: outcomes.score?.trained,
        });
        outcomes[id] = outcome;
        losses[taskLabel(id)] = { ...outcome.losses };
        timings[taskLabel(id)] = outcome.seconds;
        cpuSeconds[taskLabel(id)] = outcome.cpuSeconds;
      }
      if (jobs === 1)
        timings[`stage ${stage[0] === 'score' ? 'score models' : 'classifiers'} (wall)`] =
          now() - t0;
    }
    const prior = bindScore(outcomes.score!.trained.model, outcomes.score!.trained.vars, sde);
    const classScoreModels = [outcomes['score-class1']!.trained, outcomes['score-class2']!.trained];
    const oracle = parzenConditionalScores(data, sigma);
    const curves: Partial<Record<ClassifierMethod, CurvePoint[]>> = {};
    const classifiers: Partial<Record<ClassifierMethod, Trained>> = {};
    for (const method of ['crossEntropy', 'dlsm', 'total'] as const) {
      const outcome = outcomes[`classifier-${method}`]!;
      classifiers[method] = outcome.trained;
      if (outcome.curve) curves[method] = [...outcome.curve];
    }

    // 3. evaluation (its metrics read synchronously: on webgpu it continues on wasm)
    const switched = await syncReadPhase([
      grid,
      ...Object.values(outcomes).flatMap((o) => [
        ...Object.values(o!.trained.vars.params),
        ...Object.values(o!.trained.vars.buffers),
      ]),
    ]);
    if (switched) log(switched);
    const t0 = now();
    const logitsOf = (m: ClassifierMethod) =>
      bindLogits(classifiers[m]!.model, classifiers[m]!.vars, sde);
    const alpha = cfg.evaluation.alpha;
    const candidates: Array<{
      method: string;
      description: string;
      scores: ConditionalScores;
      alpha: number;
    }> = [
      {
        method: 'Base',
        description: 'CE classifier, α = 1',
        scores: classifierScores(prior, logitsOf('crossEntropy'), 1),
        alpha: 1,
      },
      {
        method: 'Scaling',
        description: `CE classifier, α = ${alpha}`,
        scores: classifierScores(prior, logitsOf('crossEntropy'), alpha),
        alpha,
      },
      {
        method: 'Posterior SM',
        description: 'one score model per class; likelihood = s_y − s',
        scores: posteriorScores(
          prior,
          classScoreModels.map((m) => bindScore(m.model, m.vars, sde)),
        ),
        alpha: 1,
      },
      {
        method: 'DLSM only',
        description: 'DLSM classifier, α = 1',
        scores: classifierScores(prior, logitsOf('dlsm'), 1),
        alpha: 1,
      },
      {
        method: 'Ours',
        description: `DLSM + ${cfg.classifier.lambda}·CE classifier, α = 1`,
        scores: classifierScores(prior, logitsOf('total'), 1),
        alpha: 1,
      },
      {
        method: 'Oracle',
        description: 'exact scores of the σ-smoothed data',
        scores: oracle,
        alpha: 1,
      },
    ];
    // the zero-gradient floor: D_L of a classifier whose likelihood score is 0 everywhere
    const zero: ConditionalScores = {
      likelihood: (x) => tf.zerosLike(x),
      posterior: (x, t, y) => oracle.posterior(x, t, y),
    };
    const floorErrors = scoreErrors(zero, oracle, grid, { sigma, alpha: 1, classes: [0, 1], sde });
    const zeroGradientFloor = [0, 1].map(
      (c) => floorErrors.perClass.find((e) => e.label === c)!.dL,
    );
    const kRefs = split(setup.keys.evaluation, 2);
    const references = classes.map((set, c) => noisyReference(set, sigma, kRefs[c]!));
    const kSamples = split(kRefs[1]!, candidates.length);
    const results: MethodResult[] = [];
    const sampleFigures: Array<{ method: string; perClass: Float32Array[] }> = [];
    const fieldFigures: Array<{ method: string; perClass: Float32Array[] }> = [];
    const bar = progressBar('evaluation', candidates.length * 2, 'sample set', {
      quiet: cfg.quiet,
    });
    let done = 0;
    try {
      for (const [i, cand] of candidates.entries()) {
        const errors = scoreErrors(cand.scores, oracle, grid, {
          sigma,
          alpha: cand.alpha,
          classes: [0, 1],
          sde,
        });
        const perClass: ClassScores[] = [];
        const samplesHost: Float32Array[] = [];
        const fieldHost: Float32Array[] = [];
        for (const c of [0, 1]) {
          let samples: tf.Tensor2D;
          try {
            samples = await sampleAtSigma(
              cfg,
              cand.scores,
              c,
              errors.time,
              split(kSamples[i]!, 2)[c]!,
              signal,
            );
          } catch (e) {
            if (e instanceof AbortError || signal?.aborted) throw new Interrupted('evaluation');
            throw e;
          }
          const pr = prdc(featureSet(references[c]!), featureSet(samples), { k: cfg.evaluation.k });
          samplesHost.push(hostOf(samples));
          samples.dispose();
          fieldHost.push(
            tf.tidy(() => {
              const y = tf.fill([grid.shape[0]], c, 'int32') as tf.Tensor1D;
              const t = tf.fill([grid.shape[0]], errors.time) as tf.Tensor1D;
              return hostOf(tf.mul(cand.alpha, cand.scores.likelihood(grid, t, y)));
            }),
          );
          const ce = errors.perClass.find((e) => e.label === c)!;
          perClass.push({ dP: ce.dP, dL: ce.dL, precision: pr.precision, recall: pr.recall });
          bar.update(++done, `${cand.method} class ${c + 1}`);
        }
        results.push({ method: cand.method, description: cand.description, perClass });
        sampleFigures.push({ method: cand.method, perClass: samplesHost });
        fieldFigures.push({ method: cand.method, perClass: fieldHost });
      }
    } finally {
      tf.dispose(references);
    }
    bar.finish();
    timings['evaluation'] = now() - t0;
    return {
      results,
      zeroGradientFloor,
      cpuSeconds,
      learningCurves: curves,
      timings,
      figures: {
        samples: sampleFigures,
        grid: gridHost,
        fields: fieldFigures,
        points: classes.map((s) => s.x),
      },
      finalLosses: losses,
    };
  } finally {
    for (const o of Object.values(outcomes)) disposeTrained(o.trained);
    grid.dispose();
  }
}
