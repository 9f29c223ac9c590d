import * as tf from '@tensorflow/tfjs-core';

interface Entry {
  readonly descriptor: readonly unknown[];
  readonly value: unknown;
  readonly tensors: readonly tf.Tensor[];
}

let active: Entry[] | undefined;

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
 * Runs `f` inside a sharing scope: within it, {@link shared} computations with equal
 * descriptors run once and their tensors are reused; they are disposed when the outermost
 * scope ends. `sum` opens one around its terms, which is how `sum(dlsm(c), crossEntropy(c))`
 * evaluates the classifier once at the shared x̃, as the reference implementation of Chao
 * et al. 2022 does (its `losses.py` computes the DLSM and CE terms from one perturbed batch
 * and one forward pass). Nested scopes join the outer one.
 *
 * @example
 * ```ts
 * const v = withSharing(() => tf.tidy(() => combine(a(p, b, k), c(p, b, k))));
 * ```
 */
export function withSharing<T>(f: () => T): T {
  if (active) return f();
  const entries: Entry[] = [];
  active = entries;
  try {
    return f();
  } finally {
    active = undefined;
    for (const e of entries) for (const t of e.tensors) t.dispose();
  }
}

/**
 * Whether a {@link withSharing} scope is active (inside a `sum`, which evaluates the terms of
 * Chao et al. 2022's total loss together).
 *
 * @example
 * ```ts
 * withSharing(() => sharingActive()); // true
 * ```
 */
export function sharingActive(): boolean {
  return active !== undefined;
}

/**
 * Memoises `compute` inside a {@link withSharing} scope under `descriptor` (compared element
 * by element with `Object.is`: put every function, SDE, params record, batch and key word
 * the value depends on). Outside a scope it just calls `compute`. The returned tensors are
 * owned by the scope when shared: callers must not dispose them or return them unchanged
 * (derive new tensors, e.g. inside `tf.tidy`). For library authors whose loss terms share
 * an expensive evaluation.
 *
 * @example
 * ```ts
 * const fwd = shared(['myForward', net, params, batch, key[0], key[1]], () => net(params, batch.x));
 * ```
 */
export function shared<V>(descriptor: readonly unknown[], compute: () => V): V {
  const scope = active;
  if (!scope) return compute();
  const hit = scope.find((e) => sameDescriptor(e.descriptor, descriptor));
  if (hit) return hit.value as V;
  const value = compute();
  const tensors = tensorsIn(value);
  for (const t of tensors) tf.keep(t);
  scope.push({ descriptor, value, tensors });
  return value;
}
