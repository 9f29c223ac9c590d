import type { Key, Params } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ApplyOptions, Model, ModelVariables } from './model.js';
import { initVariables, type LayerContext, type VariableSpec } from './variables.js';

/**
 * A {@link Model} whose variables are declared up front as {@link VariableSpec}s: `init`
 * allocates exactly these, and their count is known without allocating anything (e.g. the
 * 11.3 M parameters of the paper's ResNet-18 classifier).
 */
export interface Network<Out extends tf.Tensor = tf.Tensor> extends Model<Out> {
  readonly specs: readonly VariableSpec[];
}

/**
 * Builds a {@link Network} from its name, resolved config, variable specs and a forward pass
 * over a {@link LayerContext}. `apply` runs the forward pass inside `tf.tidy` and returns an
 * owned tensor; batch-norm buffers are updated in place when `training` is true.
 *
 * @example
 * ```ts
 * const fc = denseLayer('fc', { inFeatures: 2, outFeatures: 2 });
 * const net = network('fc', {}, fc.specs, (ctx, x) => fc.apply(ctx, x));
 * ```
 */
export function network<Out extends tf.Tensor>(
  name: string,
  config: unknown,
  specs: readonly VariableSpec[],
  forward: (ctx: LayerContext, x: tf.Tensor, cond: tf.Tensor1D) => Out,
): Network<Out> {
  return {
    name,
    config,
    specs,
    init: (key: Key): ModelVariables => initVariables(key, specs),
    apply: (params: Params, x: tf.Tensor, cond: tf.Tensor1D, options: ApplyOptions): Out =>
      tf.tidy(() =>
        forward(
          {
            params,
            buffers: options.buffers,
            training: options.training,
            ...(options.key ? { key: options.key } : {}),
          },
          x,
          cond,
        ),
      ),
  };
}
