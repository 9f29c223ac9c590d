import {
  type Key,
  key,
  type LogitsFn,
  likelihoodScore,
  logLikelihoodAtLabels,
  normalArray,
  type Params,
  permutation,
  type ScoreFn,
  split,
  uniformArray,
  unwrap,
  type VeSde,
  veSde,
  veTime,
} from '@scorekit/core';
import { syncReadPhase } from '@scorekit/core/node';
import {
  evaluationGrid,
  type PointSet,
  parzenScore,
  pointsOfClass,
  trainingPointBatches,
  twoMoons,
} from '@scorekit/datasets';
import { type Progress, progressBar } from '@scorekit/example-kit';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import { type ConditionalScores, featureSet, prdc, scoreErrors } from '@scorekit/metrics';
import {
  bindLogits,
  bindScore,
  type Model,
  type ModelVariables,
  parametricLogits,
  parametricScore,
  toyClassifier,
  toyScoreModel,
} from '@scorekit/models';
import { pcSampler } from '@scorekit/samplers';
import { adam, type FitResult, fit, type TrainState } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import type { ToyConfig } from './config.js';
import type { ClassScores, MethodResult } from './report.js';

/** The classifier objectives of the toy experiment (Chao et al. 2022, §5.1). */
export type ClassifierMethod = 'crossEntropy' | 'dlsm' | 'total';

/** A learning-curve point of one classifier (the paper's Fig. 5). */
export interface CurvePoint {
  readonly step: number;
  /** D_L averaged over both classes at the evaluation σ (α = 1). */
  readonly dL: number;
  /** Cross-entropy of the classifier on held-out noisy points (σ log-uniform). */
  readonly crossEntropy: number;
}

/** Everything a run produces, before it is written to disk. */
export interface ToyRun {
  readonly results: readonly MethodResult[];
  readonly learningCurves: Readonly<Partial<Record<ClassifierMethod, readonly CurvePoint[]>>>;
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
}

interface Trained {
  readonly model: Model<tf.Tensor2D>;
  readonly vars: ModelVariables;
}

const now = () => performance.now() / 1000;

function disposeTrained(t: Trained): void {
  tf.dispose(Object.values(t.vars.params));
  tf.dispose(Object.values(t.vars.buffers));
}

function disposeState(s: TrainState): void {
  tf.dispose(Object.values(s.params));
  for (const slot of Object.values(s.optimizer.slots)) tf.dispose(Object.values(slot));
  if (s.ema) tf.dispose(Object.values(s.ema.params));
}

function trainingBar(cfg: ToyConfig, label: string, steps: number): Progress {
  return progressBar(label, steps, 'step', { quiet: cfg.quiet });
}

/**
 * Trains a toy score model with DSM, λ(σ) = σ^(2w) (method.md §6), and returns its EMA
 * weights (the frozen score of DLSM uses the EMA, method.md §2).
 */
async function trainScoreModel(
  cfg: ToyConfig,
  sde: VeSde,
  data: PointSet,
  k: Key,
  label: string,
  losses: Record<string, Record<string, number>>,
  signal?: AbortSignal,
): Promise<Trained> {
  const [kInit, kData, kFit] = split(k, 3) as [Key, Key, Key];
  const model = toyScoreModel();
  const vars = model.init(kInit);
  const loss = dsm({
    sde,
    score: parametricScore(model, vars.buffers, sde, { training: true }),
    eps: 0,
    weighting: 'sigmaPower',
    w: cfg.score.w,
  }) as Loss<LabelledBatch>;
  const bar = trainingBar(cfg, label, cfg.score.steps);
  const result = await unwrap(
    fit<LabelledBatch>({
      loss,
      optimizer: adam({ lr: cfg.score.lr, gradClip: null }),
      batches: (start) => trainingPointBatches(data, { batchSize: cfg.score.batch }, kData, start),
      steps: cfg.score.steps,
      params: vars.params,
      key: kFit,
      ema: cfg.score.ema,
      config: cfg,
      signal,
      onStep: (info) => bar.update(info.step + 1, `loss ${info.total.toFixed(3)}`),
    }),
  );
  bar.finish(result.last ? `loss ${result.last.total.toFixed(3)}` : '');
  losses[label] = result.last?.terms ?? {};
  const emaParams = result.state.ema?.params ?? result.state.params;
  const params: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(emaParams)) params[n] = tf.clone(t);
  disposeState(result.state);
  tf.dispose(Object.values(vars.params));
  return { model, vars: { params, buffers: vars.buffers } };
}

/** The classifier learning rate of each objective (method.md §6). */
const lrOf = (cfg: ToyConfig, m: ClassifierMethod) =>
  m === 'crossEntropy'
    ? cfg.classifier.lrCe
    : m === 'dlsm'
      ? cfg.classifier.lrDlsm
      : cfg.classifier.lrTotal;

/**
 * Trains a noise-conditioned toy classifier with CE ("base"), DLSM alone, or DLSM + λ·CE
 * ("ours") against the frozen score model (Chao et al. 2022, eqs. 9–11). In learning-curve
 * mode the training is run in chunks of `every` steps (fit resumes exactly) and `evaluate`
 * is called on the params after each chunk.
 */
async function trainClassifier(
  cfg: ToyConfig,
  sde: VeSde,
  data: PointSet,
  score: ScoreFn,
  method: ClassifierMethod,
  k: Key,
  losses: Record<string, Record<string, number>>,
  evaluate?: (model: Model<tf.Tensor2D>, params: Params, step: number) => void,
  signal?: AbortSignal,
): Promise<Trained> {
  const [kInit, kData, kFit] = split(k, 3) as [Key, Key, Key];
  const model = toyClassifier({ classes: 2 });
  const vars = model.init(kInit);
  const loss = classifierObjective(
    { method, lambda: cfg.classifier.lambda, eps: 0, wDlsm: cfg.classifier.w, wCe: 0 },
    { sde, logits: parametricLogits(model, vars.buffers, sde, { training: true }), score },
  );
  const steps = cfg.classifier.steps;
  const every = cfg.learningCurve.every > 0 ? cfg.learningCurve.every : steps;
  const label = {
    crossEntropy: 'classifier (CE)',
    dlsm: 'classifier (DLSM)',
    total: 'classifier (DLSM+CE)',
  }[method];
  const bar = trainingBar(cfg, label, steps);
  if (evaluate) evaluate(model, vars.params, 0);
  let state: TrainState | undefined;
  let last: FitResult['last'];
  for (let target = Math.min(every, steps); ; target = Math.min(target + every, steps)) {
    const common = {
      loss,
      optimizer: adam({ lr: lrOf(cfg, method), gradClip: null }),
      batches: (start: number) =>
        trainingPointBatches(data, { batchSize: cfg.classifier.batch }, kData, start),
      steps: target,
      config: cfg,
      signal,
      onStep: (info: { step: number; total: number }) =>
        bar.update(info.step + 1, `loss ${info.total.toFixed(4)}`),
    };
    const result: FitResult = state
      ? await unwrap(fit<LabelledBatch>({ ...common, resume: state }))
      : await unwrap(fit<LabelledBatch>({ ...common, params: vars.params, key: kFit }));
    if (state) disposeState(state);
    state = result.state;
    last = result.last ?? last;
    if (evaluate && target > 0) evaluate(model, state.params, target);
    if (target >= steps) break;
  }
  bar.finish(last ? `loss ${last.total.toFixed(4)}` : '');
  losses[label] = last?.terms ?? {};
  const params: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(state!.params)) params[n] = tf.clone(t);
  disposeState(state!);
  tf.dispose(Object.values(vars.params));
  return { model, vars: { params, buffers: vars.buffers } };
}

/** A classifier-based conditional model S_P = α g + s (Chao et al. 2022, eq. 4), over t. */
function classifierScores(prior: ScoreFn, logits: LogitsFn, alpha: number): ConditionalScores {
  const likelihood = likelihoodScore(logits);
  return {
    likelihood,
    posterior: (x, t, y) => tf.tidy(() => tf.add(prior(x, t), tf.mul(alpha, likelihood(x, t, y)))),
  };
}

/** Posterior score matching: one score model per class; its implied likelihood is s_y − s. */
function posteriorScores(prior: ScoreFn, perClass: readonly ScoreFn[]): ConditionalScores {
  // every evaluation batch is of one class (scoreErrors and the samplers label whole batches)
  const pick = (x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D) => perClass[y.dataSync()[0]!]!(x, t);
  return {
    posterior: pick,
    likelihood: (x, t, y) => tf.tidy(() => tf.sub(pick(x, t, y), prior(x, t))),
  };
}

/** The exact scores of the σ-smoothed empirical densities (method.md §6). */
function oracleConditionalScores(
  data: PointSet,
  classes: readonly PointSet[],
  sigma: number,
): ConditionalScores {
  const at = (y: tf.Tensor1D) => classes[y.dataSync()[0]!]!;
  return {
    posterior: (x, _t, y) => parzenScore(at(y), x as tf.Tensor2D, sigma),
    likelihood: (x, _t, y) =>
      tf.tidy(() =>
        tf.sub(
          parzenScore(at(y), x as tf.Tensor2D, sigma),
          parzenScore(data, x as tf.Tensor2D, sigma),
        ),
      ),
  };
}

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

/** Cross-entropy of a classifier on held-out noisy points (for the learning curves). */
function heldOutCrossEntropy(
  logits: LogitsFn,
  sde: VeSde,
  data: PointSet,
  k: Key,
  n = 2000,
): number {
  return tf.tidy(() => {
    const [kIdx, kT, kZ] = split(k, 3) as [Key, Key, Key];
    const idx = Array.from(permutation(kIdx, data.count).subarray(0, Math.min(n, data.count)));
    const m = idx.length;
    const x = tf.tensor2d(
      idx.flatMap((i) => [data.x[2 * i]!, data.x[2 * i + 1]!]),
      [m, 2],
    );
    const y = tf.tensor1d(
      idx.map((i) => data.labels[i]!),
      'int32',
    );
    const t = tf.tensor1d(uniformArray(kT, m)); // σ(t) log-uniform, as in training
    const sigma = sde.marginalStd(t);
    const xt = tf.add(
      x,
      tf.mul(tf.reshape(sigma, [-1, 1]), tf.tensor2d(normalArray(kZ, 2 * m), [m, 2])),
    );
    return -tf.mean(logLikelihoodAtLabels(logits(xt, t), y)).dataSync()[0]!;
  });
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
  const losses: Record<string, Record<string, number>> = {};
  const root = key(cfg.seed);
  const [kScore, kPost, kClf, kEval, kCurve] = split(root, 5) as [Key, Key, Key, Key, Key];
  const data = twoMoons({ nPerClass: cfg.data.perClass, scale: cfg.data.scale });
  const classes = [pointsOfClass(data, 0), pointsOfClass(data, 1)];
  const sde = veSde({ sigmaMin: cfg.sde.sigmaMin, sigmaMax: cfg.sde.sigmaMax });
  const sigma = cfg.evaluation.sigma;
  const tEval = veTime(cfg.sde.sigmaMin, cfg.sde.sigmaMax, sigma);
  log(
    `two moons: ${data.count} points; σ ∈ [${cfg.sde.sigmaMin}, ${cfg.sde.sigmaMax}] log-uniform; evaluation at σ = ${sigma} (t = ${tEval.toFixed(4)})`,
  );

  const owned: Trained[] = [];
  const gridHost = evaluationGrid(cfg.evaluation.grid);
  const grid = tf.tensor2d(gridHost, [gridHost.length / 2, 2]);
  try {
    // 1. score models (stage 1)
    let t0 = now();
    const scoreModel = await trainScoreModel(cfg, sde, data, kScore, 'score model', losses, signal);
    owned.push(scoreModel);
    timings['score model'] = now() - t0;
    t0 = now();
    const kPosts = split(kPost, 2);
    const classScoreModels: Trained[] = [];
    for (const c of [0, 1]) {
      const m = await trainScoreModel(
        cfg,
        sde,
        classes[c]!,
        kPosts[c]!,
        `score model (class ${c + 1})`,
        losses,
        signal,
      );
      owned.push(m);
      classScoreModels.push(m);
    }
    timings['posterior score models'] = now() - t0;
    const prior = bindScore(scoreModel.model, scoreModel.vars, sde);

    // 2. classifiers against the frozen score model (stage 2)
    const oracle = oracleConditionalScores(data, classes, sigma);
    const curves: Partial<Record<ClassifierMethod, CurvePoint[]>> = {};
    const methods: ClassifierMethod[] = ['crossEntropy', 'dlsm', 'total'];
    const classifiers: Partial<Record<ClassifierMethod, Trained>> = {};
    const kClfs = split(kClf, 3);
    const clfInit = kClfs[0]!; // the same initialisation and data order for every objective
    for (const method of methods) {
      t0 = now();
      let evaluate: ((model: Model<tf.Tensor2D>, params: Params, step: number) => void) | undefined;
      if (cfg.learningCurve.every > 0) {
        const points: CurvePoint[] = [];
        curves[method] = points;
        evaluate = (model, params, step) => {
          const logits = bindLogits(model, { params, buffers: {} }, sde);
          const errors = scoreErrors(classifierScores(prior, logits, 1), oracle, grid, {
            sigma,
            alpha: 1,
            sde,
          });
          points.push({
            step,
            dL: errors.dL,
            crossEntropy: heldOutCrossEntropy(logits, sde, data, kCurve),
          });
        };
      }
      const trained = await trainClassifier(
        cfg,
        sde,
        data,
        prior,
        method,
        clfInit,
        losses,
        evaluate,
        signal,
      );
      owned.push(trained);
      classifiers[method] = trained;
      timings[`classifier (${method})`] = now() - t0;
    }

    // 3. evaluation (its metrics read synchronously: on webgpu it continues on wasm)
    const switched = await syncReadPhase([
      grid,
      ...owned.flatMap((t) => [...Object.values(t.vars.params), ...Object.values(t.vars.buffers)]),
    ]);
    if (switched) log(switched);
    t0 = now();
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
    const kRefs = split(kEval, 2);
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
          const samples = await sampleAtSigma(
            cfg,
            cand.scores,
            c,
            errors.time,
            split(kSamples[i]!, 2)[c]!,
            signal,
          );
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
    for (const t of owned) disposeTrained(t);
    grid.dispose();
  }
}
