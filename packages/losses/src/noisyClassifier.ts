import {
  batchSize,
  checkLabels,
  type Key,
  logLikelihoodAndScore,
  logLikelihoodAtLabels,
  type ParametricFn,
  type Params,
  type Sde,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledBatch } from './loss.js';
import { type Perturbation, perturb } from './perturb.js';
import { type SharingScope, shared } from './sharing.js';

/** Options of {@link evaluateNoisyClassifier}. */
export interface NoisyClassifierOptions {
  /** The forward SDE whose kernel p_{0t} perturbs the data. */
  readonly sde: Sde;
  /** The noise-conditioned classifier `(params, x̃, t) → logits [B, C]`. */
  readonly logits: ParametricFn<tf.Tensor2D>;
  /** The smallest time: t ~ U(eps, T). */
  readonly eps: number;
  /** The classifier's parameters θ. */
  readonly params: Params;
  /** The labelled batch `{ x, y }`. */
  readonly batch: LabelledBatch;
  /** The loss key (split by the convention of `lossKeys`). */
  readonly key: Key;
  /** Also take the input gradient ∇_x̃ Σ log p(y|x̃) (default false; always inside a scope). */
  readonly inputGradient?: boolean;
  /** The `sum`'s sharing scope (the fourth argument of a `Loss`); omit to evaluate alone. */
  readonly scope?: SharingScope;
}

/**
 * A noise-conditioned classifier evaluated at a perturbed labelled batch: the perturbation
 * (t [B], z, σ = `std` [B], x̃ = `xTilde`, `mean`) and the one forward (and backward) pass.
 */
export interface NoisyClassifierEvaluation extends Perturbation {
  /** The classifier's logits at (x̃, t), [B, C], differentiable in θ. */
  readonly logits: tf.Tensor2D;
  /** log p(y_i | x̃_i, t_i; θ) per sample, [B]. */
  readonly logp: tf.Tensor1D;
  /** ∇_x̃ Σ_i log p(y_i | x̃_i, t_i; θ), differentiable in θ; absent if not requested. */
  readonly inputGradient: tf.Tensor | undefined;
}

/**
 * Perturbs a labelled batch with the SDE kernel (the key convention of `lossKeys`) and
 * evaluates the classifier there once: logits, log p(y | x̃, σ; θ) per sample and, when asked
 * (or inside a scope, so that a DLSM term can reuse the pass), the likelihood score
 * ∇_x̃ log p(y | x̃, σ; θ) (Chao et al. 2022, eqs. 7 and 10). The building block of
 * `crossEntropy` and `dlsm`, and of any new classifier term: everything a term needs (logits,
 * input gradient, x̃, t, σ, z) comes from this one evaluation.
 *
 * With a `scope` (from `sum`) the evaluation is shared between terms with the same SDE,
 * classifier function, ε, params, batch and key: the classifier runs once per step, as in
 * the reference code, and its training-mode statistics are updated once. Shared tensors
 * belong to the scope: derive new tensors from them and never dispose them. Without a scope
 * the tensors are owned by the caller.
 *
 * @example
 * ```ts
 * const entropy: Loss<LabelledBatch> = (params, batch, key, scope) => tidyLossValue(() => {
 *   const ev = evaluateNoisyClassifier({ sde, logits, eps: 1e-5, params, batch, key, scope });
 *   const p = tf.softmax(ev.logits);
 *   return termValue('entropy', tf.neg(tf.mean(tf.sum(tf.mul(p, tf.log(p)), -1))) as tf.Scalar);
 * });
 * ```
 */
export function evaluateNoisyClassifier(
  options: NoisyClassifierOptions,
): NoisyClassifierEvaluation {
  const { sde, logits, eps, params, batch, key, scope } = options;
  checkLabels(batch.y, batchSize(batch.x));
  const withGradient = (options.inputGradient ?? false) || scope !== undefined;
  return shared(
    scope,
    ['evaluateNoisyClassifier', sde, logits, eps, params, batch, key[0], key[1]],
    (): NoisyClassifierEvaluation =>
      tf.tidy(() => {
        const p = perturb(sde, batch.x, key, eps);
        const f = (x: tf.Tensor, t: tf.Tensor1D) => logits(params, x, t);
        if (withGradient) {
          const ev = logLikelihoodAndScore(f, p.xTilde, p.t, batch.y);
          return { ...p, logits: ev.logits, logp: ev.logp, inputGradient: ev.score };
        }
        const out = f(p.xTilde, p.t);
        const logp = logLikelihoodAtLabels(out, batch.y);
        return { ...p, logits: out, logp, inputGradient: undefined };
      }),
  );
}
