import {
  errorMessage,
  fold,
  type Key,
  type Params,
  type ScorekitError,
  ScorekitException,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type BatchSource, batchSizeOf, openBatches } from './batches.js';
import {
  latestCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
  type TrainState,
} from './checkpoint.js';
import { globalNorm } from './clip.js';
import type { Buffers, Loss } from './contracts.js';
import { disposeEma, type Ema, emaInit, emaUpdate } from './ema.js';
import { lossAndGrads } from './gradients.js';
import { disposeOptimizerState, type Optimizer } from './optimizer.js';

/**
 * What {@link fit} reports after every update (to `onStep`): each named loss term (e.g. DLSM
 * and CE, Chao et al. 2022, eq. 10 + λ·CE), the lr, the gradient norm and the throughput.
 *
 * @example
 * ```ts
 * onStep: (i: StepInfo) => console.log(i.step, i.terms, i.lr, i.gradNorm, i.imagesPerSecond)
 * ```
 */
export interface StepInfo {
  /** The 0-based index of the update just applied (its key was `fold(key, step)`). */
  readonly step: number;
  /** The loss `total` and every named term, as numbers, before the update. */
  readonly total: number;
  readonly terms: Readonly<Record<string, number>>;
  /** The learning rate of this update (after warm-up). */
  readonly lr: number;
  /** The global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly batchSize: number;
  /** Wall time of this update: batch fetch, forward/backward, update, EMA, checkpoint. */
  readonly seconds: number;
  readonly imagesPerSecond: number;
  /** The checkpoint written after this update, if any. */
  readonly checkpoint?: string;
}

interface FitCommon<B> {
  readonly loss: Loss<B>;
  readonly optimizer: Optimizer;
  /** Batches; a `(startStep) => stream` factory makes resume exact (see {@link BatchSource}). */
  readonly batches: BatchSource<B>;
  /** Train until this many updates are completed (absolute, so a resumed run stops at the same place). */
  readonly steps: number;
  /** Model buffers (variables updated in place by the loss); saved in checkpoints. */
  readonly buffers?: Buffers | undefined;
  readonly checkpointDir?: string | undefined;
  /** Save every this many completed updates (and at the end / on abort). */
  readonly checkpointEvery?: number | undefined;
  /** Keep only the newest this many checkpoints in `checkpointDir` (0 or absent: all). */
  readonly keepLast?: number | undefined;
  readonly onStep?: ((info: StepInfo) => void | Promise<void>) | undefined;
  /** Stops after the current update; a checkpoint is written if `checkpointDir` is set. */
  readonly signal?: AbortSignal | undefined;
  /** The resolved, JSON-serialisable run config saved as `config.json` (only with `checkpointDir`). */
  readonly config?: unknown;
  /** Dispose every tensor of each batch after its update (default true: fit owns batches). */
  readonly disposeBatches?: boolean | undefined;
}

/**
 * Start fresh from `params` with base key `key` (and an EMA of decay `ema`, if given: 0.999
 * for the paper's score models, Song et al. 2021 App. H).
 *
 * @example
 * ```ts
 * const start: FitFresh = { params, key: key(0), ema: 0.999 };
 * ```
 */
export interface FitFresh {
  readonly params: Params;
  readonly key: Key;
  readonly ema?: number | undefined;
  readonly resume?: undefined;
}

/**
 * Continue from a saved state (e.g. `loadCheckpoint(...).state`): its step, key, params,
 * optimiser state and EMA (score_sde's `restore_checkpoint` + `initial_step`).
 *
 * @example
 * ```ts
 * const start: FitResume = { resume: loaded.state };
 * ```
 */
export interface FitResume {
  readonly resume: TrainState;
  readonly params?: undefined;
  readonly key?: undefined;
  readonly ema?: undefined;
}

/**
 * Options of {@link fit}: the loss (e.g. DLSM + CE, Chao et al. 2022, eq. 10), optimiser,
 * batches, number of steps, a fresh start or a resume state, and checkpointing/logging.
 *
 * @example
 * ```ts
 * const o: FitOptions<Batch> = { loss, optimizer: adam(), batches, steps: 10, params, key: key(0) };
 * ```
 */
export type FitOptions<B> = FitCommon<B> & (FitFresh | FitResume);

/**
 * Why {@link fit} returned: all steps done, `signal` aborted, or the batch stream ended
 * (score_sde's loop ends only at `n_iters`).
 *
 * @example
 * ```ts
 * if (result.stopReason === 'aborted') console.log('resume later from', result.checkpoint);
 * ```
 */
export type StopReason = 'completed' | 'aborted' | 'exhausted';

/**
 * What {@link fit} returns: the final state (owned by the caller; score_sde's `state`), why it
 * stopped, the last step's log and the newest checkpoint.
 *
 * @example
 * ```ts
 * const { state, stopReason, last, checkpoint }: FitResult = result.right;
 * ```
 */
export interface FitResult {
  readonly state: TrainState;
  readonly stopReason: StopReason;
  readonly last?: StepInfo | undefined;
  /** The newest checkpoint written by this call. */
  readonly checkpoint?: string | undefined;
}

const cloneParams = (p: Params): Params =>
  tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(p)) out[n] = tf.clone(t);
    return out;
  });

const cloneState = (s: TrainState): TrainState => ({
  step: s.step,
  key: s.key,
  params: cloneParams(s.params),
  optimizer: {
    count: s.optimizer.count,
    slots: Object.fromEntries(
      Object.entries(s.optimizer.slots).map(([k, v]) => [k, cloneParams(v)]),
    ),
  },
  ema: s.ema ? { ...s.ema, params: cloneParams(s.ema.params) } : undefined,
});

const describe = (v: number) => (Number.isNaN(v) ? 'NaN' : String(v));

/**
 * Lets timers, I/O and signal handlers run (a macrotask turn: `setImmediate` in Node,
 * `setTimeout(0)` elsewhere). Awaiting tensor data alone only drains microtasks, so without
 * this a SIGINT handler would run only after the whole loop.
 */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

/** A thrown value as a ScorekitError: a ScorekitException keeps its tag, anything else is a NumericError at `step`. */
const thrownError = (where: string, step: number, cause: unknown): ScorekitError => {
  if (cause instanceof ScorekitException)
    return { ...cause.error, message: `fit: ${where} at step ${step}: ${cause.error.message}` };
  return {
    _tag: 'NumericError',
    step,
    message: `fit: ${where} threw at step ${step}: ${errorMessage(cause)}`,
  };
};

/**
 * Trains `params` by minimising `loss` with `optimizer` (score_sde's `run_lib.train` loop,
 * Song et al. 2021 App. H; for DLSM classifiers, Chao et al. 2022 §5 / eq. 10): for each
 * update s = start, …, steps − 1 it takes the next batch, computes `loss(params, batch,
 * fold(key, s))` and the gradient of its `total` by reverse mode (nested `tf.grad` inside the
 * loss works, see {@link lossAndGrads}), reads every named term and the global gradient norm,
 * stops with a `NumericError` naming the step and the term if one is NaN/±∞ (before any update,
 * so params stay finite and no bad checkpoint is written), applies the optimiser, updates the
 * EMA, saves a checkpoint every `checkpointEvery` updates (and at the end) and calls `onStep`.
 *
 * Every failure is a `Left`, never a rejected promise: bad options are a `ConfigError`; a loss,
 * batch source or `onStep` that throws gives the thrown `ScorekitException`'s error (or a
 * `NumericError` carrying the step) with the step in the message; a failed save its `IoError`.
 * The loop yields to the event loop before every step, so an `AbortSignal` fired by a signal
 * handler (SIGINT) or a timer stops it after the current step.
 *
 * Ownership: fit never disposes what the caller passed (params, resume state); it disposes
 * its own intermediates and each batch (unless `disposeBatches: false`). The returned state is
 * always newly allocated; dispose it with `disposeTrainState`.
 *
 * Exact resume: checkpoint at step s, `loadCheckpoint`, then `fit({ resume, batches, ... })`
 * with a batch factory (`batchStream`) gives bit-identical params to an uninterrupted run on the
 * same backend, since the loss key of update s is `fold(key, s)` and the batch is that of step s.
 *
 * @example
 * ```ts
 * const result = await fit({
 *   loss, params, optimizer: adam({ lr: 2e-4, warmup: 5000 }), ema: 0.999, key: key(0),
 *   batches: batchStream((s) => sampleBatch(fold(dataKey, s))), steps: 1000,
 *   checkpointDir: 'runs/score', checkpointEvery: 100, config,
 * })();
 * ```
 */
export function fit<B>(options: FitOptions<B>): TE.TaskEither<ScorekitError, FitResult> {
  return async () => {
    const { loss, optimizer, steps } = options;
    const configError = (message: string): E.Either<ScorekitError, FitResult> =>
      E.left({ _tag: 'ConfigError', path: '', message: `fit: ${message}` });
    if (!Number.isInteger(steps) || steps < 0)
      return configError(`steps must be an integer >= 0 (was ${steps})`);
    const every = options.checkpointEvery;
    if (every !== undefined && (!Number.isInteger(every) || every <= 0))
      return configError(`checkpointEvery must be an integer > 0 (was ${every})`);
    const keepLast = options.keepLast ?? 0;
    if (!Number.isInteger(keepLast) || keepLast < 0)
      return configError(`keepLast must be an integer >= 0 (was ${keepLast})`);
    if (options.resume && options.params)
      return configError('give either params (fresh start) or resume, not both');

    // `own` says whether fit allocated the tensors of each part of `state` (and may dispose them).
    let state: TrainState;
    let own: { params: boolean; optimizer: boolean; ema: boolean };
    if (options.resume) {
      state = options.resume;
      own = { params: false, optimizer: false, ema: false };
    } else {
      if (!options.params || !options.key)
        return configError('a fresh start needs params and key (or pass resume)');
      state = {
        step: 0,
        key: options.key,
        params: options.params,
        optimizer: optimizer.init(options.params),
        ema: options.ema === undefined ? undefined : emaInit(options.params, options.ema),
      };
      own = { params: false, optimizer: true, ema: true };
    }
    const startStep = state.step;
    const release = () => {
      if (own.params) for (const t of Object.values(state.params)) t.dispose();
      if (own.optimizer) disposeOptimizerState(state.optimizer);
      if (own.ema && state.ema) disposeEma(state.ema);
    };
    const disposeBatch = (batch: B) => {
      if (options.disposeBatches !== false) tf.dispose(batch as unknown as tf.TensorContainer);
    };
    const save = async (): Promise<E.Either<ScorekitError, string>> => {
      if (options.checkpointDir === undefined)
        return E.left({ _tag: 'IoError', file: '', message: 'no checkpointDir' });
      const saved = await saveCheckpoint(options.checkpointDir, {
        state,
        optimizer,
        buffers: options.buffers,
        config: options.config,
      })();
      if (E.isLeft(saved) && saved.left._tag === 'NumericError')
        return E.left({
          ...saved.left,
          message: `fit: ${saved.left.message}; ${await lastGood()}`,
        });
      if (E.isLeft(saved) || keepLast === 0) return saved;
      const pruned = await pruneCheckpoints(options.checkpointDir, keepLast)();
      return E.isLeft(pruned) ? pruned : saved;
    };

    // where to go back to after a numeric failure: the newest checkpoint (every saved one had
    // finite, sane weights, see saveCheckpoint), with its step
    const lastGood = async (): Promise<string> => {
      if (options.checkpointDir === undefined) return 'no checkpoints (no checkpointDir)';
      const latest =
        checkpoint ??
        (await latestCheckpoint(options.checkpointDir)().then((l) =>
          E.isRight(l) ? l.right : undefined,
        ));
      return latest === undefined
        ? `no checkpoint in ${options.checkpointDir}`
        : `the last good checkpoint (finite loss and weights) is ${latest}, step ${Number(/step-(\d+)$/.exec(latest)?.[1] ?? Number.NaN)}`;
    };
    let iterator: ReturnType<typeof openBatches<B>>;
    try {
      iterator = openBatches(options.batches, startStep);
    } catch (cause) {
      release();
      return E.left(thrownError('opening the batches', startStep, cause));
    }
    let where = 'the batch source';
    let current = startStep;
    let stopReason: StopReason = 'completed';
    let last: StepInfo | undefined;
    let checkpoint: string | undefined;
    let savedStep = -1;
    try {
      for (let step = startStep; step < steps; step++) {
        current = step;
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        const t0 = performance.now();
        where = 'the batch source';
        const next = await iterator.next();
        if (next.done) {
          stopReason = 'exhausted';
          break;
        }
        const batch = next.value;
        let grads: Record<string, tf.Tensor> | undefined;
        let values: Float32Array;
        let termNames: string[];
        where = 'the loss';
        try {
          const lg = lossAndGrads(loss, state.params, batch, fold(state.key, step));
          grads = { ...lg.grads };
          termNames = Object.keys(lg.terms);
          const summary = tf.tidy(() =>
            tf.stack([lg.total, ...termNames.map((n) => lg.terms[n]!), globalNorm(lg.grads)]),
          );
          tf.dispose([lg.total, ...Object.values(lg.terms)]);
          values = (await summary.data()) as Float32Array;
          summary.dispose();
        } catch (cause) {
          if (grads) tf.dispose(Object.values(grads));
          disposeBatch(batch);
          throw cause;
        }
        const total = values[0]!;
        const gradNorm = values[termNames.length + 1]!;
        const terms: Record<string, number> = {};
        termNames.forEach((n, i) => {
          terms[n] = values[i + 1]!;
        });
        const badTerm = termNames.find((n) => !Number.isFinite(terms[n]!));
        const bad =
          badTerm !== undefined
            ? `loss term '${badTerm}' is ${describe(terms[badTerm]!)}`
            : !Number.isFinite(total)
              ? `loss total is ${describe(total)}`
              : !Number.isFinite(gradNorm)
                ? `gradient norm is ${describe(gradNorm)} (loss total ${total})`
                : undefined;
        if (bad !== undefined) {
          tf.dispose(Object.values(grads));
          disposeBatch(batch);
          release();
          return E.left({
            _tag: 'NumericError',
            step,
            message: `fit: ${bad} at step ${step}; stopped before updating (params are those after ${step} updates); ${await lastGood()}`,
          });
        }
        const batchSize = batchSizeOf(batch);
        where = 'the optimizer update';
        const update = optimizer.update(grads, state.optimizer, state.params, step);
        tf.dispose(Object.values(grads));
        disposeBatch(batch);
        let ema: Ema | undefined;
        if (state.ema) ema = emaUpdate(state.ema, update.params);
        release();
        state = {
          step: step + 1,
          key: state.key,
          params: update.params,
          optimizer: update.state,
          ema,
        };
        own = { params: true, optimizer: true, ema: true };

        let saved: string | undefined;
        if (
          options.checkpointDir !== undefined &&
          every !== undefined &&
          state.step % every === 0
        ) {
          const s = await save();
          if (E.isLeft(s)) {
            release();
            return s;
          }
          saved = checkpoint = s.right;
          savedStep = state.step;
        }
        const seconds = (performance.now() - t0) / 1000;
        last = {
          step,
          total,
          terms,
          lr: optimizer.learningRate(step),
          gradNorm,
          batchSize,
          seconds,
          imagesPerSecond: seconds > 0 ? batchSize / seconds : 0,
          ...(saved === undefined ? {} : { checkpoint: saved }),
        };
        where = 'onStep';
        await options.onStep?.(last);
      }
      if (
        options.checkpointDir !== undefined &&
        state.step > startStep &&
        savedStep !== state.step
      ) {
        const s = await save();
        if (E.isLeft(s)) {
          release();
          return s;
        }
        checkpoint = s.right;
      }
    } catch (cause) {
      release();
      return E.left(thrownError(where, current, cause));
    } finally {
      // an error while closing the stream cannot lose a result: it is ignored
      await Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
    let result = state;
    if (!(own.params && own.optimizer && own.ema)) {
      result = cloneState(state);
      release();
    }
    return E.right({ state: result, stopReason, last, checkpoint });
  };
}
