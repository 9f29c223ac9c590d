import type { Params } from '@scorekit/core';

/**
 * An optimiser's state: the number of updates applied so far and per-parameter slots (Adam's
 * `exp_avg` and `exp_avg_sq`, Kingma & Ba 2015, Alg. 1: m_t and v_t). Slot names follow
 * PyTorch's `optimizer.state_dict()`; checkpoints store slot `s` of parameter `p` as `s.p`.
 *
 * @example
 * ```ts
 * const state = adam({ lr: 1e-3 }).init(params); // { count: 0, slots: { exp_avg, exp_avg_sq } }
 * ```
 */
export interface OptimizerState {
  readonly count: number;
  readonly slots: Readonly<Record<string, Params>>;
}

/**
 * What {@link Optimizer.update} returns: new params and state, owned by the caller (one step of
 * Kingma & Ba 2015, Alg. 1).
 *
 * @example
 * ```ts
 * const { params: next, state: s1 }: OptimizerUpdate = opt.update(grads, s0, params, 0);
 * ```
 */
export interface OptimizerUpdate {
  readonly params: Params;
  readonly state: OptimizerState;
}

/**
 * A first-order optimiser as pure state-passing functions over named {@link Params}
 * (score_sde's `optimization_manager`: Adam + linear warm-up + global-norm clipping; Song et
 * al. 2021, App. H).
 *
 * Ownership: `init` and `update` return newly allocated tensors owned by the caller and never
 * dispose their inputs (grads, state, params stay the caller's to dispose). Deterministic:
 * same inputs ⇒ bit-identical outputs on one backend.
 *
 * @example
 * ```ts
 * const opt = adam({ lr: 2e-4, warmup: 5000 });
 * let state = opt.init(params);
 * const next = opt.update(grads, state, params, step); // { params, state }
 * ```
 */
export interface Optimizer<Config = unknown> {
  readonly name: string;
  /** The resolved hyper-parameters (saved in checkpoints' `state.json`). */
  readonly config: Config;
  /** Slot names of the state, in order (e.g. `['exp_avg', 'exp_avg_sq']`). */
  readonly slotNames: readonly string[];
  /** Fresh state for `params` (zero slots, count 0). */
  init(params: Params): OptimizerState;
  /** The learning rate used by the update at 0-based `step` (after warm-up). */
  learningRate(step: number): number;
  /**
   * One update with gradients `grads` at 0-based `step` (the number of updates already done
   * in the run, as in score_sde's `optimize_fn(…, step=state['step'])`).
   */
  update(grads: Params, state: OptimizerState, params: Params, step: number): OptimizerUpdate;
}

/**
 * Disposes every tensor of an optimiser state (Adam's m and v, Kingma & Ba 2015, Alg. 1).
 *
 * @example
 * ```ts
 * disposeOptimizerState(state);
 * ```
 */
export function disposeOptimizerState(state: OptimizerState): void {
  for (const slot of Object.values(state.slots)) for (const t of Object.values(slot)) t.dispose();
}
