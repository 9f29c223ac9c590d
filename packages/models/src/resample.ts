import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dLayer } from './conv.js';
import { meanPool } from './pooling.js';
import type { Layer } from './variables.js';

/**
 * Nearest-neighbour up-sampling by `factor` written as reshape + broadcast (score_sde's
 * `naive_upsample_2d`): [B, H, W, C] → [B, fH, fW, C]. Avoids ResizeNearestNeighbor, whose
 * gradient has no gradient of its own.
 *
 * @example
 * ```ts
 * upsampleNearest(x); // [B, 8, 8, C] → [B, 16, 16, C]
 * ```
 */
export function upsampleNearest(x: tf.Tensor, factor = 2): tf.Tensor {
  if (x.rank !== 4) shapeError('upsampleNearest', '[B, H, W, C]', `shape [${x.shape}]`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  // broadcasting against ones (tfjs has no Tile gradient above rank 5)
  return tf.tidy(() =>
    tf.reshape(tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, factor, 1, factor, 1])), [
      b,
      h * factor,
      w * factor,
      c,
    ]),
  );
}

/** Options of {@link downsampleLayer} and {@link upsampleLayer}. */
export interface ResampleOptions {
  readonly channels: number;
  /** Output channels (default: `channels`). */
  readonly outChannels?: number;
  /** With a 3×3 conv (default true): stride-2 conv down, nearest + conv up. */
  readonly withConv?: boolean;
}

/**
 * DDPM's `Downsample` (Ho et al. 2020; Song et al. 2021 App. H, `resamp_with_conv`): a 3×3
 * stride-2 conv with 'same' padding (= score_sde's explicit (0, 1) padding), or a 2×2
 * reshape-mean average pool without conv. Variables `<name>.Conv_0.*` (default_init).
 *
 * @example
 * ```ts
 * downsampleLayer('all_modules.7', { channels: 64 }).apply(ctx, x); // H, W halved
 * ```
 */
export function downsampleLayer(name: string, o: ResampleOptions): Layer {
  if (!(o.withConv ?? true)) return { specs: [], apply: (_ctx, x) => meanPool(x, 2) };
  const conv = conv2dLayer(`${name}.Conv_0`, {
    inChannels: o.channels,
    outChannels: o.outChannels ?? o.channels,
    stride: 2,
    init: 'ddpm',
  });
  return conv;
}

/**
 * DDPM's `Upsample`: nearest-neighbour ×2 (reshape + broadcast), then a 3×3 conv when `withConv`
 * (default). Variables `<name>.Conv_0.*` (default_init).
 *
 * @example
 * ```ts
 * upsampleLayer('all_modules.30', { channels: 64 }).apply(ctx, x); // H, W doubled
 * ```
 */
export function upsampleLayer(name: string, o: ResampleOptions): Layer {
  if (!(o.withConv ?? true)) return { specs: [], apply: (_ctx, x) => upsampleNearest(x, 2) };
  const conv = conv2dLayer(`${name}.Conv_0`, {
    inChannels: o.channels,
    outChannels: o.outChannels ?? o.channels,
    init: 'ddpm',
  });
  return {
    specs: conv.specs,
    apply: (ctx, x) => tf.tidy(() => conv.apply(ctx, upsampleNearest(x, 2))),
  };
}
