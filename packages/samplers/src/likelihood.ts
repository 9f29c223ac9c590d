import {
  fillTime,
  type Key,
  normalPerSample,
  parseConfig,
  reverse,
  type ScoreFn,
  ScorekitException,
  type Sde,
  sampleSize,
  sumPerSample,
  uniformPerSample,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { countCalls, type SamplerOptions, throwIfAborted } from './control.js';
import { type OdeFunction, odeMethodNames, odeSolvers } from './odeSolvers.js';

/**
 * Config of {@link logLikelihood} (score_sde's `get_likelihood_fn`): the ODE solver (default
 * RK45, rtol = atol = 1e-5), ε = 1e-5 (the likelihood starts closer to the data than sampling
 * ends), the Hutchinson probe distribution ('rademacher' default, or 'gaussian') and the
 * bits/dim `offset` (default 0; see {@link dequantizationOffset}).
 *
 * @example
 * ```ts
 * parseConfig(likelihoodConfig, {}, 'likelihood').hutchinson; // 'rademacher'
 * ```
 */
export const likelihoodConfig = type({
  method: type.enumerated(...odeMethodNames).default('rk45'),
  'N?': 'number.integer > 0',
  rtol: 'number > 0 = 0.00001',
  atol: 'number > 0 = 0.00001',
  eps: 'number > 0 = 0.00001',
  hutchinson: "'rademacher' | 'gaussian' = 'rademacher'",
  offset: 'number = 0',
});

/** A {@link likelihoodConfig} as a user writes it. */
export type LikelihoodConfigInput = typeof likelihoodConfig.inferIn;

/** Per-sample log-likelihood and bits per dimension, the latent and the cost. */
export interface LikelihoodResult {
  /** log p_ε(x) in nats, [B]. */
  readonly logp: tf.Tensor1D;
  /** −log p_ε(x) / (d ln 2) + offset, [B]. */
  readonly bpd: tf.Tensor1D;
  /** The latent x(T) (the encoding of x). */
  readonly z: tf.Tensor;
  /** Score evaluations. */
  readonly nfe: number;
}

/**
 * The Hutchinson–Skilling estimate of the divergence of `fn` at x (Hutchinson 1990; Skilling
 * 1989; Grathwohl et al. 2019; Song et al. 2021, App. D.2): ∇·f(x) ≈ εᵀ (∂f/∂x) ε, per sample,
 * with the vector–Jacobian product εᵀ ∂f/∂x taken by `tf.grad` of Σ f(x) ⊙ ε. Unbiased when
 * E[ε εᵀ] = I (Rademacher or Gaussian ε); exact for Rademacher ε and a diagonal Jacobian.
 * Returns f(x) as well (one forward pass serves both). Both tensors are owned by the caller.
 *
 * @example
 * ```ts
 * const { value, divergence } = hutchinsonDivergence((x) => tf.mul(x, 2), x, probe); // divergence = 2 d
 * ```
 */
export function hutchinsonDivergence(
  fn: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  probe: tf.Tensor,
): { readonly value: tf.Tensor; readonly divergence: tf.Tensor1D } {
  let value: tf.Tensor | undefined;
  const vjp = tf.grad((xx: tf.Tensor) => {
    const v = fn(xx);
    value = tf.keep(v);
    return tf.sum(tf.mul(v, probe));
  })(x);
  const divergence = tf.tidy(() => sumPerSample(tf.mul(vjp, probe)));
  vjp.dispose();
  if (value === undefined) throw new Error('hutchinsonDivergence: fn was not called');
  return { value, divergence };
}

/**
 * The offset that turns continuous bits/dim into discrete ones under uniform dequantisation
 * (Song et al. 2021, App. D.2; Theis et al. 2016): data with `levels` values per dimension
 * (default 256), dequantised as (k + u)/levels ∈ [0, 1) and then mapped affinely onto an
 * interval of `width` (1 for [0, 1], 2 for [−1, 1]) gives
 * bpd_discrete ≤ bpd_continuous + log₂(levels / width): 8 for [0, 1], 7 for [−1, 1]
 * (score_sde's `offset = 7 − inverse_scaler(−1)`). Continuous data (no quantisation): offset 0.
 *
 * @example
 * ```ts
 * dequantizationOffset(); // 8
 * dequantizationOffset({ width: 2 }); // 7
 * ```
 */
export function dequantizationOffset(
  options: { readonly levels?: number; readonly width?: number } = {},
): number {
  return Math.log2((options.levels ?? 256) / (options.width ?? 1));
}

/**
 * Bits per dimension from per-sample log-likelihoods in nats: −log p / (d ln 2) + offset.
 *
 * @example
 * ```ts
 * bitsPerDim(logp, 3072, dequantizationOffset({ width: 2 })); // CIFAR-10 in [−1, 1]
 * ```
 */
export function bitsPerDim(logp: tf.Tensor1D, dims: number, offset = 0): tf.Tensor1D {
  return tf.tidy(() => tf.add(tf.div(tf.neg(logp), dims * Math.LN2), offset)) as tf.Tensor1D;
}

/**
 * Exact log-likelihood through the probability-flow ODE (Song et al. 2021, App. D.2, eq. 13 and
 * the instantaneous change of variables): integrate [x, δ] from t = ε to T with
 * dx/dt = f̃(x, t) = f − ½ g² s and dδ/dt = ∇·f̃ (Hutchinson–Skilling estimate, probe ε drawn
 * once per sample from `key`), then log p_ε(x) = log p_T(x(T)) + δ(T). The adaptive solver's
 * error norm covers x and δ (as score_sde does). Bits/dim: −log p / (d ln 2) + `offset`; for
 * images in [0, 1] quantised to 256 levels set `offset: dequantizationOffset()` and evaluate on
 * uniformly dequantised data; the tests use continuous Gaussian data with offset 0.
 *
 * @example
 * ```ts
 * const { logp, bpd, z, nfe } = await logLikelihood(score, vpSde(), x, {}, key(0));
 * ```
 */
export async function logLikelihood(
  score: ScoreFn,
  sde: Sde,
  x: tf.Tensor,
  config: LikelihoodConfigInput,
  key: Key,
  options: SamplerOptions = {},
): Promise<LikelihoodResult> {
  const cfg = parseConfig(likelihoodConfig, config, 'logLikelihood');
  if (cfg.eps >= sde.T)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `logLikelihood: eps must be less than T (${sde.T}) (was ${cfg.eps})`,
      path: 'eps',
    });
  throwIfAborted(options.signal, 'logLikelihood', 0, cfg.N ?? sde.N);
  const shape = x.shape;
  const batch = shape[0] ?? 1;
  const dims = sampleSize(x);
  const n = batch * dims;
  const counted = countCalls(score, 'logLikelihood');
  const ode = reverse(sde, counted.score, { probabilityFlow: true });
  const probe = tf.tidy(() =>
    cfg.hutchinson === 'gaussian'
      ? normalPerSample(key, shape)
      : tf.sub(
          tf.mul(tf.cast(tf.greaterEqual(uniformPerSample(key, shape), 0.5), 'float32'), 2),
          1,
        ),
  );
  const fun: OdeFunction = async (t, y) => {
    const xt = tf.tensor(Float32Array.from(y.subarray(0, n)), shape);
    const tVec = fillTime(batch, t);
    try {
      const { value, divergence } = hutchinsonDivergence((xx) => ode.drift(xx, tVec), xt, probe);
      // one async read per evaluation: [drift, divergence] flattened together
      const both = tf.tidy(() =>
        tf.concat([tf.reshape(value, [-1]), tf.reshape(divergence, [-1])]),
      );
      tf.dispose([value, divergence]);
      const out = Float64Array.from(await both.data());
      both.dispose();
      return out;
    } finally {
      tf.dispose([xt, tVec]);
    }
  };
  let y: Float64Array;
  try {
    const y0 = new Float64Array(n + batch);
    y0.set(await x.data());
    const sol = await odeSolvers[cfg.method](fun, cfg.eps, sde.T, y0, {
      steps: cfg.N ?? sde.N,
      rtol: cfg.rtol,
      atol: cfg.atol,
      what: 'logLikelihood',
      ...options,
    });
    y = sol.y;
  } finally {
    probe.dispose();
  }
  const z = tf.tensor(Float32Array.from(y.subarray(0, n)), shape);
  const logp = tf.tidy(() =>
    tf.add(sde.priorLogp(z), tf.tensor1d(Float32Array.from(y.subarray(n)))),
  ) as tf.Tensor1D;
  return { logp, bpd: bitsPerDim(logp, dims, cfg.offset), z, nfe: counted.count() };
}
