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
 * The error of a function that reads parameters or buffers that were already disposed — e.g. a
 * score function bound to a training state's EMA params after that state was disposed. `name`
 * is `'DisposedParamsError'`; `variable` names the first disposed tensor and `what` the
 * function or layer that read it.
 *
 * @example
 * ```ts
 * try { score(x, t); } catch (e) { if (e instanceof DisposedParamsError) rebind(); }
 * ```
 */
export class DisposedParamsError extends Error {
  readonly variable: string;
  readonly what: string;
  constructor(what: string, variable: string, kind: 'parameter' | 'buffer') {
    super(
      `${what}: ${kind} '${variable}' was disposed — the ${kind}s this function reads were freed ` +
        '(e.g. by disposing the training state or the model variables it was bound to); ' +
        'bind it to live (or cloned) params',
    );
    this.name = 'DisposedParamsError';
    this.variable = variable;
    this.what = what;
  }
}

/**
 * Throws a {@link DisposedParamsError} naming `what` if any tensor of `params` or `buffers` is
 * disposed. The bindings call it before every evaluation, so a function bound to freed weights
 * fails with a message saying so instead of tfjs's "Tensor is disposed".
 *
 * @example
 * ```ts
 * assertLive('bindScore', vars.params, vars.buffers);
 * ```
 */
export function assertLive(what: string, params: Params, buffers: Buffers = {}): void {
  for (const [name, p] of Object.entries(params))
    if (p.isDisposed) throw new DisposedParamsError(what, name, 'parameter');
  for (const [name, b] of Object.entries(buffers))
    if (b.isDisposed) throw new DisposedParamsError(what, name, 'buffer');
}

/**
 * The parameter `name` of `ctx`, or a ShapeError naming it when absent (e.g. params of
 * another model were passed); a {@link DisposedParamsError} if it was disposed.
 *
 * @example
 * ```ts
 * const w = getParam(ctx, 'classifier.linear.weight');
 * ```
 */
export function getParam(ctx: LayerContext, name: string): tf.Tensor {
  const p = ctx.params[name];
  if (p === undefined) missing('parameter', name, Object.keys(ctx.params).length);
  if (p.isDisposed) throw new DisposedParamsError('apply', name, 'parameter');
  return p;
}

/**
 * The buffer `name` of `ctx`, or a ShapeError naming it when absent; a
 * {@link DisposedParamsError} if it was disposed.
 *
 * @example
 * ```ts
 * const frequencies = getBuffer(ctx, 'condition_modules.0.W');
 * ```
 */
export function getBuffer(ctx: LayerContext, name: string): tf.Variable {
  const b = ctx.buffers[name];
  if (b === undefined) missing('buffer', name, Object.keys(ctx.buffers).length);
  if (b.isDisposed) throw new DisposedParamsError('apply', name, 'buffer');
  return b;
}

function missing(what: string, name: string, n: number): never {
  throw new ScorekitException({
    _tag: 'ShapeError',
    message: `${what} '${name}': expected it in the ${what}s passed to apply, got ${n} ${what}s without it`,
  });
}
