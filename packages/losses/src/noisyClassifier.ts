import { batchSize, type Key, type ParametricFn, type Sde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkLabels } from './labels.js';
import { logLikelihoodAndScore, logLikelihoodAtLabels } from './likelihoodScore.js';
import type { LabelledBatch } from './loss.js';
import { type Perturbation, perturb } from './perturb.js';
import { shared, sharingActive } from './sharing.js';

/** A noise-conditioned classifier evaluated at a perturbed labelled batch. */
export interface NoisyClassifierEvaluation extends Perturbation {
  /** log p(y_i | x̃_i, t_i; θ) per sample, [B]. */
  readonly logp: tf.Tensor1D;
  /** ∇_x̃ Σ_i log p(y_i | x̃_i, t_i; θ), differentiable in θ; absent if not requested. */
  readonly inputGradient: tf.Tensor | undefined;
}

/**
 * Perturbs a labelled batch with the SDE kernel (the key convention of `lossKeys`) and
 * evaluates the classifier there: log p(y | x̃, σ; θ) per sample and, when asked (or inside
 * a `sum`, so that a DLSM term can reuse the pass), the likelihood score ∇_x̃ log p(y | x̃, σ; θ)
 * (Chao et al. 2022, eqs. 7 and 10). The building block of `crossEntropy` and `dlsm`.
 *
 * Inside a `sum` the evaluation is shared (see `shared`) between terms with the same SDE,
 * classifier function, ε, params, batch and key: the classifier runs once per step, as in
 * the reference code, and its training-mode statistics are updated once. Shared tensors
 * belong to the sum; callers derive new tensors from them and never dispose them.
 *
 * @example
 * ```ts
 * const ev = evaluateNoisyClassifier(sde, logits, 1e-5, params, batch, key(0), true);
 * const ce = tf.neg(tf.mean(ev.logp));
 * ```
 */
export function evaluateNoisyClassifier(
  sde: Sde,
  logits: ParametricFn<tf.Tensor2D>,
  eps: number,
  params: Readonly<Record<string, tf.Tensor>>,
  batch: LabelledBatch,
  key: Key,
  inputGradient: boolean,
): NoisyClassifierEvaluation {
  checkLabels(batch.y, batchSize(batch.x));
  const withGradient = inputGradient || sharingActive();
  return shared(
    ['evaluateNoisyClassifier', sde, logits, eps, params, batch, key[0], key[1]],
    (): NoisyClassifierEvaluation =>
      tf.tidy(() => {
        const p = perturb(sde, batch.x, key, eps);
        const f = (x: tf.Tensor, t: tf.Tensor1D) => logits(params, x, t);
        if (withGradient) {
          const { logp, score } = logLikelihoodAndScore(f, p.xTilde, p.t, batch.y);
          return { ...p, logp, inputGradient: score };
        }
        const logp = logLikelihoodAtLabels(f(p.xTilde, p.t), batch.y);
        return { ...p, logp, inputGradient: undefined };
      }),
  );
}
