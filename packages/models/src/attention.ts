import * as tf from '@tensorflow/tfjs-core';
import { ninLayer } from './dense.js';
import { groupNormLayer } from './groupNorm.js';
import type { Layer } from './variables.js';

/** Options of {@link attentionLayer}. */
export interface AttentionOptions {
  readonly channels: number;
  /** Divide the residual sum by √2 (NCSN++'s `skip_rescale`, default true). */
  readonly skipRescale?: boolean;
  /** default_init scale of the output projection NIN_3 (0 → 1e-10, the NCSN++ default). */
  readonly initScale?: number;
}

/**
 * Self-attention over spatial positions (Vaswani et al. 2017; the `AttnBlockpp` of NCSN++,
 * Song et al. 2021 App. H, from DDPM, Ho et al. 2020): h = GroupNorm(x); q, k, v = NIN_0..2(h)
 * (1×1 projections); w = softmax_j(q_i · k_j / √C) over the H·W positions; out = NIN_3(w v);
 * return (x + out)/√2 (or x + out). Batched matMuls and `tf.softmax` (whose gradient
 * @scorekit/core re-registers), no einsum. Variables `<name>.GroupNorm_0.*`,
 * `<name>.NIN_{0..3}.W` [C, C] and `.b` [C].
 *
 * @example
 * ```ts
 * const attn = attentionLayer('all_modules.5', { channels: 64 });
 * attn.apply(ctx, x); // [B, 16, 16, 64] → [B, 16, 16, 64]
 * ```
 */
export function attentionLayer(name: string, o: AttentionOptions): Layer {
  const c = o.channels;
  const norm = groupNormLayer(`${name}.GroupNorm_0`, { channels: c, eps: 1e-6 });
  const nins = [0.1, 0.1, 0.1, o.initScale ?? 0].map((initScale, i) =>
    ninLayer(`${name}.NIN_${i}`, { inFeatures: c, outFeatures: c, initScale }),
  ) as [Layer, Layer, Layer, Layer];
  const specs = [...norm.specs, ...nins.flatMap((l) => l.specs)];
  const skipRescale = o.skipRescale ?? true;
  return {
    specs,
    apply: (ctx, x) =>
      tf.tidy(() => {
        const [b, h, w] = x.shape as [number, number, number, number];
        const nin = (i: 0 | 1 | 2 | 3, v: tf.Tensor) => nins[i].apply(ctx, v);
        const hn = norm.apply(ctx, x);
        const q = tf.reshape(nin(0, hn), [b, h * w, c]) as tf.Tensor3D;
        const k = tf.reshape(nin(1, hn), [b, h * w, c]) as tf.Tensor3D;
        const v = tf.reshape(nin(2, hn), [b, h * w, c]) as tf.Tensor3D;
        const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(c));
        const weights = tf.softmax(logits, -1) as tf.Tensor3D;
        const attended = tf.reshape(tf.matMul(weights, v), [b, h, w, c]);
        const out = tf.add(x, nin(3, attended));
        return skipRescale ? tf.mul(out, Math.SQRT1_2) : out;
      }),
  };
}
