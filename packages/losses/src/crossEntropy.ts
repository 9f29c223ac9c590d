import { type ParametricFn, parseConfig, ScorekitException, type Sde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { type LabelledBatch, type Loss, termValue, tidyLossValue } from './loss.js';
import { evaluateNoisyClassifier } from './noisyClassifier.js';
import { requireFunction, requireSde } from './options.js';
import { applyWeighting, sigmaPower, type Weighting } from './weighting.js';

/**
 * JSON config of {@link crossEntropy}: `eps` the smallest time (t ~ U(eps, T); 1e-5 for the
 * CIFAR classifier) and `w` the power of the per-sample weight σ^(−2w) (`weighting_ce` of
 * the reference code; 0 for CIFAR and the toy). (Chao et al. 2022, L_CE.)
 *
 * @example
 * ```ts
 * decodeConfig(crossEntropyConfig, {}, 'classifier.json'); // Right({ eps: 0.00001, w: 0 })
 * ```
 */
export const crossEntropyConfig = type({
  '+': 'reject',
  eps: '0 <= number < 1 = 0.00001',
  w: 'number = 0',
});

/** The resolved {@link crossEntropyConfig}. */
export type CrossEntropyConfig = typeof crossEntropyConfig.infer;
/** {@link crossEntropyConfig} as written. */
export type CrossEntropyConfigInput = typeof crossEntropyConfig.inferIn;

/**
 * Options of {@link crossEntropy}: the JSON config, the SDE, the classifier's logits and
 * optionally a {@link Weighting} λ(t, σ) that replaces the default σ^(−2w) (give `w` or
 * `weighting`, not both).
 */
export type CrossEntropyOptions = CrossEntropyConfigInput & {
  /** The forward SDE whose kernel p_{0t} perturbs the data. */
  readonly sde: Sde;
  /** The noise-conditioned classifier `(params, x̃, t) → logits [B, C]`. */
  readonly logits: ParametricFn<tf.Tensor2D>;
  /** The per-sample weight λ(t, σ) of −log p(y | x̃); default `sigmaPower(−w)` = σ^(−2w). */
  readonly weighting?: Weighting;
};

/**
 * The noisy classifier's cross-entropy, the "base" classifier objective of Chao et al. 2022
 * (L_CE = E[−log p(y | x̃, σ; θ)]): x̃ = mean(x, t) + σ z at t ~ U(ε, T) per sample, the
 * per-sample −log p(y | x̃, t) weighted by λ(t, σ) (`weighting`; default σ^(−2w)), averaged
 * over the batch as term
 * `crossEntropy`. log p uses core's second-order-safe log-softmax and a one-hot product, so
 * the loss may sit beside DLSM in a double-back-propagated objective. Inside `sum` it shares
 * the perturbation and the classifier's forward pass with a `dlsm` term of the same SDE,
 * logits function and ε (see `lossKeys`, `withSharing`).
 *
 * @example
 * ```ts
 * const ce = crossEntropy({ sde: veSde(), logits: (p, x, t) => net(p, x, t) });
 * const { total } = ce(params, { x, y }, key(0));
 * ```
 */
export function crossEntropy(options: CrossEntropyOptions): Loss<LabelledBatch> {
  const { sde, logits, weighting, ...json } = options;
  const config = parseConfig(crossEntropyConfig, json, 'crossEntropy');
  if (weighting !== undefined && json.w !== undefined)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `crossEntropy: give w or weighting, not both (w was ${json.w})`,
      path: 'weighting',
    });
  if (weighting !== undefined)
    requireFunction(weighting, 'crossEntropy', 'weighting', 'a Weighting (t, σ) → [B]');
  requireSde(sde, 'crossEntropy');
  requireFunction(logits, 'crossEntropy', 'logits', 'a ParametricFn (params, x, t) → [B, C]');
  const { eps, w } = config;
  const lambdaOf = weighting ?? sigmaPower(-w);
  return (params, batch, key, scope) =>
    tidyLossValue(() => {
      const ev = evaluateNoisyClassifier({ sde, logits, eps, params, batch, key, scope });
      const lambda = applyWeighting(lambdaOf, ev.t, ev.std, 'crossEntropy: weighting');
      return termValue('crossEntropy', tf.mean(tf.mul(tf.neg(ev.logp), lambda)) as tf.Scalar);
    });
}
