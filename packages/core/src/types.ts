import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

/**
 * A score function s(x, t) ≈ ∇ₓ log p_t(x) (Song et al. 2021, eq. 6): batch-first `x` of
 * shape [B, ...] and per-sample times `t` of shape [B]; returns a tensor shaped like `x`.
 */
export type ScoreFn = (x: Tensor, t: Tensor1D) => Tensor;

/**
 * Classifier logits log p(y | x, t) up to a constant (Chao et al. 2022, §3): `x` [B, ...],
 * `t` [B] → logits [B, C].
 */
export type LogitsFn = (x: Tensor, t: Tensor1D) => Tensor2D;

/**
 * Named parameters: a flat record whose keys are checkpoint names (e.g. `trunk.0.weight`).
 * Values are plain tensors owned by whoever holds the record; optimisers return new records.
 */
export type Params = Readonly<Record<string, Tensor>>;

/**
 * A function of parameters, the kind a loss differentiates: `(params, x, t) → output`.
 * Bind it to fixed params to get a {@link ScoreFn} or {@link LogitsFn}.
 */
export type ParametricFn<Out extends Tensor = Tensor> = (
  params: Params,
  x: Tensor,
  t: Tensor1D,
) => Out;

/**
 * A conditional score s(x, t | y) ≈ ∇ₓ log p_t(x | y), or a likelihood score ∇ₓ log p_t(y | x)
 * (Chao et al. 2022, eq. 3): batch-first `x` [B, ...], per-sample times `t` [B] and int32
 * labels `y` [B]; returns a tensor shaped like `x`. The one signature used by the samplers'
 * guidance, the losses and the metrics' score errors.
 */
export type ConditionalScoreFn = (x: Tensor, t: Tensor1D, y: Tensor1D) => Tensor;
