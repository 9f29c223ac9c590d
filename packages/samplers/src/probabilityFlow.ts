import {
  batchSize,
  fillTime,
  type Key,
  parseConfig,
  reverse,
  type ScoreFn,
  ScorekitException,
  type Sde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { countCalls, type SampleResult, type SamplerOptions, throwIfAborted } from './control.js';
import { type OdeFunction, type OdeSolution, odeMethodNames, odeSolvers } from './odeSolvers.js';
import { checkSampleKeys, priorSampleRows } from './rowKeys.js';

const flowFields = {
  method: type.enumerated(...odeMethodNames).default('rk45'),
  'N?': 'number.integer > 0',
  rtol: 'number > 0 = 0.00001',
  atol: 'number > 0 = 0.00001',
  eps: 'number > 0 = 0.001',
} as const;

/**
 * Config of the probability-flow ODE solvers `encode` / `decode` (Song et al. 2021, §4.3,
 * App. D): `method` 'euler' | 'heun' (N equal steps, N defaults to `sde.N`) or 'rk45' (adaptive,
 * rtol = atol = 1e-5 as in score_sde), integrating between ε (default 1e-3) and T.
 *
 * @example
 * ```ts
 * parseConfig(flowConfig, { method: 'heun', N: 100 }, 'encode');
 * ```
 */
export const flowConfig = type(flowFields);

/** A {@link flowConfig} as a user writes it. */
export type FlowConfigInput = typeof flowConfig.inferIn;
/** A resolved {@link flowConfig}. */
export type FlowConfig = typeof flowConfig.infer;

/**
 * Config of the probability-flow ODE sampler (score_sde's `get_ode_sampler`): the
 * {@link flowConfig} fields, the batch-first `shape` and `denoise` (default false, as in
 * score_sde: one noise-free reverse-diffusion step at ε after the ODE).
 *
 * @example
 * ```ts
 * parseConfig(odeSamplerConfig, { shape: [64, 2] }, 'sampler').method; // 'rk45'
 * ```
 */
export const odeSamplerConfig = type({
  ...flowFields,
  denoise: 'boolean = false',
  shape: type('number.integer > 0').array().atLeastLength(1),
});

/** An {@link odeSamplerConfig} as a user writes it (everything but `shape` optional). */
export type OdeSamplerConfigInput = Omit<typeof odeSamplerConfig.inferIn, 'shape'> & {
  readonly shape: readonly number[];
};

const checkEps = (eps: number, sde: Sde, what: string) => {
  if (eps >= sde.T)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `${what}: eps must be less than T (${sde.T}) (was ${eps})`,
      path: 'eps',
    });
};

/**
 * The probability-flow drift dx/dt = f(x, t) − ½ g(t)² s(x, t) (Song et al. 2021, eq. 13) as an
 * {@link OdeFunction} over the flattened batch of `shape` (float64 on the host, float32 for the
 * score).
 *
 * @example
 * ```ts
 * const f = flowFunction(score, sde, [4, 2]);
 * const dxdt = await f(0.5, new Float64Array(8));
 * ```
 */
export function flowFunction(score: ScoreFn, sde: Sde, shape: readonly number[]): OdeFunction {
  const ode = reverse(sde, score, { probabilityFlow: true });
  const batch = shape[0] ?? 1;
  return async (t, y) => {
    const drift = tf.tidy(() =>
      ode.drift(tf.tensor(Float32Array.from(y), [...shape]), fillTime(batch, t)),
    );
    const out = Float64Array.from(await drift.data()); // one async read per evaluation
    drift.dispose();
    return out;
  };
}

async function integrate(
  score: ScoreFn,
  sde: Sde,
  x: tf.Tensor,
  cfg: FlowConfig,
  from: number,
  to: number,
  what: string,
  options: SamplerOptions,
): Promise<OdeSolution> {
  const fun = flowFunction(score, sde, x.shape);
  const y0 = Float64Array.from(await x.data());
  return odeSolvers[cfg.method](fun, from, to, y0, {
    steps: cfg.N ?? sde.N,
    rtol: cfg.rtol,
    atol: cfg.atol,
    what,
    ...options,
  });
}

/**
 * Encodes data into latents: solves the probability-flow ODE (Song et al. 2021, eq. 13) forward
 * from t = ε to T, the "uniquely identifiable encoding" of App. D.4. Deterministic: no key.
 *
 * @example
 * ```ts
 * const { z, nfe } = await encode(score, sde, x, { method: 'rk45' });
 * ```
 */
export async function encode(
  score: ScoreFn,
  sde: Sde,
  x: tf.Tensor,
  config: FlowConfigInput = {},
  options: SamplerOptions = {},
): Promise<{ readonly z: tf.Tensor; readonly nfe: number }> {
  const cfg = parseConfig(flowConfig, config, 'encode');
  checkEps(cfg.eps, sde, 'encode');
  const counted = countCalls(score, 'encode');
  const sol = await integrate(counted.score, sde, x, cfg, cfg.eps, sde.T, 'encode', options);
  return { z: tf.tensor(Float32Array.from(sol.y), x.shape), nfe: counted.count() };
}

/**
 * Decodes latents into data: solves the probability-flow ODE (Song et al. 2021, eq. 13)
 * backward from t = T to ε (the inverse of {@link encode}).
 *
 * @example
 * ```ts
 * const { x } = await decode(score, sde, z, { method: 'rk45' }); // ≈ the encoded data
 * ```
 */
export async function decode(
  score: ScoreFn,
  sde: Sde,
  z: tf.Tensor,
  config: FlowConfigInput = {},
  options: SamplerOptions = {},
): Promise<{ readonly x: tf.Tensor; readonly nfe: number }> {
  const cfg = parseConfig(flowConfig, config, 'decode');
  checkEps(cfg.eps, sde, 'decode');
  const counted = countCalls(score, 'decode');
  const sol = await integrate(counted.score, sde, z, cfg, sde.T, cfg.eps, 'decode', options);
  return { x: tf.tensor(Float32Array.from(sol.y), z.shape), nfe: counted.count() };
}

/**
 * Probability-flow ODE sampling (Song et al. 2021, §4.3; score_sde `get_ode_sampler`): x_T from
 * the prior (key), {@link decode} from T to ε with Euler, Heun or RK45, then optionally one
 * noise-free reverse-diffusion step at ε (`denoise`). `samples` and `xMean` hold the same values;
 * `nfe` counts score evaluations (RK45: 6 per step + 2 to start, + 1 for `denoise`).
 * RK45 chooses one step size for the whole batch (its error norm runs over the flattened batch,
 * as in score_sde), so only the fixed-step methods are exactly batch-size invariant.
 * `options.sampleKeys` draws row b of the prior from its own key (see `priorSampleRows`).
 *
 * @example
 * ```ts
 * const { samples, nfe } = await odeSampler(score, vpSde(), { shape: [512, 2], method: 'rk45' }, key(0));
 * ```
 */
export async function odeSampler(
  score: ScoreFn,
  sde: Sde,
  config: OdeSamplerConfigInput,
  key: Key,
  options: SamplerOptions = {},
): Promise<SampleResult> {
  const cfg = parseConfig(odeSamplerConfig, config, 'odeSampler');
  checkEps(cfg.eps, sde, 'odeSampler');
  throwIfAborted(options.signal, 'odeSampler', 0, cfg.N ?? sde.N);
  const counted = countCalls(score, 'odeSampler');
  const rows =
    options.sampleKeys && checkSampleKeys(options.sampleKeys, cfg.shape[0]!, 'odeSampler');
  const z = priorSampleRows(sde, key, cfg.shape, rows);
  let y: Float64Array;
  try {
    const sol = await integrate(counted.score, sde, z, cfg, sde.T, cfg.eps, 'odeSampler', options);
    y = sol.y;
  } finally {
    z.dispose();
  }
  const samples = tf.tidy(() => {
    const x = tf.tensor(Float32Array.from(y), cfg.shape);
    if (!cfg.denoise) return x;
    const { f } = reverse(sde, counted.score).discretize(x, fillTime(batchSize(x), cfg.eps));
    return tf.sub(x, f);
  });
  return { samples, xMean: tf.clone(samples), nfe: counted.count() };
}
