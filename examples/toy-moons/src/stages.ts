import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import {
  type Key,
  key,
  type Params,
  type ScoreFn,
  split,
  unwrap,
  type VeSde,
  veSde,
} from '@scorekit/core';
import {
  evaluationGrid,
  type PointSet,
  parzenConditionalScores,
  pointsOfClass,
  trainingPointBatches,
  twoMoons,
} from '@scorekit/datasets';
import { type Progress, progressBar } from '@scorekit/example-kit';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import { scoreErrors } from '@scorekit/metrics';
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
import {
  adam,
  disposeTrainState,
  type FitResult,
  fit,
  latestCheckpoint,
  loadCheckpoint,
  type StepInfo,
  type TrainState,
  writeFileAtomic,
} from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import type { ToyConfig } from './config.js';
import { classifierScores, heldOutCrossEntropy } from './scores.js';

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

/**
 * The six models of the experiment, each trained independently of the others except that the
 * classifiers need the unconditional score model `score` (DLSM's frozen score, Chao et al.
 * 2022, eq. 10): stage 1 is the three score models, stage 2 the three classifiers.
 */
export const trainingStages = [
  ['score', 'score-class1', 'score-class2'],
  ['classifier-crossEntropy', 'classifier-dlsm', 'classifier-total'],
] as const;

/** One model of {@link trainingStages}. */
export type TaskId = (typeof trainingStages)[number][number];

/** The models that must be finished before model `id` can train (a classifier needs `score`). */
export const dependenciesOf = (id: TaskId): readonly TaskId[] =>
  id.startsWith('classifier-') ? ['score'] : [];

/** A trained model: its (EMA, for score models) params and buffers. */
export interface Trained {
  readonly model: Model<tf.Tensor2D>;
  readonly vars: ModelVariables;
}

/** What training one model yields: the model, its last loss terms, its learning curve. */
export interface TaskOutcome {
  readonly id: TaskId;
  readonly trained: Trained;
  readonly losses: Readonly<Record<string, number>>;
  readonly curve?: readonly CurvePoint[] | undefined;
  /** Wall seconds of training (summed over interrupted attempts). */
  readonly seconds: number;
  /**
   * CPU seconds (user + system) of the training process during training, summed over
   * attempts: on a shared machine, steps × this / steps is the cost a free core would take.
   */
  readonly cpuSeconds: number;
  /** How it was obtained: trained from scratch, resumed from a checkpoint step, or loaded finished. */
  readonly origin: 'trained' | 'loaded' | { readonly resumedFrom: number };
}

/**
 * Thrown when a run is stopped by its signal (Ctrl-C): which stage, and the step of the
 * checkpoint it can be resumed from (undefined when there is none, e.g. during evaluation).
 */
export class Interrupted extends Error {
  constructor(
    readonly stage: string,
    readonly step?: number,
  ) {
    super(`interrupted during ${stage}${step === undefined ? '' : ` after step ${step}`}`);
    this.name = 'Interrupted';
  }
}

/** Options of {@link trainTask}. */
export interface TaskOptions {
  /** Checkpoint folder of the run (one sub-folder per model); none: train in memory only. */
  readonly dir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The trained unconditional score model (classifiers only; loaded from `dir` if absent). */
  readonly prior?: Trained | undefined;
}

/** The shared data, SDE and keys of a run (everything derives from `cfg.seed`). */
export interface ToySetup {
  readonly data: PointSet;
  readonly classes: readonly PointSet[];
  readonly sde: VeSde;
  readonly keys: { score: Key; perClass: Key[]; classifier: Key; evaluation: Key; curve: Key };
}

/** Builds the data, the training SDE and the keys of every stage from the config. */
export function toySetup(cfg: ToyConfig): ToySetup {
  const [kScore, kPost, kClf, kEval, kCurve] = split(key(cfg.seed), 5) as [Key, Key, Key, Key, Key];
  const data = twoMoons({ nPerClass: cfg.data.perClass, scale: cfg.data.scale });
  return {
    data,
    classes: [pointsOfClass(data, 0), pointsOfClass(data, 1)],
    sde: veSde({ sigmaMin: cfg.sde.sigmaMin, sigmaMax: cfg.sde.sigmaMax }),
    keys: {
      score: kScore,
      perClass: split(kPost, 2),
      // the same initialisation and data order for every classifier objective
      classifier: split(kClf, 3)[0]!,
      evaluation: kEval,
      curve: kCurve,
    },
  };
}

/** Disposes a trained model's tensors. */
export function disposeTrained(t: Trained): void {
  tf.dispose(Object.values(t.vars.params));
  tf.dispose(Object.values(t.vars.buffers));
}

const labels: Record<TaskId, string> = {
  score: 'score model',
  'score-class1': 'score model (class 1)',
  'score-class2': 'score model (class 2)',
  'classifier-crossEntropy': 'classifier (CE)',
  'classifier-dlsm': 'classifier (DLSM)',
  'classifier-total': 'classifier (DLSM+CE)',
};

/** The human name of a model ("classifier (DLSM+CE)"). */
export const taskLabel = (id: TaskId): string => labels[id];

const methodOf = (id: TaskId): ClassifierMethod | undefined =>
  id.startsWith('classifier-') ? (id.slice('classifier-'.length) as ClassifierMethod) : undefined;

/** The classifier learning rate of each objective (method.md §6). */
const lrOf = (cfg: ToyConfig, m: ClassifierMethod) =>
  m === 'crossEntropy'
    ? cfg.classifier.lrCe
    : m === 'dlsm'
      ? cfg.classifier.lrDlsm
      : cfg.classifier.lrTotal;

/**
 * The batches of a model, yielding to the event loop before each one so that a signal
 * (Ctrl-C) or a closed parent channel is seen between two updates.
 */
function yieldingBatches(set: PointSet, batchSize: number, k: Key) {
  return async function* (start: number) {
    const inner = trainingPointBatches(set, { batchSize }, k, start);
    try {
      for (;;) {
        await nextTick();
        const next = inner.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      inner.return(undefined);
    }
  };
}

const cpuSince = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
};

const doneFile = 'done.json';
const lossesFile = 'losses.json';
const curveFile = 'curve.json';

const readJson = async (file: string): Promise<unknown> => {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: unreadable (${(e as Error).message}); remove it or use --overwrite`);
  }
};

interface DoneJson {
  steps: number;
  losses: Record<string, number>;
  curve?: CurvePoint[];
  seconds: number;
  cpuSeconds: number;
}

/** The newest checkpoint of one model, loaded as a train state (or undefined). */
async function loadLatest(
  taskDir: string,
  template: Params,
  lr: number,
): Promise<TrainState | undefined> {
  const path = await unwrap(latestCheckpoint(taskDir));
  if (path === undefined) return undefined;
  const loaded = await unwrap(
    loadCheckpoint(path, { params: template, optimizer: adam({ lr, gradClip: null }) }),
  );
  return loaded.state;
}

/** Whether model `id` is finished in the checkpoint folder `dir` (its `done.json` is there). */
export async function isFinished(cfg: ToyConfig, id: TaskId, dir: string): Promise<boolean> {
  const done = (await readJson(join(dir, id, doneFile))) as DoneJson | undefined;
  return done?.steps === (methodOf(id) ? cfg.classifier.steps : cfg.score.steps);
}

/** Reads a finished model back from its folder, or undefined if it is not finished. */
async function loadFinished(
  cfg: ToyConfig,
  setup: ToySetup,
  id: TaskId,
  taskDir: string,
): Promise<TaskOutcome | undefined> {
  const method = methodOf(id);
  const steps = method ? cfg.classifier.steps : cfg.score.steps;
  const done = (await readJson(join(taskDir, doneFile))) as DoneJson | undefined;
  if (!done || done.steps !== steps) return undefined;
  const { model, init, lr } = modelOf(cfg, setup, id);
  const vars = model.init(init);
  let state: TrainState | undefined;
  try {
    state = await loadLatest(taskDir, vars.params, lr);
  } finally {
    tf.dispose(Object.values(vars.params));
  }
  if (!state || state.step !== steps) {
    if (state) disposeTrainState(state);
    tf.dispose(Object.values(vars.buffers));
    return undefined;
  }
  const source = method ? state.params : (state.ema?.params ?? state.params);
  const params: Record<string, tf.Tensor> = {};
  for (const [n, t] of Object.entries(source)) params[n] = tf.clone(t);
  disposeTrainState(state);
  return {
    id,
    trained: { model, vars: { params, buffers: vars.buffers } },
    losses: done.losses,
    curve: done.curve,
    seconds: done.seconds,
    cpuSeconds: done.cpuSeconds,
    origin: 'loaded',
  };
}

function modelOf(cfg: ToyConfig, setup: ToySetup, id: TaskId) {
  const method = methodOf(id);
  const k = method
    ? setup.keys.classifier
    : id === 'score'
      ? setup.keys.score
      : setup.keys.perClass[id === 'score-class1' ? 0 : 1]!;
  const [init, data, fitKey] = split(k, 3) as [Key, Key, Key];
  return {
    model: method ? toyClassifier({ classes: 2 }) : toyScoreModel(),
    init,
    data,
    fitKey,
    lr: method ? lrOf(cfg, method) : cfg.score.lr,
  };
}

/**
 * Trains one model of the experiment — a score model by DSM with λ(σ) = σ^(2w) (method.md
 * §6), or a classifier by CE, DLSM or DLSM + λ·CE against the frozen score model (Chao et al.
 * 2022, eqs. 9–11) — or, with a checkpoint folder, loads it if it is finished there and
 * otherwise resumes it from its newest checkpoint (training's exact resume: the result is
 * bit-identical to an uninterrupted run). Score models return their EMA weights (the frozen
 * score of DLSM uses the EMA, method.md §2). In learning-curve mode a classifier is trained in
 * chunks of `every` steps and D_L / held-out CE are recorded after each chunk.
 * Throws {@link Interrupted} when `signal` stops it (after a checkpoint, if `dir` is set).
 */
export async function trainTask(
  cfg: ToyConfig,
  setup: ToySetup,
  id: TaskId,
  options: TaskOptions = {},
): Promise<TaskOutcome> {
  const taskDir = options.dir === undefined ? undefined : join(options.dir, id);
  if (taskDir) {
    const finished = await loadFinished(cfg, setup, id, taskDir);
    if (finished) return finished;
    await mkdir(taskDir, { recursive: true });
  }
  const method = methodOf(id);
  const { sde } = setup;
  const { model, init, data: kData, fitKey, lr } = modelOf(cfg, setup, id);
  const set =
    id === 'score-class1'
      ? setup.classes[0]!
      : id === 'score-class2'
        ? setup.classes[1]!
        : setup.data;
  const steps = method ? cfg.classifier.steps : cfg.score.steps;
  const batch = method ? cfg.classifier.batch : cfg.score.batch;
  const vars = model.init(init);
  const owned: tf.Tensor[] = [];
  let prior = options.prior;
  let ownPrior = false;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let state: TrainState | undefined;
  const bar: Progress = progressBar(taskLabel(id), steps, 'step', { quiet: cfg.quiet });
  try {
    let loss: Loss<LabelledBatch>;
    let evaluate: ((params: Params, step: number) => Promise<void>) | undefined;
    let curve: CurvePoint[] | undefined;
    if (method) {
      if (!prior) {
        if (options.dir === undefined) throw new Error(`${id}: needs the trained score model`);
        const got = await loadFinished(cfg, setup, 'score', join(options.dir, 'score'));
        if (!got) throw new Error(`${id}: the score model in ${options.dir} is not finished`);
        prior = got.trained;
        ownPrior = true;
      }
      const priorScore: ScoreFn = bindScore(prior.model, prior.vars, sde);
      loss = classifierObjective(
        { method, lambda: cfg.classifier.lambda, eps: 0, wDlsm: cfg.classifier.w, wCe: 0 },
        {
          sde,
          logits: parametricLogits(model, vars.buffers, sde, { training: true }),
          score: priorScore,
        },
      );
      if (cfg.learningCurve.every > 0) {
        const sigma = cfg.evaluation.sigma;
        const oracle = parzenConditionalScores(setup.data, sigma);
        const gridHost = evaluationGrid(cfg.evaluation.grid);
        const grid = tf.tensor2d(gridHost, [gridHost.length / 2, 2]);
        owned.push(grid);
        const points: CurvePoint[] = [];
        curve = points;
        evaluate = async (params, step) => {
          const logits = bindLogits(model, { params, buffers: {} }, sde);
          const errors = scoreErrors(classifierScores(priorScore, logits, 1), oracle, grid, {
            sigma,
            alpha: 1,
            sde,
          });
          points.push({
            step,
            dL: errors.dL,
            crossEntropy: heldOutCrossEntropy(logits, sde, setup.data, setup.keys.curve),
          });
          if (taskDir)
            await unwrap(writeFileAtomic(join(taskDir, curveFile), JSON.stringify(points)));
        };
      }
    } else {
      loss = dsm({
        sde,
        score: parametricScore(model, vars.buffers, sde, { training: true }),
        eps: 0,
        weighting: 'sigmaPower',
        w: cfg.score.w,
      }) as Loss<LabelledBatch>;
    }

    // where to start: the newest checkpoint, if any (with its learning-curve points)
    let previousSeconds = 0;
    let previousCpu = 0;
    if (taskDir) {
      state = await loadLatest(taskDir, vars.params, lr);
      const partial = (await readJson(join(taskDir, 'seconds.json'))) as
        | { seconds?: unknown; cpuSeconds?: unknown }
        | undefined;
      previousSeconds = typeof partial?.seconds === 'number' ? partial.seconds : 0;
      previousCpu = typeof partial?.cpuSeconds === 'number' ? partial.cpuSeconds : 0;
      if (state && curve) {
        const saved = ((await readJson(join(taskDir, curveFile))) ?? []) as CurvePoint[];
        curve.push(...saved.filter((p) => p.step <= state!.step));
      }
    }
    const every = method && cfg.learningCurve.every > 0 ? cfg.learningCurve.every : steps;
    const atBoundary = (s: number) => s === 0 || s % every === 0 || s === steps;
    const start = state?.step ?? 0;
    if (evaluate && atBoundary(start) && !curve!.some((p) => p.step === start))
      await evaluate(state?.params ?? vars.params, start);
    let last: StepInfo | undefined;
    const onStep = async (info: StepInfo) => {
      bar.update(info.step + 1, `loss ${info.total.toFixed(method ? 4 : 3)}`);
      // the loss terms beside each checkpoint: a run killed after its final checkpoint but
      // before done.json still reports the last update's losses on --resume
      if (taskDir && info.checkpoint)
        await unwrap(
          writeFileAtomic(
            join(taskDir, lossesFile),
            JSON.stringify({ completed: info.step + 1, terms: info.terms }),
          ),
        );
    };
    for (let target = Math.min((Math.floor(start / every) + 1) * every, steps); start < steps; ) {
      const common = {
        loss,
        optimizer: adam({ lr, gradClip: null }),
        batches: yieldingBatches(set, batch, kData),
        steps: target,
        config: cfg,
        signal: options.signal,
        checkpointDir: taskDir,
        checkpointEvery: taskDir ? cfg.checkpointEvery : undefined,
        onStep,
      };
      const result: FitResult = state
        ? await unwrap(fit<LabelledBatch>({ ...common, resume: state }))
        : await unwrap(
            fit<LabelledBatch>({
              ...common,
              params: vars.params,
              key: fitKey,
              ema: method ? undefined : cfg.score.ema,
            }),
          );
      if (state) disposeTrainState(state);
      state = result.state;
      last = result.last ?? last;
      if (result.stopReason === 'aborted') {
        if (taskDir)
          await unwrap(
            writeFileAtomic(
              join(taskDir, 'seconds.json'),
              JSON.stringify({
                seconds: previousSeconds + (performance.now() - started) / 1000,
                cpuSeconds: previousCpu + cpuSince(cpuStart),
              }),
            ),
          );
        throw new Interrupted(taskLabel(id), state.step);
      }
      if (evaluate) await evaluate(state.params, state.step);
      if (target >= steps) break;
      target = Math.min(target + every, steps);
    }
    bar.finish(last ? `loss ${last.total.toFixed(method ? 4 : 3)}` : '');
    const source = state
      ? method
        ? state.params
        : (state.ema?.params ?? state.params)
      : vars.params;
    const params: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(source)) params[n] = tf.clone(t);
    const seconds = previousSeconds + (performance.now() - started) / 1000;
    const cpuSeconds = previousCpu + cpuSince(cpuStart);
    // a resumed run whose last update happened before the interruption has no `last`: keep the saved one
    let losses: Record<string, number> = { ...(last?.terms ?? {}) };
    if (!last && taskDir) {
      const saved = (await readJson(join(taskDir, lossesFile))) as
        | { completed?: number; terms?: Record<string, number> }
        | undefined;
      if (saved?.completed === steps && saved.terms) losses = saved.terms;
    }
    if (taskDir) {
      const done: DoneJson = { steps, losses, seconds, cpuSeconds, ...(curve ? { curve } : {}) };
      await unwrap(writeFileAtomic(join(taskDir, doneFile), `${JSON.stringify(done)}\n`));
    }
    return {
      id,
      trained: { model, vars: { params, buffers: vars.buffers } },
      losses,
      curve,
      seconds,
      cpuSeconds,
      origin: start > 0 ? { resumedFrom: start } : 'trained',
    };
  } catch (e) {
    tf.dispose(Object.values(vars.buffers));
    throw e;
  } finally {
    if (state) disposeTrainState(state);
    tf.dispose(Object.values(vars.params));
    tf.dispose(owned);
    if (ownPrior && prior) disposeTrained(prior);
  }
}
