import {
  type ConditionalScoreFn,
  linspace,
  parseConfig,
  ScorekitException,
  type Sde,
  shapeError,
  sumPerSample,
  veTime,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';

/**
 * A conditional model's, or the oracle's, posterior and likelihood scores, each a core
 * `ConditionalScoreFn` (x, t, y) — the signature of the samplers and losses. Scores of a model
 * trained on an SDE take its time t (give `sde` to {@link scoreErrors}); scores defined over the
 * noise level (the Parzen oracle) receive σ in the time slot (or ignore it).
 */
export interface ConditionalScores {
  /** S_P(x̃, y) = α ∇ log p(y|x̃, σ; θ) + s(x̃, σ; φ), the score that is sampled with. */
  readonly posterior: ConditionalScoreFn;
  /** The classifier's likelihood score g = ∇_x̃ log p(y|x̃, σ; θ) (unscaled). */
  readonly likelihood: ConditionalScoreFn;
}

/**
 * Config of {@link scoreErrors}: the noise level (σ = 7.5 in the toy experiment), the
 * guidance scale α applied to the model's likelihood score, the classes to evaluate and the
 * number of points per forward pass.
 */
export const scoreErrorConfig = type({
  sigma: 'number > 0 = 7.5',
  alpha: 'number = 1',
  classes: type('number.integer[]').default(() => [0, 1]),
  batchSize: 'number.integer >= 1 = 4096',
});

/** The resolved {@link scoreErrorConfig} (Chao et al. 2022, §5.1). */
export type ScoreErrorConfig = typeof scoreErrorConfig.infer;
/**
 * {@link scoreErrorConfig} as a user writes it, e.g. `{ sigma: 7.5, alpha: 1 }`, plus the
 * optional `sde` whose time the scores take: with it they are evaluated at the t where
 * `sde.marginalStd(t) = σ`; without it at t = σ (scores over the noise level).
 */
export type ScoreErrorOptions = typeof scoreErrorConfig.inferIn & { readonly sde?: Sde };

/**
 * The time t ∈ [0, T] at which `sde.marginalStd(t)` equals σ (the noise level a network is
 * conditioned on): closed form for a VE SDE, t = ln(σ/σ_min) / ln(σ_max/σ_min) (Song et al.
 * 2021, eq. 30), bisection on the (increasing) marginal std otherwise. Throws a ConfigError
 * when σ is outside [std(0), std(T)].
 *
 * @example
 * ```ts
 * timeOfStd(veSde({ sigmaMin: 1e-3, sigmaMax: 10 }), 7.5); // ≈ 0.9688
 * ```
 */
export function timeOfStd(sde: Sde, sigma: number): number {
  const stdAt = (t: number) => tf.tidy(() => sde.marginalStd(tf.tensor1d([t])).dataSync()[0]!);
  const lo = stdAt(0);
  const hi = stdAt(sde.T);
  const ve = sde as Sde & { readonly config?: { sigmaMin?: number; sigmaMax?: number } };
  if (!(sigma >= lo * (1 - 1e-6) && sigma <= hi * (1 + 1e-6)))
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `scoreErrors: sigma must lie in the SDE's noise range [${lo}, ${hi}] (was ${sigma})`,
      path: 'sigma',
    });
  const { sigmaMin, sigmaMax } = ve.config ?? {};
  if (sde.kind === 've' && sigmaMin !== undefined && sigmaMax !== undefined)
    return veTime(sigmaMin, sigmaMax, sigma);
  let a = 0;
  let b = sde.T;
  for (let i = 0; i < 60; i++) {
    const m = (a + b) / 2;
    if (stdAt(m) < sigma) a = m;
    else b = m;
  }
  return (a + b) / 2;
}

/** D_P and D_L for one class. */
export interface ClassScoreError {
  readonly label: number;
  readonly dP: number;
  readonly dL: number;
}

/** Score-error distances averaged over classes, with the per-class table. */
export interface ScoreErrorResult {
  /** Mean over classes of D_P = mean_x ‖S_P − oracle posterior score‖. */
  readonly dP: number;
  /** Mean over classes of D_L = mean_x ‖α g − oracle likelihood score‖. */
  readonly dL: number;
  readonly perClass: readonly ClassScoreError[];
  readonly sigma: number;
  /** The time the scores were evaluated at: t(σ) of `sde`, or σ without one. */
  readonly time: number;
  readonly alpha: number;
  readonly points: number;
}

/**
 * mean_i ‖scale · a(x_i, t, y) − b(x_i, t, y)‖₂ over the points x_i (the norm over all
 * non-batch axes), every point labelled `label` and evaluated at time `time` (the t of the
 * noise level, or σ itself for scores over σ); `batchSize` points at a time (Chao et al.
 * 2022, §5.1's D_P and D_L).
 *
 * @example
 * ```ts
 * meanScoreDistance(model.posterior, oracle.posterior, grid, 0, timeOfStd(sde, 7.5)); // D_P, class 0
 * ```
 */
export function meanScoreDistance(
  a: ConditionalScoreFn,
  b: ConditionalScoreFn,
  points: tf.Tensor,
  label: number,
  time: number,
  { scale = 1, batchSize = 4096 }: { readonly scale?: number; readonly batchSize?: number } = {},
): number {
  const n = points.shape[0];
  if (n === undefined || n === 0) shapeError('meanScoreDistance: points', '[N, ...], N > 0', '[]');
  let total = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const norms = tf.tidy(() => {
      const x = tf.slice(points, start, size);
      const y = tf.fill([size], label, 'int32') as tf.Tensor1D;
      const t = tf.fill([size], time) as tf.Tensor1D;
      const sa = a(x, t, y);
      const sb = b(x, t, y);
      if (sa.shape.join() !== x.shape.join() || sb.shape.join() !== x.shape.join()) {
        shapeError(
          'meanScoreDistance: scores',
          `shape [${x.shape}]`,
          `[${sa.shape}], [${sb.shape}]`,
        );
      }
      return tf.sqrt(sumPerSample(tf.square(tf.sub(tf.mul(sa, scale), sb))));
    });
    const values = norms.dataSync();
    norms.dispose();
    for (const v of values) total += v;
  }
  return total / n;
}

/**
 * The toy experiment's score-error distances (Chao et al. 2022, §5.1 and Table 1): per class
 * y, D_P = mean_x ‖S_P(x, y) − ∇ log p_σ(x|y)‖ and D_L = mean_x ‖α g(x, y) − ∇ log p_σ(y|x)‖
 * against the oracle (e.g. the exact Parzen scores), over a grid or a sample of points at a
 * fixed σ (7.5 in the paper), then averaged over classes. With `sde`, both score pairs are
 * called at the time t(σ) of that SDE ({@link timeOfStd}), so a model bound over time plugs in
 * without σ ↔ t glue; without it, at t = σ.
 *
 * @example
 * ```ts
 * const grid = scoreErrorGrid();
 * const g = likelihoodScore(logits); // core: a ConditionalScoreFn (x, t, y)
 * const model = { likelihood: g, posterior: (x, t, y) => tf.add(prior(x, t), g(x, t, y)) };
 * const { dP, dL, perClass } = scoreErrors(model, oracle, grid, { sigma: 7.5, alpha: 1, sde });
 * grid.dispose();
 * ```
 */
export function scoreErrors(
  model: ConditionalScores,
  oracle: ConditionalScores,
  points: tf.Tensor,
  options: ScoreErrorOptions = {},
): ScoreErrorResult {
  const { sde, ...json } = options;
  const { sigma, alpha, classes, batchSize } = parseConfig(scoreErrorConfig, json, 'scoreErrors');
  if (classes.length === 0) shapeError('scoreErrors: classes', 'at least one class', 'none');
  const time = sde ? timeOfStd(sde, sigma) : sigma;
  const perClass = classes.map((label) => ({
    label,
    dP: meanScoreDistance(model.posterior, oracle.posterior, points, label, time, { batchSize }),
    dL: meanScoreDistance(model.likelihood, oracle.likelihood, points, label, time, {
      scale: alpha,
      batchSize,
    }),
  }));
  const mean = (f: (c: ClassScoreError) => number) =>
    perClass.reduce((s, c) => s + f(c), 0) / perClass.length;
  return {
    dP: mean((c) => c.dP),
    dL: mean((c) => c.dL),
    perClass,
    sigma,
    time,
    alpha,
    points: points.shape[0]!,
  };
}

/**
 * Config of {@link scoreErrorGrid}: an n × n grid over xRange × yRange (endpoints included);
 * the paper's toy evaluation uses 35 × 35 on [−40, 40] × [−25, 25].
 */
export const scoreErrorGridConfig = type({
  n: 'number.integer >= 2 = 35',
  xRange: type(['number', 'number']).default(() => [-40, 40]),
  yRange: type(['number', 'number']).default(() => [-25, 25]),
});

/** {@link scoreErrorGridConfig} as a user writes it, e.g. `{ n: 35 }`. */
export type ScoreErrorGridOptions = typeof scoreErrorGridConfig.inferIn;

/**
 * The evaluation grid of the toy experiment (Chao et al. 2022, §5.1): n × n points
 * (default 35 × 35) on [−40, 40] × [−25, 25], endpoints included, as a [n², 2] tensor in
 * row-major order: point i·n + j is (xs[j], ys[i]), like `numpy.meshgrid` flattened.
 *
 * @example
 * ```ts
 * const grid = scoreErrorGrid(); // [1225, 2]; grid[0] = (−40, −25), grid[1224] = (40, 25)
 * ```
 */
export function scoreErrorGrid(options: ScoreErrorGridOptions = {}): tf.Tensor2D {
  const { n, xRange, yRange } = parseConfig(scoreErrorGridConfig, options, 'scoreErrorGrid');
  const xs = linspace(xRange[0], xRange[1], n);
  const ys = linspace(yRange[0], yRange[1], n);
  const data = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      data[2 * (i * n + j)] = xs[j]!;
      data[2 * (i * n + j) + 1] = ys[i]!;
    }
  }
  return tf.tensor2d(data, [n * n, 2]);
}
