import {
  type ConditionalScoreFn,
  fold,
  type Key,
  key,
  type LogitsFn,
  likelihoodScore,
  type Params,
  type ScoreFn,
  split,
  type VeSde,
  veSde,
} from '@scorekit/core';
import {
  disposeOracle,
  evaluationGrid,
  type OracleScores,
  oracleScores,
  type PointBatch,
  type PointSet,
  pointsOfClass,
  trainingPointBatches,
  twoMoons,
} from '@scorekit/datasets';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import { meanScoreDistance, timeOfStd } from '@scorekit/metrics';
import {
  type Buffers,
  bindLogits,
  bindScore,
  parametricLogits,
  parametricScore,
  toyClassifier,
  toyScoreModel,
} from '@scorekit/models';
import { classifierGuidance, pcSampler } from '@scorekit/samplers';
import {
  adam,
  disposeEma,
  type Ema,
  emaInit,
  emaUpdate,
  lossAndGrads,
  type Optimizer,
  type OptimizerState,
} from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';

/** The training settings of a playground session (fixed until the next reset). */
export interface SessionConfig {
  readonly seed: number;
  /** Points per class of the two moons (5000 in the paper), scaled by 20. */
  readonly perClass: number;
  /** DSM steps of the unconditional score model (stage 1). */
  readonly scoreSteps: number;
  /** Steps of each classifier (stage 2): CE and DLSM + λ·CE train side by side. */
  readonly classifierSteps: number;
  /** λ of L_DLSM + λ L_CE (0.125 for the toy, method.md §2). */
  readonly lambda: number;
  /** D_L is evaluated every this many classifier steps (the Fig. 5 curves). */
  readonly every: number;
  /** Batch size of every model (512 on the page; the paper's 4000 is too slow for a tab). */
  readonly batch: number;
  /** Langevin steps of the guided samples (150 as in the toy CLI's quick preset). */
  readonly samplerSteps: number;
}

/** One point of a classifier's D_L curve (Chao et al. 2022, Fig. 5). */
export interface CurvePoint {
  readonly step: number;
  readonly dL: number;
}

/** The two classifiers of the page. */
export type ClassifierName = 'crossEntropy' | 'total';

/** The training phase of a session. */
export type Phase = 'score' | 'classifiers' | 'done';

/**
 * The fixed hyper-parameters of the page, from the toy CLI's `quick` preset (method.md §6
 * with fewer steps and raised learning rates): Adam, score lr 6.5e-4, EMA 0.99,
 * DSM and DLSM weighting σ^(2w) with w = 2, classifier lr 1e-3, σ log-uniform in [1e-3, 10].
 */
export const fixed = {
  scoreLr: 6.5e-4,
  ema: 0.99,
  w: 2,
  classifierLr: 1e-3,
  sigmaMin: 1e-3,
  sigmaMax: 10,
  scale: 20,
  /** Grid points per axis of D_L on [−40, 40] × [−25, 25] (35 in the paper). */
  grid: 35,
  /** Samples per class of the guided samples. */
  samples: 300,
} as const;

interface Trainee {
  readonly loss: Loss<LabelledBatch>;
  readonly optimizer: Optimizer;
  readonly key: Key;
  params: Params;
  state: OptimizerState;
  batches: Generator<PointBatch>;
}

function disposeParams(p: Params): void {
  tf.dispose(Object.values(p));
}

function disposeTrainee(t: Trainee): void {
  disposeParams(t.params);
  for (const slot of Object.values(t.state.slots)) disposeParams(slot);
}

/** Host copies of what the page draws, at one σ, α and class. */
export interface Fields {
  readonly sigma: number;
  readonly alpha: number;
  readonly label: number;
  /** Arrow origins [n², 2]. */
  readonly grid: Float32Array;
  /** α ∇ log p(y|x̃, σ) per arrow [n², 2]: the oracle's (α = 1) and each classifier's. */
  readonly oracle: Float32Array;
  readonly crossEntropy: Float32Array | null;
  readonly total: Float32Array | null;
}

/**
 * The two-moons experiment of Chao et al. 2022 (§5.1, Fig. 5), one step at a time so a page can
 * run it between frames: DSM training of the unconditional score model (its EMA weights are the
 * frozen score), then a CE classifier and a DLSM + λ·CE classifier trained side by side from the
 * same initialisation on the same batches, with D_L = ‖α g − oracle likelihood score‖ averaged
 * over the 35×35 grid, and guided Langevin samples at σ. Owns every tensor it creates;
 * {@link Session.dispose} frees them all.
 */
export class Session {
  readonly config: SessionConfig;
  readonly data: PointSet;
  readonly classes: readonly PointSet[];
  readonly sde: VeSde;
  phase: Phase = 'score';
  /** Steps done in the current phase. */
  step = 0;
  /** The latest loss of each model. */
  readonly losses: Record<string, number> = {};
  /** D_L (α = 1) at {@link curveSigma} over classifier steps, per classifier. */
  curves: Record<ClassifierName, CurvePoint[]> = { crossEntropy: [], total: [] };
  curveSigma: number;
  private readonly grid: tf.Tensor2D;
  /** The oracle scores on {@link grid} at {@link curveSigma} (method.md §6), computed once per σ. */
  private oracle: OracleScores;
  private readonly scoreModel = toyScoreModel();
  private readonly scoreBuffers: Buffers;
  private score: Trainee;
  private ema: Ema;
  private readonly clfModel = toyClassifier({ classes: 2 });
  private readonly clfBuffers: Buffers[] = [];
  private classifiers: Partial<Record<ClassifierName, Trainee>> = {};
  private readonly kClf: Key;
  private disposed = false;

  constructor(config: SessionConfig, sigma: number) {
    this.config = config;
    this.curveSigma = sigma;
    this.data = twoMoons({ nPerClass: config.perClass, scale: fixed.scale });
    this.classes = [pointsOfClass(this.data, 0), pointsOfClass(this.data, 1)];
    this.sde = veSde({ sigmaMin: fixed.sigmaMin, sigmaMax: fixed.sigmaMax });
    const gridHost = evaluationGrid(fixed.grid);
    this.grid = tf.tensor2d(gridHost, [gridHost.length / 2, 2]);
    this.oracle = oracleScores(this.data, this.grid, sigma);
    const [kScore, kClf] = split(key(config.seed), 2) as [Key, Key];
    this.kClf = kClf;
    const [kInit, kData, kFit] = split(kScore, 3) as [Key, Key, Key];
    const vars = this.scoreModel.init(kInit);
    this.scoreBuffers = vars.buffers;
    const loss = dsm({
      sde: this.sde,
      score: parametricScore(this.scoreModel, vars.buffers, this.sde, { training: true }),
      eps: 0,
      weighting: 'sigmaPower',
      w: fixed.w,
    }) as Loss<LabelledBatch>;
    const optimizer = adam({ lr: fixed.scoreLr, gradClip: null });
    this.score = {
      loss,
      optimizer,
      key: kFit,
      params: vars.params,
      state: optimizer.init(vars.params),
      batches: trainingPointBatches(this.data, { batchSize: this.config.batch }, kData, 0),
    };
    this.ema = emaInit(vars.params, fixed.ema);
    if (config.scoreSteps === 0) this.startClassifiers();
  }

  /** The frozen score model s(x̃, σ; φ): the EMA weights (method.md §2). */
  private prior(): ScoreFn {
    return bindScore(
      this.scoreModel,
      { params: this.ema.params, buffers: this.scoreBuffers },
      this.sde,
    );
  }

  private logits(name: ClassifierName): LogitsFn | null {
    const t = this.classifiers[name];
    return t ? bindLogits(this.clfModel, { params: t.params, buffers: {} }, this.sde) : null;
  }

  private startClassifiers(): void {
    const [kInit, kData, kFit] = split(this.kClf, 3) as [Key, Key, Key];
    const prior = this.prior();
    for (const name of ['crossEntropy', 'total'] as const) {
      // the same initialisation and data order for both objectives
      const vars = this.clfModel.init(kInit);
      this.clfBuffers.push(vars.buffers);
      const loss = classifierObjective(
        { method: name, lambda: this.config.lambda, eps: 0, wDlsm: fixed.w, wCe: 0 },
        {
          sde: this.sde,
          logits: parametricLogits(this.clfModel, vars.buffers, this.sde, { training: true }),
          score: prior,
        },
      );
      const optimizer = adam({ lr: fixed.classifierLr, gradClip: null });
      this.classifiers[name] = {
        loss,
        optimizer,
        key: kFit,
        params: vars.params,
        state: optimizer.init(vars.params),
        batches: trainingPointBatches(this.data, { batchSize: this.config.batch }, kData, 0),
      };
    }
    this.phase = this.config.classifierSteps > 0 ? 'classifiers' : 'done';
    this.step = 0;
    this.evaluateCurves();
  }

  /** One Adam step of a trainee on its next batch; returns the loss. */
  private async trainStep(t: Trainee, step: number): Promise<number> {
    const batch = t.batches.next().value as PointBatch;
    let total: tf.Scalar;
    try {
      const out = lossAndGrads(t.loss, t.params, { x: batch.x, y: batch.y }, fold(t.key, step));
      total = out.total;
      const next = t.optimizer.update(out.grads, t.state, t.params, step);
      tf.dispose([...Object.values(out.grads), ...Object.values(out.terms)]);
      disposeTrainee(t);
      t.params = next.params;
      t.state = next.state;
    } finally {
      tf.dispose([batch.x, batch.y]);
    }
    const value = (await total.data())[0]!;
    total.dispose();
    return value;
  }

  /**
   * Runs one step of the current phase: a DSM step of the score model (and its EMA), or one
   * step of each classifier. Returns false when there is nothing left to train.
   */
  async tick(): Promise<boolean> {
    if (this.disposed) throw new Error('Session.tick: the session is disposed');
    if (this.phase === 'score') {
      this.losses['score (DSM)'] = await this.trainStep(this.score, this.step);
      const next = emaUpdate(this.ema, this.score.params);
      disposeEma(this.ema);
      this.ema = next;
      this.step++;
      if (this.step >= this.config.scoreSteps) this.startClassifiers();
      return true;
    }
    if (this.phase === 'classifiers') {
      this.losses['CE'] = await this.trainStep(this.classifiers.crossEntropy!, this.step);
      this.losses['DLSM + λ·CE'] = await this.trainStep(this.classifiers.total!, this.step);
      this.step++;
      if (this.step % this.config.every === 0 || this.step >= this.config.classifierSteps)
        this.evaluateCurves();
      if (this.step >= this.config.classifierSteps) this.phase = 'done';
      return true;
    }
    return false;
  }

  /** Restarts the D_L curves at a new σ (their points so far were at the old one). */
  setCurveSigma(sigma: number): void {
    if (sigma === this.curveSigma) return;
    this.curveSigma = sigma;
    disposeOracle(this.oracle);
    this.oracle = oracleScores(this.data, this.grid, sigma);
    this.curves = { crossEntropy: [], total: [] };
    if (this.phase !== 'score') this.evaluateCurves();
  }

  /**
   * Appends D_L = mean over the 35×35 grid of ‖g − oracle likelihood score‖ (α = 1, averaged
   * over both classes; Chao et al. 2022, §5.1) of each classifier at the current step.
   */
  /** The VE time t with σ(t) = {@link curveSigma}: the scores are functions of t. */
  private get curveTime(): number {
    return timeOfStd(this.sde, this.curveSigma);
  }

  private evaluateCurves(): void {
    const n = this.grid.shape[0];
    for (const name of ['crossEntropy', 'total'] as const) {
      const likelihood = likelihoodScore(this.logits(name)!); // over t, like meanScoreDistance
      let sum = 0;
      for (const c of [0, 1]) {
        const oracle: ConditionalScoreFn = (x) => {
          if (x.shape[0] !== n)
            throw new Error('evaluateCurves: the oracle is cached on the grid only');
          return tf.clone(this.oracle.likelihood[c]!);
        };
        sum += meanScoreDistance(likelihood, oracle, this.grid, c, this.curveTime, {
          batchSize: n,
        });
      }
      this.curves[name].push({ step: this.step, dL: sum / 2 });
    }
  }

  /**
   * The likelihood fields α ∇ log p(y = label | x̃, σ) of both classifiers (once they exist)
   * and the oracle's ∇ log p_σ(y | x̃) on an `n`×round(n·5/8) grid over [−40, 40] × [−25, 25].
   */
  fields(sigma: number, alpha: number, label: number, n = 21): Fields {
    const gridHost = evaluationGrid(n);
    const ny = Math.round((n * 5) / 8);
    const rows: number[] = [];
    const gy = evaluationGrid(ny);
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < n; i++) rows.push(gridHost[2 * i]!, gy[2 * j * ny + 1]!);
    const grid = Float32Array.from(rows);
    const count = grid.length / 2;
    const time = timeOfStd(this.sde, sigma); // the scores are functions of t
    const at = (f: (x: tf.Tensor2D, t: tf.Tensor1D, y: tf.Tensor1D) => tf.Tensor) =>
      tf.tidy(() => {
        const x = tf.tensor2d(grid, [count, 2]);
        const y = tf.fill([count], label, 'int32') as tf.Tensor1D;
        const t = tf.fill([count], time) as tf.Tensor1D;
        return f(x, t, y);
      });
    const host = (t: tf.Tensor) => {
      const out = Float32Array.from(t.dataSync());
      t.dispose();
      return out;
    };
    const oracle = host(
      at((x) => {
        const o = oracleScores(this.data, x, sigma);
        const out = tf.clone(o.likelihood[label]!);
        disposeOracle(o);
        return out;
      }),
    );
    const field = (name: ClassifierName) => {
      const logits = this.logits(name);
      if (!logits) return null;
      return host(at((x, t, y) => tf.mul(alpha, likelihoodScore(logits)(x, t, y))));
    };
    return {
      sigma,
      alpha,
      label,
      grid,
      oracle,
      crossEntropy: field('crossEntropy'),
      total: field('total'),
    };
  }

  /**
   * Class-conditional samples of p_σ(x̃ | y = label) with the guided score S_P = s + α g of a
   * classifier (Chao et al. 2022, eq. 4), drawn as the toy CLI does: the samplers package's
   * predictor–corrector sampler as Langevin dynamics at one noise level (predictor 'none',
   * corrector 'langevin', snr 0.16) on a VE SDE whose σ range is [σ, σ(1 + 1e-6)]. Returns
   * the samples on the host [n, 2], or null before the classifier exists.
   */
  async samples(
    name: ClassifierName,
    sigma: number,
    alpha: number,
    label: number,
    seed: number,
  ): Promise<Float32Array | null> {
    const logits = this.logits(name);
    if (!logits) return null;
    const n = fixed.samples;
    const levelSde = veSde({
      sigmaMin: sigma,
      sigmaMax: sigma * (1 + 1e-6),
      N: this.config.samplerSteps,
    });
    const y = tf.fill([n], label, 'int32') as tf.Tensor1D;
    const posterior = classifierGuidance(this.prior(), logits, y, { scale: alpha });
    // every step uses the posterior score at σ: the training SDE's t of σ, not the sampler's t
    const t = tf.fill([n], timeOfStd(this.sde, sigma)) as tf.Tensor1D;
    try {
      const out = await pcSampler(
        (x) => posterior(x, t),
        levelSde,
        {
          shape: [n, 2],
          predictor: 'none',
          corrector: 'langevin',
          snr: 0.16,
          nStepsEach: 1,
          denoise: false,
          eps: 1e-3,
        },
        fold(key(seed), label),
      );
      out.xMean.dispose();
      const host = Float32Array.from(await out.samples.data());
      out.samples.dispose();
      return host;
    } finally {
      tf.dispose([y, t]);
    }
  }

  /** Frees every tensor of the session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeTrainee(this.score);
    disposeEma(this.ema);
    for (const t of Object.values(this.classifiers)) if (t) disposeTrainee(t);
    disposeParams(this.scoreBuffers);
    for (const b of this.clfBuffers) disposeParams(b);
    this.grid.dispose();
    disposeOracle(this.oracle);
  }
}
