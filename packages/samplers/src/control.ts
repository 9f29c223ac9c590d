import { type Key, type ScoreFn, type Sde, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Progress and cancellation hooks every sampler accepts (scorekit architecture: samplers are
 * functions `(score, sde, config, key, { onStep, signal })`).
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * await pcSampler(score, sde, cfg, key(0), { onStep: (i, n) => log(i, n), signal: ac.signal });
 * ```
 */
export interface SamplerOptions {
  /**
   * Called after each completed step with `step` = the number of steps done (1 … total) and
   * the planned total. Adaptive solvers (RK45) do not know the total: they pass `Infinity`.
   */
  readonly onStep?: (step: number, total: number) => void;
  /** Aborting rejects the sampler's promise with an {@link AbortError}; nothing leaks. */
  readonly signal?: AbortSignal;
  /**
   * One key per sample (length = `shape[0]`): every random draw of row b (prior, predictor and
   * corrector noise at every step) comes from `sampleKeys[b]` and the sampler's `key` only
   * (`rowDrawKey`), so a sample is the same whatever batch it is drawn in — e.g. sample j of
   * a run keyed `fold(seedKey, j)` on any machine. With per-sample keys the Langevin corrector
   * uses per-sample norms (`langevinNorms: 'batch'` is rejected). Absent: per-batch keys
   * (row b from `fold(·, b)`), the reference behaviour.
   */
  readonly sampleKeys?: readonly Key[];
}

/**
 * What a sampler returns (Song et al. 2021, App. G: `x` and the noise-free `x_mean` of the last
 * step). `samples` is `xMean` when the config asks to denoise, else the last noisy `x`. Both
 * tensors are owned by the caller (dispose both). `nfe` counts score-function evaluations.
 *
 * @example
 * ```ts
 * const { samples, xMean, nfe } = await pcSampler(score, sde, { shape: [8, 2] }, key(0));
 * samples.dispose(); xMean.dispose();
 * ```
 */
export interface SampleResult {
  readonly samples: tf.Tensor;
  readonly xMean: tf.Tensor;
  readonly nfe: number;
}

/**
 * The common shape of scorekit's samplers: a function of a score, an SDE, a plain config, a
 * random key and hooks. Guided scores (see `classifierGuidance`) plug in unchanged.
 *
 * @example
 * ```ts
 * const run: Sampler<PcSamplerConfigInput> = pcSampler;
 * ```
 */
export type Sampler<Config> = (
  score: ScoreFn,
  sde: Sde,
  config: Config,
  key: Key,
  options?: SamplerOptions,
) => Promise<SampleResult>;

/**
 * The error a sampler rejects with when its `AbortSignal` fires: `name` is `'AbortError'`
 * (like the DOM's), `step` says where it stopped and `cause` carries the signal's reason.
 *
 * @example
 * ```ts
 * try { await pcSampler(score, sde, cfg, k, { signal }); }
 * catch (e) { if (e instanceof AbortError) console.log(`stopped at step ${e.step}`); }
 * ```
 */
export class AbortError extends Error {
  readonly step: number;
  constructor(what: string, step: number, total: number, cause?: unknown) {
    super(`${what}: aborted after ${step} of ${total} steps`, { cause });
    this.name = 'AbortError';
    this.step = step;
  }
}

/**
 * Throws an {@link AbortError} if `signal` has fired (checked by every sampler before each step).
 *
 * @example
 * ```ts
 * throwIfAborted(options.signal, 'pcSampler', i, N);
 * ```
 */
export function throwIfAborted(
  signal: AbortSignal | undefined,
  what: string,
  step: number,
  total: number,
): void {
  if (signal?.aborted) throw new AbortError(what, step, total, signal.reason);
}

/**
 * Lets the event loop run (timers, I/O, an `abort()` from elsewhere) between sampler steps.
 * Uses `setImmediate` where it exists (Node: microseconds), else `setTimeout(0)`.
 *
 * @example
 * ```ts
 * for (let i = 0; i < N; i++) { step(i); await yieldToEventLoop(); }
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/** A score function that counts its calls: the number of function evaluations (NFE) of Song et al. 2021, Table 2. */
export interface CountedScore {
  readonly score: ScoreFn;
  readonly count: () => number;
}

/**
 * Wraps `score` so that every call is counted (NFE, Song et al. 2021, Table 2) and its output
 * is checked: a score must return a tensor shaped like x (∇ₓ log p_t(x)). A wrong shape throws
 * a ShapeError naming `what` (the sampler) with the expected and actual shapes, instead of a
 * tfjs broadcast error — or a silent broadcast — deep inside a step.
 *
 * @example
 * ```ts
 * const counted = countCalls(score, 'pcSampler');
 * counted.score(x, t).dispose();
 * counted.count(); // 1
 * ```
 */
export function countCalls(score: ScoreFn, what = 'sampler'): CountedScore {
  let n = 0;
  return {
    score: (x, t) => {
      n++;
      const s = score(x, t);
      if (!(s instanceof tf.Tensor))
        shapeError(`${what}: score`, `a tensor shaped like x [${x.shape}]`, typeof s);
      if (!tf.util.arraysEqual(s.shape, x.shape)) {
        const got = `shape [${s.shape}]`;
        s.dispose();
        shapeError(`${what}: score`, `shape [${x.shape}] (like x)`, got);
      }
      return s;
    },
    count: () => n,
  };
}
