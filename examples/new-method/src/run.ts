import {
  type ConditionalScoreFn,
  type Key,
  key,
  type LogitsFn,
  likelihoodScore,
  type ParametricFn,
  type Params,
  type ScoreFn,
  split,
  unwrap,
  type VeSde,
  veSde,
} from '@scorekit/core';
import {
  type PointSet,
  parzenConditionalScores,
  trainingPointBatches,
  twoMoons,
} from '@scorekit/datasets';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import { type ConditionalScores, scoreErrorGrid, scoreErrors } from '@scorekit/metrics';
import {
  bindLogits,
  bindScore,
  type Model,
  parametricLogits,
  parametricScore,
  toyClassifier,
  toyScoreModel,
} from '@scorekit/models';
import { classifierGuidance, pcSampler } from '@scorekit/samplers';
import { adam, disposeTrainState, fit } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { clippedGuidance } from './clippedGuidance.js';
import { newObjective } from './confidencePenalty.js';

/** The size of a run of the guide. */
export interface NewMethodConfig {
  readonly seed: number;
  /** Two-moons points per class (the paper: 5000). */
  readonly perClass: number;
  readonly scoreSteps: number;
  readonly classifierSteps: number;
  readonly batch: number;
  /** Points per side of the D_L grid on [−40, 40] × [−25, 25] (the paper: 35). */
  readonly grid: number;
  readonly samplesPerClass: number;
  /** PC sampler steps N. */
  readonly samplerSteps: number;
}

/** The test size: every number below is computed, in about a minute on two CPU cores. */
export const testSize: NewMethodConfig = {
  seed: 0,
  perClass: 300,
  scoreSteps: 300,
  classifierSteps: 150,
  batch: 128,
  grid: 9,
  samplesPerClass: 100,
  samplerSteps: 60,
};

/** What a run measured (and printed). */
export interface NewMethodResult {
  /** Mean of the new objective's total and terms over the first and the last 10 steps. */
  readonly lossFirst: Readonly<Record<string, number>>;
  readonly lossLast: Readonly<Record<string, number>>;
  /** Classifier forward passes in one evaluation of the three-term objective. */
  readonly forwardPasses: number;
  /** D_L at σ = 7.5, α = 1, against the Parzen oracle (Chao et al. 2022, §5.1). */
  readonly dL: {
    readonly untrained: number;
    readonly paper: number;
    readonly newObjective: number;
  };
  /** Fraction of guided samples whose nearest data point has the requested label. */
  readonly onRequestedMoon: { readonly bayes: number; readonly clipped: number };
  /** The lines printed, in order. */
  readonly lines: readonly string[];
}

const SIGMA = 7.5;

async function train(
  loss: Loss<LabelledBatch>,
  init: Params,
  data: PointSet,
  cfg: NewMethodConfig,
  steps: number,
  k: Key,
  ema?: number,
): Promise<{ params: Params; log: Record<string, number>[] }> {
  const [kData, kFit] = split(k, 2) as [Key, Key];
  const log: Record<string, number>[] = [];
  const result = await unwrap(
    fit<LabelledBatch>({
      loss,
      optimizer: adam({ lr: 2e-3, gradClip: null }),
      batches: (start) => trainingPointBatches(data, { batchSize: cfg.batch }, kData, start),
      steps,
      params: init,
      key: kFit,
      ...(ema === undefined ? {} : { ema }),
      config: cfg,
      onStep: (info) => {
        log.push({ total: info.total, ...info.terms });
      },
    }),
  );
  const kept = result.state.ema?.params ?? result.state.params;
  const params = Object.fromEntries(Object.entries(kept).map(([n, t]) => [n, tf.clone(t)]));
  disposeTrainState(result.state);
  return { params, log };
}

const meanOf = (rows: readonly Record<string, number>[]) => {
  const out: Record<string, number> = {};
  for (const name of Object.keys(rows[0]!))
    out[name] = rows.reduce((s, r) => s + r[name]!, 0) / rows.length;
  return out;
};

/** The conditional model S_P = s + g of a classifier, over the SDE's time. */
function classifierScores(prior: ScoreFn, logits: LogitsFn): ConditionalScores {
  const likelihood: ConditionalScoreFn = likelihoodScore(logits);
  return {
    likelihood,
    posterior: (x, t, y) => tf.tidy(() => tf.add(prior(x, t), likelihood(x, t, y))),
  };
}

/** Fraction of `samples` [n, 2] whose nearest data point has label `c`. */
function onMoon(samples: tf.Tensor, data: PointSet, c: number): number {
  const s = samples.dataSync();
  let hits = 0;
  for (let i = 0; i < s.length / 2; i++) {
    let best = Number.POSITIVE_INFINITY;
    let label = -1;
    for (let j = 0; j < data.count; j++) {
      const d = (s[2 * i]! - data.x[2 * j]!) ** 2 + (s[2 * i + 1]! - data.x[2 * j + 1]!) ** 2;
      if (d < best) [best, label] = [d, data.labels[j]!];
    }
    if (label === c) hits++;
  }
  return hits / (s.length / 2);
}

async function guidedOnMoon(
  guide: (c: number) => ScoreFn,
  sde: VeSde,
  data: PointSet,
  cfg: NewMethodConfig,
  k: Key,
): Promise<number> {
  let total = 0;
  for (const c of [0, 1]) {
    const shape = [cfg.samplesPerClass, 2];
    const out = await pcSampler(guide(c), sde, { shape, N: cfg.samplerSteps }, split(k, 2)[c]!);
    total += onMoon(out.samples, data, c) / 2;
    tf.dispose([out.samples, out.xMean]);
  }
  return total;
}

/**
 * The guide end to end on the two-moons toy: a score model (DSM), a classifier trained with
 * the paper's objective (DLSM + λ CE) and one with the new objective (DLSM with g(t)²
 * weighting + λ CE + β confidence penalty), D_L of each, and guided sampling with Bayes'
 * rule and with the new clipped, t-dependent guidance. Prints (through `print`) and returns
 * every number. Deterministic for a given config (fixed keys).
 */
export async function runNewMethod(
  cfg: NewMethodConfig,
  print: (line: string) => void = () => {},
): Promise<NewMethodResult> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    print(line);
  };
  const [kScore, kClf, kSample] = split(key(cfg.seed), 3) as [Key, Key, Key];
  const data = twoMoons({ nPerClass: cfg.perClass });
  const sde = veSde({ sigmaMin: 1e-3, sigmaMax: 10, N: cfg.samplerSteps });
  const owned: Params[] = [];
  const grid = scoreErrorGrid({ n: cfg.grid });
  try {
    // 1. the unconditional score model (DSM, σ⁴ weighting as the toy)
    const scoreNet = toyScoreModel();
    const scoreVars = scoreNet.init(kScore);
    const score = dsm({
      sde,
      score: parametricScore(scoreNet, {}, sde),
      eps: 0,
      weighting: 'sigmaPower',
      w: 2,
    });
    const prior = await train(
      score as Loss<LabelledBatch>,
      scoreVars.params,
      data,
      cfg,
      cfg.scoreSteps,
      kScore,
      0.9,
    );
    tf.dispose(Object.values(scoreVars.params));
    owned.push(prior.params);
    const priorScore = bindScore(scoreNet, { params: prior.params, buffers: {} }, sde);

    // 2. two classifiers from the same initialisation and data order
    const net: Model<tf.Tensor2D> = toyClassifier({ classes: 2 });
    const init = net.init(kClf).params;
    owned.push(init);
    const logits: ParametricFn<tf.Tensor2D> = parametricLogits(net, {}, sde, { training: true });
    const paperLoss = classifierObjective(
      { method: 'total', lambda: 0.125, eps: 0, wDlsm: 2 },
      { sde, logits, score: priorScore },
    );
    const ours = newObjective(sde, logits, priorScore);
    let calls = 0;
    const counting: ParametricFn<tf.Tensor2D> = (p, x, t) => {
      calls++;
      return logits(p, x, t);
    };
    const probe = {
      x: tf.tensor2d(data.x.slice(0, 16), [8, 2]),
      y: tf.tensor1d([0, 0, 0, 0, 0, 0, 0, 0], 'int32'),
    };
    tf.dispose(newObjective(sde, counting, priorScore)(init, probe, key(1)) as never);
    tf.dispose([probe.x, probe.y]);
    const paper = await train(paperLoss, init, data, cfg, cfg.classifierSteps, kClf);
    owned.push(paper.params);
    const mine = await train(ours, init, data, cfg, cfg.classifierSteps, kClf);
    owned.push(mine.params);
    const first = meanOf(mine.log.slice(0, 10));
    const last = meanOf(mine.log.slice(-10));
    const terms = Object.keys(first).filter((n) => n !== 'total');
    say(
      `new objective (mean of the first / last 10 of ${cfg.classifierSteps} steps): total ${first['total']!.toFixed(4)} -> ${last['total']!.toFixed(4)}; ` +
        terms.map((n) => `${n} ${first[n]!.toFixed(4)} -> ${last[n]!.toFixed(4)}`).join(', '),
    );
    say(`classifier forward passes per evaluation of the three-term objective: ${calls}`);

    // 3. D_L at σ = 7.5 against the oracle
    const dLOf = (p: Params) =>
      scoreErrors(
        classifierScores(priorScore, bindLogits(net, { params: p, buffers: {} }, sde)),
        parzenConditionalScores(data, SIGMA),
        grid,
        {
          sigma: SIGMA,
          alpha: 1,
          sde,
        },
      ).dL;
    const dL = {
      untrained: dLOf(init),
      paper: dLOf(paper.params),
      newObjective: dLOf(mine.params),
    };
    say(
      `D_L at sigma ${SIGMA} (alpha 1, ${cfg.grid}x${cfg.grid} grid): untrained ${dL.untrained.toFixed(4)}, ` +
        `paper objective ${dL.paper.toFixed(4)}, new objective ${dL.newObjective.toFixed(4)}`,
    );

    // 4. guided sampling with the new-objective classifier: Bayes' rule vs the new rule
    const clf = bindLogits(net, { params: mine.params, buffers: {} }, sde);
    const scale = (t: tf.Tensor1D) => tf.add(1, tf.mul(tf.sub(1, t), 2)) as tf.Tensor1D; // α: 1 → 3
    const onRequestedMoon = {
      bayes: await guidedOnMoon(
        (c) => classifierGuidance(priorScore, clf, c),
        sde,
        data,
        cfg,
        kSample,
      ),
      clipped: await guidedOnMoon(
        (c) => clippedGuidance(priorScore, clf, c, { scale, ratio: 0.5 }),
        sde,
        data,
        cfg,
        kSample,
      ),
    };
    say(
      `guided samples on the requested moon: Bayes (alpha 1) ${onRequestedMoon.bayes.toFixed(4)}, ` +
        `clipped t-dependent ${onRequestedMoon.clipped.toFixed(4)}`,
    );
    return { lossFirst: first, lossLast: last, forwardPasses: calls, dL, onRequestedMoon, lines };
  } finally {
    for (const p of owned) tf.dispose(Object.values(p));
    grid.dispose();
  }
}
