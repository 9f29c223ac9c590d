import * as tf from '@tensorflow/tfjs-core';
import { normalInit } from './init.js';
import { getBuffer, type LayerContext, type VariableSpec } from './variables.js';

/** Options of {@link gaussianFourierLayer}. */
export interface GaussianFourierOptions {
  /** Number of random frequencies; the output has twice as many features (sin and cos). */
  readonly embeddingSize: number;
  /** Std of the frequencies, W ~ N(0, scale²) (16 in NCSN++ and the DLSM classifier). */
  readonly scale: number;
}

/** A layer whose input is a per-sample scalar [B] (a noise level, log σ or a time). */
export interface ScalarEmbeddingLayer {
  readonly specs: readonly VariableSpec[];
  apply(ctx: LayerContext, v: tf.Tensor1D): tf.Tensor2D;
}

/**
 * Gaussian Fourier features (Tancik et al. 2020; Song et al. 2021, App. H "Fourier feature
 * embedding" of log σ): [B] → [B, 2m], γ(v) = [sin(2π v W), cos(2π v W)] with m fixed random
 * frequencies W ~ N(0, scale²). W is a *buffer* `<name>.W` — not trained, but kept in the
 * checkpoint (Chao et al. 2022 §5: "kept in the checkpoint"), so a restored model embeds noise
 * levels exactly as the one that was trained.
 *
 * @example
 * ```ts
 * const ff = gaussianFourierLayer('condition_modules.0', { embeddingSize: 32, scale: 16 });
 * const emb = ff.apply(ctx, tf.log(sigma)); // [B, 64]
 * ```
 */
export function gaussianFourierLayer(
  name: string,
  o: GaussianFourierOptions,
): ScalarEmbeddingLayer {
  return {
    specs: [
      { name: `${name}.W`, shape: [o.embeddingSize], init: normalInit(o.scale), trainable: false },
    ],
    apply: (ctx, v) =>
      tf.tidy(() => {
        const w = getBuffer(ctx, `${name}.W`);
        const proj = tf.mul(tf.reshape(v, [-1, 1]), tf.mul(tf.reshape(w, [1, -1]), 2 * Math.PI));
        return tf.concat([tf.sin(proj), tf.cos(proj)], 1) as tf.Tensor2D;
      }),
  };
}
