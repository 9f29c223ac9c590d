import {
  fillTime,
  fold,
  type Key,
  linspace,
  parseConfig,
  type ScoreFn,
  ScorekitException,
  type Sde,
  split,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import {
  countCalls,
  type SampleResult,
  type SamplerOptions,
  throwIfAborted,
  yieldToEventLoop,
} from './control.js';
import { type Corrector, type CorrectorName, correctorNames, correctors } from './correctors.js';
import {
  type Predictor,
  type PredictorName,
  predictorNames,
  predictors,
  type StepContext,
} from './predictors.js';
import { checkSampleKeys, priorSampleRows, rowKeyedNormal } from './rowKeys.js';
import { discreteSchedule, withSteps } from './schedule.js';

/**
 * Config of the predictor–corrector sampler (Song et al. 2021, §4.2, App. G; score_sde's
 * `get_pc_sampler`). Defaults are the paper's CIFAR setting (method.md §4): reverse-diffusion
 * predictor, one Langevin corrector step with snr 0.16, ε = 1e-3, denoised output.
 * `shape` is batch-first [B, ...]; `N` defaults to `sde.N`.
 *
 * @example
 * ```ts
 * parseConfig(pcSamplerConfig, { shape: [64, 2] }, 'sampler').predictor; // 'reverseDiffusion'
 * ```
 */
export const pcSamplerConfig = type({
  predictor: type.enumerated(...predictorNames).default('reverseDiffusion'),
  corrector: type.enumerated(...correctorNames).default('langevin'),
  snr: 'number > 0 = 0.16',
  nStepsEach: 'number.integer >= 1 = 1',
  eps: 'number > 0 = 0.001',
  denoise: 'boolean = true',
  probabilityFlow: 'boolean = false',
  langevinNorms: "'batch' | 'sample' = 'batch'",
  'N?': 'number.integer > 0',
  shape: type('number.integer > 0').array().atLeastLength(1),
}).narrow(
  (c, ctx) =>
    !(c.probabilityFlow && c.predictor === 'ancestral') ||
    ctx.reject({
      path: ['predictor'],
      expected: 'not ancestral when probabilityFlow is true (ancestral sampling has no ODE form)',
      actual: 'ancestral',
    }),
);

/** A resolved {@link pcSamplerConfig} (Song et al. 2021, App. G; defaults of method.md §4). */
export type PcSamplerConfig = typeof pcSamplerConfig.infer;
/**
 * A {@link pcSamplerConfig} as a user writes it (everything but `shape` optional). `predictor`
 * and `corrector` are the name of a built-in step rule (JSON) or any {@link Predictor} /
 * {@link Corrector} function — a new step rule plugs in without touching this package.
 */
export type PcSamplerConfigInput = Omit<
  typeof pcSamplerConfig.inferIn,
  'shape' | 'predictor' | 'corrector'
> & {
  readonly shape: readonly number[];
  /** A name from `predictors` (default `'reverseDiffusion'`) or a {@link Predictor}. */
  readonly predictor?: PredictorName | Predictor;
  /** A name from `correctors` (default `'langevin'`) or a {@link Corrector}. */
  readonly corrector?: CorrectorName | Corrector;
};

/**
 * Predictor–corrector sampling (Song et al. 2021, Algorithm 1 and App. G): x_T from the prior,
 * then for t_i = linspace(T, ε, N): the corrector (`nStepsEach` steps) and then the predictor at
 * t_i. The predictor and corrector are built-ins named in the config or user functions of type
 * `Predictor` / `Corrector`. Returns the last x_mean as `samples` when `denoise` (method.md §4), the number of score
 * evaluations (N · (nStepsEach + 1) for a predictor and a corrector that both use the score), and
 * disposes every intermediate state (memory is bounded in N).
 *
 * Randomness: the prior comes from `split(key)[0]`, step i uses `fold(split(key)[1], i)`, and all
 * noise is drawn per sample, so sample b does not depend on the batch size — except under the
 * Langevin corrector with `langevinNorms: 'batch'` (the reference rule), whose step size is a
 * batch average. With `options.sampleKeys` every draw of row b comes from its own key
 * (`rowDrawKey(sampleKeys[b], ·)`) and the Langevin norms are per sample, so row b's trajectory
 * does not depend on the other rows: any grouping of samples into batches gives the same bits.
 *
 * Checks `options.signal` before every step and yields to the event loop after it; an abort
 * rejects with an `AbortError`.
 *
 * @example
 * ```ts
 * const sde = veSde({ sigmaMax: 50, N: 200 });
 * const { samples, xMean, nfe } = await pcSampler(score, sde, { shape: [64, 2] }, key(0));
 * // nfe = 400: one Langevin step and one reverse-diffusion step per level
 * ```
 */
export async function pcSampler(
  score: ScoreFn,
  sde: Sde,
  config: PcSamplerConfigInput,
  key: Key,
  options: SamplerOptions = {},
): Promise<SampleResult> {
  const { predictor: givenPredictor, corrector: givenCorrector, ...json } = config;
  const customPredictor = typeof givenPredictor === 'function' ? givenPredictor : undefined;
  const customCorrector = typeof givenCorrector === 'function' ? givenCorrector : undefined;
  const cfg = parseConfig(
    pcSamplerConfig,
    {
      ...json,
      ...(givenPredictor === undefined || customPredictor ? {} : { predictor: givenPredictor }),
      ...(givenCorrector === undefined || customCorrector ? {} : { corrector: givenCorrector }),
    },
    'pcSampler',
  );
  if (!customPredictor && cfg.predictor === 'ancestral' && sde.kind === 'subvp')
    throw new ScorekitException({
      _tag: 'ConfigError',
      message:
        'pcSampler: predictor must be eulerMaruyama, reverseDiffusion or none for the sub-VP SDE (was ancestral)',
      path: 'predictor',
    });
  const N = cfg.N ?? sde.N;
  if (cfg.eps >= sde.T)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `pcSampler: eps must be less than T (${sde.T}) (was ${cfg.eps})`,
      path: 'eps',
    });
  const stepSde = withSteps(sde, N, 'pcSampler');
  const schedule = discreteSchedule(stepSde, N);
  const counted = countCalls(score, 'pcSampler');
  const predictor = customPredictor ?? predictors[cfg.predictor];
  const corrector = customCorrector ?? correctors[cfg.corrector];
  const batch = cfg.shape[0]!;
  const rows = options.sampleKeys && checkSampleKeys(options.sampleKeys, batch, 'pcSampler');
  if (rows && json.langevinNorms === 'batch')
    throw new ScorekitException({
      _tag: 'ConfigError',
      message:
        "pcSampler: langevinNorms must be 'sample' with options.sampleKeys (a batch-average step size couples the samples) (was 'batch')",
      path: 'langevinNorms',
    });
  const settings = {
    snr: cfg.snr,
    nStepsEach: cfg.nStepsEach,
    langevinNorms: rows ? ('sample' as const) : cfg.langevinNorms,
  };
  const normal = rows && rowKeyedNormal(rows);
  const times = linspace(sde.T, cfg.eps, N);
  const [kPrior, kSteps] = split(key) as [Key, Key];
  const { signal, onStep } = options;

  throwIfAborted(signal, 'pcSampler', 0, N);
  let x = priorSampleRows(stepSde, kPrior, cfg.shape, rows);
  let xMean = x;
  try {
    for (let i = 0; i < N; i++) {
      throwIfAborted(signal, 'pcSampler', i, N);
      const t = times[i]!;
      const next = tf.tidy(() => {
        const ctx: StepContext = {
          sde: stepSde,
          score: counted.score,
          schedule,
          t,
          tVec: fillTime(batch, t),
          probabilityFlow: cfg.probabilityFlow,
          ...(normal ? { normal } : {}),
        };
        const [kCorrector, kPredictor] = split(fold(kSteps, i)) as [Key, Key];
        const corrected = corrector(ctx, x, kCorrector, settings);
        return predictor(ctx, corrected.x, kPredictor);
      });
      x.dispose();
      xMean.dispose();
      x = next.x;
      xMean = next.xMean;
      onStep?.(i + 1, N);
      await yieldToEventLoop();
    }
  } catch (error) {
    x.dispose();
    xMean.dispose();
    throw error;
  }
  const samples = cfg.denoise ? xMean : x;
  const out = { samples: tf.clone(samples), xMean: tf.clone(xMean), nfe: counted.count() };
  x.dispose();
  xMean.dispose();
  return out;
}
