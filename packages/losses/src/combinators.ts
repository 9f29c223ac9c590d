import { fold, ScorekitException } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Loss, type LossValue, tidyLossValue } from './loss.js';
import { concatLossValues } from './monoid.js';

/**
 * Scales a loss by a constant weight λ: total and every term are multiplied by λ (terms are
 * "as they enter the total"). The λ of Chao et al. 2022's total loss L_DLSM + λ L_CE
 * (λ = 1 for CIFAR, 0.125 for the toy). Per-sample weightings λ(σ) are not combinators:
 * they act before the batch mean, so they are fields of each loss's config (`w`, `weighting`).
 *
 * @example
 * ```ts
 * const objective = sum(dlsm(c), weighted(0.125)(crossEntropy(c)));
 * ```
 */
export function weighted(lambda: number): <B>(loss: Loss<B>) => Loss<B> {
  if (!Number.isFinite(lambda))
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `weighted: lambda must be a finite number (was ${lambda})`,
      path: 'lambda',
    });
  return (loss) => (params, batch, key, scope) =>
    tidyLossValue(() => {
      const v = loss(params, batch, key, scope);
      const terms: Record<string, tf.Scalar> = {};
      for (const [name, term] of Object.entries(v.terms)) terms[name] = tf.mul(term, lambda);
      return { total: tf.mul(v.total, lambda) as tf.Scalar, terms };
    });
}

/** How {@link renamed} renames terms: a prefix, a partial map, or a function. */
export type Renaming = string | Readonly<Record<string, string>> | ((name: string) => string);

/**
 * Renames a loss's terms so logs can tell them apart: a string is a prefix (`'cls'` turns
 * `dlsm` into `cls/dlsm`), a record maps some names (others unchanged), a function maps all.
 * Terms that end up with the same name add (the monoid's merge rule). The total is
 * unchanged (Chao et al. 2022's total loss is a sum of named terms).
 *
 * @example
 * ```ts
 * renamed('classifier')(dlsm(c)); // terms: { 'classifier/dlsm': … }
 * renamed({ crossEntropy: 'ce' })(crossEntropy(c)); // terms: { ce: … }
 * ```
 */
export function renamed(renaming: Renaming): <B>(loss: Loss<B>) => Loss<B> {
  const rename =
    typeof renaming === 'function'
      ? renaming
      : typeof renaming === 'string'
        ? (name: string) => `${renaming}/${name}`
        : (name: string) => renaming[name] ?? name;
  return (loss) => (params, batch, key, scope) =>
    tidyLossValue(() => {
      const v = loss(params, batch, key, scope);
      const parts: LossValue[] = Object.entries(v.terms).map(([name, term]) => ({
        total: tf.scalar(0),
        terms: { [rename(name)]: term },
      }));
      const merged = concatLossValues(parts);
      return { total: tf.clone(v.total), terms: merged.terms };
    });
}

/**
 * Gives a loss its own noise: evaluates it at `fold(key, tag)` instead of the shared key
 * that `sum` passes to every term (see `lossKeys`). Use distinct tags for terms that must not
 * share t and z — e.g. two DSM terms on one batch; Chao et al. 2022's DLSM and CE terms share
 * their noise by default, as in the reference code.
 *
 * @example
 * ```ts
 * sum(dsm(a), independentNoise(1)(dsm(b))); // a and b perturb the batch independently
 * ```
 */
export function independentNoise(tag: number): <B>(loss: Loss<B>) => Loss<B> {
  if (!Number.isSafeInteger(tag) || tag < 0)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `independentNoise: tag must be a non-negative integer (was ${tag})`,
      path: 'tag',
    });
  return (loss) => (params, batch, key, scope) => loss(params, batch, fold(key, tag), scope);
}
