import { type Params, parseConfig, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { clipByGlobalNorm, clipCoefficient } from './clip.js';
import { fusedAdamUpdate, fusedUpdatesAvailable } from './fusedUpdates.js';
import type { Optimizer, OptimizerState, OptimizerUpdate } from './optimizer.js';
import { warmupLr } from './warmup.js';

/**
 * Config of {@link adam} (Kingma & Ba 2015, Alg. 1, with PyTorch's defaults) plus score_sde's
 * optimisation extras: linear `warmup` (steps; 0 = none) and global-norm clipping `gradClip`
 * (`null` = none). Defaults: lr 2e-4 (the paper's CIFAR runs, Chao et al. 2022 §5),
 * β1 0.9, β2 0.999, eps 1e-8, weightDecay 0 (L2 added to the gradient, as torch.optim.Adam),
 * warmup 0, gradClip 1.
 *
 * @example
 * ```ts
 * parseConfig(adamConfig, { lr: 6.5e-4 }, 'optimizer'); // every other field defaulted
 * ```
 */
export const adamConfig = type({
  lr: ['number >= 0', '=', 2e-4],
  beta1: '0 <= number < 1 = 0.9',
  beta2: '0 <= number < 1 = 0.999',
  eps: ['number > 0', '=', 1e-8],
  weightDecay: 'number >= 0 = 0',
  warmup: 'number.integer >= 0 = 0',
  gradClip: ['number > 0 | null', '=', 1],
});

/**
 * The resolved {@link adamConfig} (Kingma & Ba 2015, Alg. 1 hyper-parameters + score_sde's
 * warm-up and clipping).
 *
 * @example
 * ```ts
 * const cfg: AdamConfig = adam().config; // { lr: 2e-4, beta1: 0.9, …, gradClip: 1 }
 * ```
 */
export type AdamConfig = typeof adamConfig.infer;
/**
 * An {@link adamConfig} as a user writes it (every field optional; Kingma & Ba 2015, Alg. 1).
 *
 * @example
 * ```ts
 * const input: AdamConfigInput = { lr: 6.5e-4 }; // the toy score model's lr (Chao et al. 2022 §6)
 * ```
 */
export type AdamConfigInput = typeof adamConfig.inferIn;

const SLOTS = ['exp_avg', 'exp_avg_sq'] as const;

/**
 * Adam (Kingma & Ba 2015, Alg. 1) exactly as `torch.optim.Adam` computes it, inside score_sde's
 * `optimize_fn`: lr_t = lr · min(1, step/warmup); g ← clip_grad_norm(g, gradClip);
 * g ← g + weightDecay·θ; m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; with t = count + 1,
 * θ ← θ − (lr_t / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps).
 *
 * On cpu, wasm and tensorflow backends the whole update is one fused kernel, bit-identical to
 * the per-tensor ops used elsewhere (see `fusedAdamUpdate`). Pure state passing: `update`
 * returns new params and state (owned by the caller) and disposes nothing. Params without a
 * gradient must be given a zero gradient by the caller.
 *
 * @example
 * ```ts
 * const opt = adam({ lr: 1e-3, warmup: 100 });
 * const s0 = opt.init(params);
 * const { params: p1, state: s1 } = opt.update(grads, s0, params, 0);
 * ```
 */
export function adam(config: AdamConfigInput = {}): Optimizer<AdamConfig> {
  const cfg = parseConfig(adamConfig, config, 'adam');
  const learningRate = (step: number) => warmupLr(cfg.lr, cfg.warmup, step);

  const init = (params: Params): OptimizerState =>
    tf.tidy(() => {
      const m: Record<string, tf.Tensor> = {};
      const v: Record<string, tf.Tensor> = {};
      for (const [name, p] of Object.entries(params)) {
        m[name] = tf.zerosLike(p);
        v[name] = tf.zerosLike(p);
      }
      return { count: 0, slots: { exp_avg: m, exp_avg_sq: v } };
    });

  const update = (
    grads: Params,
    state: OptimizerState,
    params: Params,
    step: number,
  ): OptimizerUpdate => {
    const names = Object.keys(params);
    for (const name of names) {
      const g = grads[name];
      if (!g) shapeError(`adam: gradient of '${name}'`, 'a tensor', 'none');
      const p = params[name]!;
      if (g.shape.join() !== p.shape.join())
        shapeError(`adam: gradient of '${name}'`, `shape [${p.shape}]`, `[${g.shape}]`);
      for (const slot of SLOTS) {
        const s = state.slots[slot]?.[name];
        if (!s)
          shapeError(`adam: state ${slot}.${name}`, 'a tensor', 'none (state/params mismatch)');
        if (s.shape.join() !== p.shape.join())
          shapeError(`adam: state ${slot}.${name}`, `shape [${p.shape}]`, `[${s.shape}]`);
      }
    }
    const lrT = learningRate(step);
    const t = state.count + 1;
    const stepSize = lrT / (1 - cfg.beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - cfg.beta2 ** t);
    const fused =
      names.length > 0 &&
      fusedUpdatesAvailable() &&
      names.every((n) => params[n]!.dtype === 'float32' && grads[n]!.dtype === 'float32');
    if (fused)
      return tf.tidy(() => {
        const coef = cfg.gradClip === null ? undefined : clipCoefficient(grads, cfg.gradClip);
        const next = fusedAdamUpdate(
          names.map((n) => params[n]!),
          names.map((n) => grads[n]!),
          names.map((n) => state.slots['exp_avg']![n]!),
          names.map((n) => state.slots['exp_avg_sq']![n]!),
          coef,
          { ...cfg, stepSize, bc2Sqrt },
        );
        const record = (ts: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
        return {
          params: record(next.params),
          state: { count: t, slots: { exp_avg: record(next.m), exp_avg_sq: record(next.v) } },
        };
      });
    return tf.tidy(() => {
      const clipped = cfg.gradClip === null ? grads : clipByGlobalNorm(grads, cfg.gradClip);
      const newParams: Record<string, tf.Tensor> = {};
      const m: Record<string, tf.Tensor> = {};
      const v: Record<string, tf.Tensor> = {};
      for (const name of names) {
        const p = params[name]!;
        let g = clipped[name]!;
        if (cfg.weightDecay !== 0) g = tf.add(g, tf.mul(p, cfg.weightDecay));
        const mT = tf.add(
          tf.mul(state.slots['exp_avg']![name]!, cfg.beta1),
          tf.mul(g, 1 - cfg.beta1),
        );
        const vT = tf.add(
          tf.mul(state.slots['exp_avg_sq']![name]!, cfg.beta2),
          tf.mul(tf.square(g), 1 - cfg.beta2),
        );
        const denom = tf.add(tf.div(tf.sqrt(vT), bc2Sqrt), cfg.eps);
        newParams[name] = tf.sub(p, tf.mul(tf.div(mT, denom), stepSize));
        m[name] = mT;
        v[name] = vT;
      }
      return { params: newParams, state: { count: t, slots: { exp_avg: m, exp_avg_sq: v } } };
    });
  };

  return { name: 'adam', config: cfg, slotNames: SLOTS, init, learningRate, update };
}
