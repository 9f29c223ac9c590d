import * as tf from '@tensorflow/tfjs-core';

/**
 * A sharing scope: a value that memoises expensive evaluations (a perturbed batch, a
 * classifier's forward and backward pass) between the terms of one loss evaluation. `sum`
 * creates one and passes it to every term as the fourth argument of `Loss`; a term that can
 * share hands it to `evaluateNoisyClassifier` (or calls `shared` itself). Nothing is global:
 * a term evaluated without a scope computes everything itself. (Chao et al. 2022's reference
 * code computes its DLSM and CE terms from one perturbed batch and one forward pass.)
 */
export interface SharingScope {
  /**
   * `compute()` the first time `descriptor` is seen in this scope, the memoised value after.
   * Descriptors are compared element by element with `Object.is`. The value's tensors belong
   * to the scope: derive new tensors from them, never dispose or return them unchanged.
   */
  shared<V>(descriptor: readonly unknown[], compute: () => V): V;
}

interface Entry {
  readonly descriptor: readonly unknown[];
  readonly value: unknown;
  readonly tensors: readonly tf.Tensor[];
}

const sameDescriptor = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

function tensorsIn(value: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) tensorsIn(v, out);
  return out;
}

/**
 * Runs `f` with a sharing scope and disposes the scope's tensors when `f` returns or throws.
 * Given an `outer` scope (a `sum` nested in a `sum`), `f` runs in it and nothing is disposed
 * here. This is how `sum(dlsm(c), crossEntropy(c))` evaluates the classifier once at the
 * shared x̃ (Chao et al. 2022, the total loss L_DLSM + λ L_CE, as the reference code does).
 *
 * @example
 * ```ts
 * const v = withSharing((scope) => tf.tidy(() => add(a(p, b, k, scope), c(p, b, k, scope))));
 * ```
 */
export function withSharing<T>(f: (scope: SharingScope) => T, outer?: SharingScope): T {
  if (outer) return f(outer);
  const entries: Entry[] = [];
  const scope: SharingScope = {
    shared<V>(descriptor: readonly unknown[], compute: () => V): V {
      const hit = entries.find((e) => sameDescriptor(e.descriptor, descriptor));
      if (hit) return hit.value as V;
      const value = compute();
      const tensors = tensorsIn(value);
      for (const t of tensors) tf.keep(t);
      entries.push({ descriptor, value, tensors });
      return value;
    },
  };
  try {
    return f(scope);
  } finally {
    for (const e of entries) for (const t of e.tensors) t.dispose();
  }
}

/**
 * `scope.shared(descriptor, compute)` when a scope is given, else just `compute()` (a term
 * evaluated on its own). Put every function, SDE, params record, batch and key word the value
 * depends on in `descriptor`. For library authors whose loss terms share an expensive
 * evaluation inside a `sum` (Chao et al. 2022's DLSM and CE share one forward pass).
 *
 * @example
 * ```ts
 * const myTerm: Loss<B> = (params, batch, key, scope) => tidyLossValue(() => {
 *   const h = shared(scope, ['myForward', net, params, batch, key[0], key[1]], () => net(params, batch.x));
 *   return termValue('myTerm', tf.mean(tf.square(h)) as tf.Scalar);
 * });
 * ```
 */
export function shared<V>(
  scope: SharingScope | undefined,
  descriptor: readonly unknown[],
  compute: () => V,
): V {
  return scope ? scope.shared(descriptor, compute) : compute();
}
