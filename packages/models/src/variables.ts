import { fold, type Key, type Params, ScorekitException } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Initializer } from './init.js';
import type { Buffers, ModelVariables } from './model.js';

/**
 * The declaration of one named variable of a network: its checkpoint name (PyTorch-like,
 * e.g. `layer1.0.conv1.weight`), shape, initialiser and whether it is a trainable parameter
 * or a buffer (batch-norm running statistics, fixed Fourier frequencies). Networks declare
 * their variables up front, so parameters can be counted without allocating them.
 *
 * @example
 * ```ts
 * const spec: VariableSpec = { name: 'fc.bias', shape: [10], init: zeros, trainable: true };
 * ```
 */
export interface VariableSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initializer;
  readonly trainable: boolean;
}

/** FNV-1a hash of a variable name: the integer folded into the init key. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The key of the variable `name` under the model key `k`: `fold(k, hash(name))`. Each
 * variable's initial value depends only on the model key and its own name, so adding a
 * layer does not change the initial values of the others.
 *
 * @example
 * ```ts
 * normal(variableKey(key(0), 'fc.weight'), [4, 2]);
 * ```
 */
export function variableKey(k: Key, name: string): Key {
  return fold(k, nameHash(name));
}

/**
 * Allocates the variables declared by `specs` from key `k`: trainable ones as plain tensors
 * (the {@link Params} a loss differentiates), the others as non-trainable `tf.Variable`s
 * (the {@link Buffers} updated in place in training mode). Throws on duplicate names.
 *
 * @example
 * ```ts
 * const { params, buffers } = initVariables(key(0), denseLayer('fc', { inFeatures: 2, outFeatures: 3 }).specs);
 * ```
 */
export function initVariables(k: Key, specs: readonly VariableSpec[]): ModelVariables {
  assertUniqueNames(specs);
  const params: Record<string, tf.Tensor> = {};
  const buffers: Record<string, tf.Variable> = {};
  for (const spec of specs) {
    const values = spec.init(variableKey(k, spec.name), spec.shape);
    if (spec.trainable) {
      params[spec.name] = tf.tensor(values, [...spec.shape], 'float32');
    } else {
      const initial = tf.tensor(values, [...spec.shape], 'float32');
      buffers[spec.name] = tf.variable(initial, false);
      initial.dispose();
    }
  }
  return { params, buffers };
}

/**
 * Throws a ConfigError if two specs share a name (a bug in a network definition).
 *
 * @example
 * ```ts
 * assertUniqueNames([...fc.specs, ...fc.specs]); // throws: duplicate variable name 'fc.weight'
 * ```
 */
export function assertUniqueNames(specs: readonly VariableSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name))
      throw new ScorekitException({
        _tag: 'ConfigError',
        message: `duplicate variable name '${s.name}' in a network definition`,
        path: s.name,
      });
    seen.add(s.name);
  }
}

/**
 * What a layer reads when it runs: the params and buffers by name, the mode, and the key for
 * dropout. The same record flows through every layer of a network.
 */
export interface LayerContext {
  readonly params: Params;
  readonly buffers: Buffers;
  /** Training mode: batch statistics (with running-average updates) and dropout on. */
  readonly training: boolean;
  /** Randomness for dropout (folded per layer); required only for dropout > 0 in training. */
  readonly key?: Key;
}

/**
 * A building block as data: the variables it declares and a pure `apply` that reads them by
 * name from a {@link LayerContext}. Networks are layers composed by hand.
 *
 * @example
 * ```ts
 * const fc = denseLayer('fc', { inFeatures: 2, outFeatures: 3 });
 * const y = fc.apply({ params, buffers: {}, training: false }, x);
 * ```
 */
export interface Layer {
  readonly specs: readonly VariableSpec[];
  apply(ctx: LayerContext, x: tf.Tensor): tf.Tensor;
}

/**
 * The parameter `name` of `ctx`, or a ShapeError naming it when absent (e.g. params of
 * another model were passed).
 *
 * @example
 * ```ts
 * const w = getParam(ctx, 'classifier.linear.weight');
 * ```
 */
export function getParam(ctx: LayerContext, name: string): tf.Tensor {
  const p = ctx.params[name];
  if (p === undefined) missing('parameter', name, Object.keys(ctx.params).length);
  return p;
}

/**
 * The buffer `name` of `ctx`, or a ShapeError naming it when absent.
 *
 * @example
 * ```ts
 * const frequencies = getBuffer(ctx, 'condition_modules.0.W');
 * ```
 */
export function getBuffer(ctx: LayerContext, name: string): tf.Variable {
  const b = ctx.buffers[name];
  if (b === undefined) missing('buffer', name, Object.keys(ctx.buffers).length);
  return b;
}

function missing(what: string, name: string, n: number): never {
  throw new ScorekitException({
    _tag: 'ShapeError',
    message: `${what} '${name}': expected it in the ${what}s passed to apply, got ${n} ${what}s without it`,
  });
}
