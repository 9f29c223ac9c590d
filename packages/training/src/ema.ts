import type { Params } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { fusedEmaUpdate, fusedUpdatesAvailable } from './fusedUpdates.js';

/**
 * An exponential moving average of params (Song et al. 2021, App. H: EMA 0.999 for the score
 * model; score_sde's `ExponentialMovingAverage`). `count` is the number of updates so far.
 *
 * @example
 * ```ts
 * const ema: Ema = emaInit(params, 0.999); // { decay: 0.999, count: 0, params: copy }
 * ```
 */
export interface Ema {
  readonly decay: number;
  readonly count: number;
  readonly params: Params;
}

/**
 * The warm-up rule of score_sde's `ExponentialMovingAverage` (use_num_updates=True):
 * decay_n = min(d, (1 + n) / (10 + n)).
 *
 * @example
 * ```ts
 * emaDecay(0.999, 0);   // 0.1
 * emaDecay(0.999, 1);   // 2/11
 * emaDecay(0.999, 1e4); // 0.999
 * ```
 */
export function emaDecay(decay: number, n: number): number {
  return Math.min(decay, (1 + n) / (10 + n));
}

/**
 * Starts an EMA at a copy of `params` with count 0 (score_sde: shadow params = a clone of
 * the initial params). The copy is owned by the caller; `params` stays the caller's.
 *
 * @example
 * ```ts
 * const ema = emaInit(params, 0.999);
 * ```
 */
export function emaInit(params: Params, decay = 0.999): Ema {
  if (!(decay >= 0 && decay < 1))
    throw new RangeError(`emaInit: decay must be in [0, 1), got ${decay}`);
  return tf.tidy(() => {
    const copy: Record<string, tf.Tensor> = {};
    for (const [name, p] of Object.entries(params)) copy[name] = tf.clone(p);
    return { decay, count: 0, params: copy };
  });
}

/**
 * One EMA update, exactly score_sde's `ExponentialMovingAverage.update`: the update counter
 * is incremented first, n ← n + 1, then d_n = {@link emaDecay}(d, n) and
 * ema ← ema − (1 − d_n)(ema − θ). So the first update uses d = 2/11, the second 3/12.
 * Returns a new Ema (owned by the caller); the old one and `params` are not disposed.
 *
 * @example
 * ```ts
 * const next = emaUpdate(ema, params);
 * disposeEma(ema);
 * ```
 */
export function emaUpdate(ema: Ema, params: Params): Ema {
  const count = ema.count + 1;
  const oneMinusDecay = 1 - emaDecay(ema.decay, count);
  const names = Object.keys(ema.params);
  for (const name of names) {
    const p = params[name];
    if (!p) throw new RangeError(`emaUpdate: params have no '${name}'`);
    const s = ema.params[name]!;
    if (p.shape.join() !== s.shape.join())
      throw new RangeError(
        `emaUpdate: '${name}' has shape [${p.shape}] in params but [${s.shape}] in the EMA`,
      );
  }
  const fused =
    names.length > 0 &&
    fusedUpdatesAvailable() &&
    names.every((n) => ema.params[n]!.dtype === 'float32' && params[n]!.dtype === 'float32');
  if (fused) {
    const next = fusedEmaUpdate(
      names.map((n) => ema.params[n]!),
      names.map((n) => params[n]!),
      oneMinusDecay,
    );
    return {
      decay: ema.decay,
      count,
      params: Object.fromEntries(names.map((n, i) => [n, next[i]!])),
    };
  }
  return tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, s] of Object.entries(ema.params))
      out[name] = tf.sub(s, tf.mul(tf.sub(s, params[name]!), oneMinusDecay));
    return { decay: ema.decay, count, params: out };
  });
}

/**
 * Disposes the tensors of an {@link Ema} (score_sde's `ExponentialMovingAverage`, Song et
 * al. 2021 App. H).
 *
 * @example
 * ```ts
 * disposeEma(ema);
 * ```
 */
export function disposeEma(ema: Ema): void {
  for (const t of Object.values(ema.params)) t.dispose();
}
