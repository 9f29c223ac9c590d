import {
  type ParametricFn,
  parseConfig,
  perSample,
  type ScoreFn,
  ScorekitException,
  type Sde,
  shapeError,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { frozen } from './frozen.js';
import { type LabelledBatch, type Loss, termValue, tidyLossValue } from './loss.js';
import { evaluateNoisyClassifier } from './noisyClassifier.js';
import { requireFunction, requireSde } from './options.js';
import { applyWeighting, sigmaPower, type Weighting } from './weighting.js';

/**
 * JSON config of {@link dlsm}: `eps` the smallest time (t ~ U(eps, T); 1e-5 for CIFAR) and
 * `w` the power of the weight σ^(2w) on the squared residual (`weighting_dlsm` of the
 * reference code; 0 for CIFAR, 2 for the toy). (Chao et al. 2022, L_DLSM.)
 *
 * @example
 * ```ts
 * decodeConfig(dlsmConfig, { w: 2, eps: 0 }, 'toy.json'); // Right({ eps: 0, w: 2 })
 * ```
 */
export const dlsmConfig = type({
  '+': 'reject',
  eps: '0 <= number < 1 = 0.00001',
  w: 'number = 0',
});

/** The resolved {@link dlsmConfig}. */
export type DlsmConfig = typeof dlsmConfig.infer;
/** {@link dlsmConfig} as written. */
export type DlsmConfigInput = typeof dlsmConfig.inferIn;

/**
 * Options of {@link dlsm}: the JSON config, the SDE, the classifier, the frozen score and
 * optionally a {@link Weighting} λ(t, σ) that replaces the default σ^(2w) (give `w` or
 * `weighting`, not both).
 */
export type DlsmOptions = DlsmConfigInput & {
  /** The forward SDE whose kernel p_{0t} perturbs the data. */
  readonly sde: Sde;
  /** The noise-conditioned classifier `(params, x̃, t) → logits [B, C]`; θ = params trains. */
  readonly logits: ParametricFn<tf.Tensor2D>;
  /**
   * The pre-trained unconditional score s(x̃, t; φ), already bound to its (EMA) weights. It is
   * evaluated with {@link frozen}: a constant, off the gradient tape.
   */
  readonly score: ScoreFn;
  /** The per-sample weight λ(t, σ) of the squared residual; default `sigmaPower(w)`. */
  readonly weighting?: Weighting;
};

/**
 * Denoising likelihood score matching (Chao et al. 2022, the DLSM loss):
 * L_DLSM(θ) = E ‖∇_x̃ log p(y | x̃, σ; θ) + s(x̃, σ; φ) − ∇_x̃ log p_{0t}(x̃ | x)‖², with t ~ U(ε, T)
 * and z ~ N(0, I) per sample, x̃ = mean(x, t) + σ z and target ∇ log p_{0t}(x̃ | x) = −z/σ
 * (= (x − x̃)/σ² for VE). Weighted per sample by λ(t, σ) (`weighting`; default σ^(2w), the
 * reference code's `weighting_dlsm`) and reduced, as the reference code, to ½ · the mean over
 * every element (batch × dims) of λ (g + s + z/σ)². Term `dlsm`.
 *
 * Only θ trains: s is a constant (see {@link frozen}). The likelihood score g is taken with
 * `tf.valueAndGrad` inside this function, so differentiating the loss by θ differentiates
 * through g (double back-propagation). Its minimiser is the true likelihood score: L_DLSM
 * equals the explicit loss E‖∇ log p(y|x̃; θ) − ∇ log p_σ(y|x̃)‖² up to a θ-independent
 * constant when s is the true prior score. Inside `sum` it shares x̃ and the classifier's
 * forward pass with a `crossEntropy` term (see `lossKeys`, `withSharing`).
 *
 * @example
 * ```ts
 * const loss = dlsm({ sde, logits: (p, x, t) => classifier(p, x, t), score: emaScore });
 * const grads = tf.grads((w: tf.Tensor) => loss({ w }, { x, y }, key(0)).total)([w]);
 * ```
 */
export function dlsm(options: DlsmOptions): Loss<LabelledBatch> {
  const { sde, logits, score, weighting, ...json } = options;
  const config = parseConfig(dlsmConfig, json, 'dlsm');
  if (weighting !== undefined && json.w !== undefined)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `dlsm: give w or weighting, not both (w was ${json.w})`,
      path: 'weighting',
    });
  if (weighting !== undefined)
    requireFunction(weighting, 'dlsm', 'weighting', 'a Weighting (t, σ) → [B]');
  requireSde(sde, 'dlsm');
  requireFunction(logits, 'dlsm', 'logits', 'a ParametricFn (params, x, t) → [B, C]');
  requireFunction(score, 'dlsm', 'score', 'a ScoreFn (x, t) → score (bound to its weights)');
  const { eps, w } = config;
  const lambdaOf = weighting ?? sigmaPower(w);
  const constantScore = frozen(score);
  return (params, batch, key, scope) =>
    tidyLossValue(() => {
      const ev = evaluateNoisyClassifier({
        sde,
        logits,
        eps,
        params,
        batch,
        key,
        inputGradient: true,
        scope,
      });
      const g = ev.inputGradient!;
      const s = constantScore(ev.xTilde, ev.t);
      if (!tf.util.arraysEqual(s.shape, g.shape))
        shapeError('dlsm: score', `shape [${g.shape}] (like x)`, `shape [${s.shape}]`);
      const lambda = applyWeighting(lambdaOf, ev.t, ev.std, 'dlsm: weighting');
      const residual = tf.add(tf.add(g, s), tf.div(ev.z, perSample(ev.std, g.rank)));
      const weighted = tf.mul(perSample(lambda, g.rank), tf.square(residual));
      return termValue('dlsm', tf.mul(tf.mean(weighted), 0.5) as tf.Scalar);
    });
}
