import { ScorekitException } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Monoid } from 'fp-ts/lib/Monoid.js';
import { type Loss, type LossValue, tidyLossValue } from './loss.js';
import { withSharing } from './sharing.js';

/**
 * The zero loss value: total 0 and no terms (the identity of {@link lossValueMonoid}).
 * Returns a fresh scalar owned by the caller.
 *
 * @example
 * ```ts
 * zeroLossValue(); // { total: 0, terms: {} }
 * ```
 */
export function zeroLossValue(): LossValue {
  return { total: tf.scalar(0), terms: {} };
}

/**
 * Adds loss values: totals add, and terms merge by name (terms of the same name add, so the
 * total always equals the sum of the terms it was built from). Does not dispose its inputs;
 * returns fresh tensors. The paper's objective L_DLSM + λ L_CE (Chao et al. 2022, the total loss) is
 * such a sum.
 *
 * @example
 * ```ts
 * concatLossValues([a, b]); // { total: a.total + b.total, terms: { ...a.terms ⊕ b.terms } }
 * ```
 */
export function concatLossValues(values: readonly LossValue[]): LossValue {
  return tidyLossValue(() => {
    let total: tf.Scalar = tf.scalar(0);
    const terms: Record<string, tf.Scalar> = {};
    values.forEach((v, i) => {
      if (v.total.rank !== 0)
        throw new ScorekitException({
          _tag: 'ShapeError',
          message: `loss value ${i}: expected a scalar total, got shape [${v.total.shape}]`,
        });
      total = tf.add(total, v.total);
      for (const [name, term] of Object.entries(v.terms)) {
        const prev = terms[name];
        terms[name] = prev === undefined ? tf.clone(term) : tf.add(prev, term);
      }
    });
    return { total, terms };
  });
}

/**
 * The fp-ts `Monoid` of loss values under addition (Chao et al. 2022's total loss adds DLSM
 * and λ·CE). `concat` is {@link concatLossValues} of two values; `empty` is a fresh
 * {@link zeroLossValue} on every access. Neither disposes anything: use it inside `tf.tidy`
 * (e.g. with fp-ts `concatAll`), like any tensor code.
 *
 * @example
 * ```ts
 * tf.tidy(() => concatAll(lossValueMonoid)([a, b, c]).total);
 * ```
 */
export const lossValueMonoid: Monoid<LossValue> = {
  concat: (a, b) => concatLossValues([a, b]),
  get empty() {
    return zeroLossValue();
  },
};

/**
 * The sum of losses: evaluates every term at the same (params, batch, key) and adds their
 * values (terms merge by name; use `renamed` to keep two same-named terms apart). The
 * paper's objective reads `sum(dlsm(c), weighted(λ)(crossEntropy(c)))` (Chao et al. 2022,
 * the total loss L_DLSM + λ L_CE; λ = 1 for CIFAR, 0.125 for the toy).
 *
 * Key convention: every term gets the *same* key. Each loss derives its time and noise with
 * `lossKeys(key)`, so terms that perturb the same batch with the same SDE and ε see the same
 * x̃ — as the reference DLSM code, which computes DLSM and CE from one perturbed batch — and
 * adding or removing a term never changes the others' noise. Wrap a term in
 * `independentNoise(tag)` to give it its own noise. Every term receives the sum's
 * {@link SharingScope} (a fresh one, or the scope passed to the sum itself when nested), so
 * terms evaluating the same classifier at the same x̃ share one forward pass (see
 * `withSharing`); the scope's tensors are freed when the sum returns. `sum()` is the zero loss.
 *
 * @example
 * ```ts
 * const objective = sum(dlsm({ sde, logits, score }), weighted(1)(crossEntropy({ sde, logits })));
 * const { total, terms } = objective(params, batch, key(0)); // terms: dlsm, crossEntropy
 * ```
 */
export function sum<B>(...losses: ReadonlyArray<Loss<B>>): Loss<B> {
  return (params, batch, key, outer) =>
    withSharing(
      (scope) =>
        tidyLossValue(() =>
          concatLossValues(losses.map((loss) => loss(params, batch, key, scope))),
        ),
      outer,
    );
}

/**
 * The zero loss: total 0, no terms, whatever the batch (the identity of {@link lossMonoid}).
 *
 * @example
 * ```ts
 * zeroLoss<LabelledBatch>()(params, batch, key(0)).total; // 0
 * ```
 */
export function zeroLoss<B>(): Loss<B> {
  return () => zeroLossValue();
}

/**
 * The fp-ts `Monoid` of losses over batches `B`: `concat(f, g) = sum(f, g)`, `empty` the zero
 * loss. Lawful up to float rounding of the totals (Chao et al. 2022's total loss is
 * `concat(dlsm, weighted(λ)(crossEntropy))`).
 *
 * @example
 * ```ts
 * const M = lossMonoid<LabelledBatch>();
 * const objective = concatAll(M)([dlsm(c), weighted(1)(crossEntropy(c))]);
 * ```
 */
export function lossMonoid<B>(): Monoid<Loss<B>> {
  return { concat: (f, g) => sum(f, g), empty: zeroLoss<B>() };
}
