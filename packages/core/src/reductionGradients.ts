import './gradients.js'; // tfjs's own gradients must be registered before we replace these
import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradients of `Sum` and `Mean`, ∂/∂x Σ_axes x = 1 (÷ the count for the mean), broadcast
 * back over the reduced axes: tfjs's own multiply dy by `ones(x.shape)`, a tensor it fills in
 * JavaScript and uploads at every backward pass (measured: ≈ 6 % of a unetSmall DSM step on
 * wasm). These multiply by a ones tensor the backend fills itself (`tf.fill`). Same values,
 * same structure (a product with a constant), so second-order gradients are unchanged.
 */
const REDUCTIONS = ['Sum', 'Mean'] as const;

let done = false;

/**
 * Registers the {@link REDUCTIONS} gradients. Called once when @scorekit/core is imported;
 * idempotent unless `force` (after something re-registers tfjs's own gradients, e.g. loading
 * `@tensorflow/tfjs-node`).
 *
 * @example
 * ```ts
 * registerReductionGradients({ force: true }); // after importing @tensorflow/tfjs-node
 * ```
 */
export function registerReductionGradients(options: { readonly force?: boolean } = {}): void {
  if (done && !options.force) return;
  for (const kernelName of REDUCTIONS)
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => ({
        x: () => {
          const x = saved[0]!;
          const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
          const expandedShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
          const derX = tf.mul(tf.reshape(dy as tf.Tensor, expandedShape), tf.fill(x.shape, 1));
          if (kernelName === 'Sum') return derX;
          const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
          return tf.div(derX, count);
        },
      }),
    });
  done = true;
}

/** The kernels whose gradients {@link registerReductionGradients} replaces. */
export const reductionGradientKernels: readonly string[] = REDUCTIONS;

registerReductionGradients();
