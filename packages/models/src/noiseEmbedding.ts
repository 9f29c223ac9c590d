import * as tf from '@tensorflow/tfjs-core';
import { silu } from './activations.js';
import { denseLayer } from './dense.js';
import { gaussianFourierLayer, type ScalarEmbeddingLayer } from './fourier.js';
import { sinusoidalEmbedding } from './timeEmbedding.js';

/** Options of {@link noiseEmbeddingLayer}. */
export interface NoiseEmbeddingOptions {
  /**
   * 'fourier': Gaussian Fourier features of log σ (continuous VE models, the paper's choice);
   * 'sinusoidal': the transformer embedding of `sinusoidalScale · σ` (DDPM-style, for VP).
   */
  readonly kind: 'fourier' | 'sinusoidal';
  /** Fourier: number of frequencies (2× features). Sinusoidal: embedding width. */
  readonly size: number;
  /** Std of the Fourier frequencies (default 16). */
  readonly fourierScale?: number;
  /** Multiplier of σ before the sinusoidal embedding (default 999, DDPM's timestep range). */
  readonly sinusoidalScale?: number;
  /** Width of both dense layers (128 for the DLSM classifier, 4·nf for NCSN++). */
  readonly dim: number;
  /** Variable-name prefixes: the Fourier module (unused by 'sinusoidal') and the two denses. */
  readonly names: { readonly fourier: string; readonly dense0: string; readonly dense1: string };
}

/**
 * The noise-level embedding of NCSN++ and of the DLSM classifier (Song et al. 2021, App. H;
 * Chao et al. 2022 §5): σ [B] → features (Gaussian Fourier of log σ, or sinusoidal) →
 * dense → SiLU → dense, [B, dim]. Both denses use score_sde's default_init with zero bias,
 * as in the reference code. Consumers apply SiLU again before their per-block projections.
 *
 * @example
 * ```ts
 * const emb = noiseEmbeddingLayer({ kind: 'fourier', size: 32, dim: 128,
 *   names: { fourier: 'condition_modules.0', dense0: 'condition_modules.1', dense1: 'condition_modules.2' } });
 * emb.apply(ctx, sigma); // [B, 128]
 * ```
 */
export function noiseEmbeddingLayer(o: NoiseEmbeddingOptions): ScalarEmbeddingLayer {
  const fourier =
    o.kind === 'fourier'
      ? gaussianFourierLayer(o.names.fourier, {
          embeddingSize: o.size,
          scale: o.fourierScale ?? 16,
        })
      : undefined;
  const featureDim = o.kind === 'fourier' ? 2 * o.size : o.size;
  const dense0 = denseLayer(o.names.dense0, {
    inFeatures: featureDim,
    outFeatures: o.dim,
    init: 'ddpm',
  });
  const dense1 = denseLayer(o.names.dense1, {
    inFeatures: o.dim,
    outFeatures: o.dim,
    init: 'ddpm',
  });
  const sinusoidalScale = o.sinusoidalScale ?? 999;
  return {
    specs: [...(fourier?.specs ?? []), ...dense0.specs, ...dense1.specs],
    apply: (ctx, sigma) =>
      tf.tidy(() => {
        const features = fourier
          ? fourier.apply(ctx, tf.log(sigma) as tf.Tensor1D)
          : sinusoidalEmbedding(tf.mul(sigma, sinusoidalScale) as tf.Tensor1D, o.size);
        return dense1.apply(ctx, silu(dense0.apply(ctx, features))) as tf.Tensor2D;
      }),
  };
}
