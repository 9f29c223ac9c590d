import * as tf from '@tensorflow/tfjs-core';
import { silu } from './activations.js';
import { conv2dLayer } from './conv.js';
import { denseLayer, ninLayer } from './dense.js';
import { dropout } from './dropout.js';
import { groupNormLayer } from './groupNorm.js';
import { meanPool } from './pooling.js';
import { upsampleNearest } from './resample.js';
import { type LayerContext, type VariableSpec, variableKey } from './variables.js';

/** A block that also reads the noise embedding (the residual blocks of a score U-Net). */
export interface EmbeddingLayer {
  readonly specs: readonly VariableSpec[];
  apply(ctx: LayerContext, x: tf.Tensor, temb: tf.Tensor2D | undefined): tf.Tensor;
}

/** Options of {@link residualBlock}. */
export interface ResidualBlockOptions {
  readonly inChannels: number;
  /** Default: `inChannels`. */
  readonly outChannels?: number;
  /** Width of the noise embedding; omit for an unconditional block. */
  readonly tembDim?: number;
  /** 'ddpm' (ResnetBlockDDPMpp, NIN shortcut) or 'biggan' (ResnetBlockBigGANpp, may resample). */
  readonly kind: 'ddpm' | 'biggan';
  /** BigGAN blocks only: nearest ×2 up-sampling or 2×2 mean-pool down-sampling inside. */
  readonly resample?: 'up' | 'down';
  readonly dropout?: number;
  /** Divide the residual sum by √2 (default true). */
  readonly skipRescale?: boolean;
  /** default_init scale of Conv_1 (0 → 1e-10: the block starts as its shortcut). */
  readonly initScale?: number;
}

/**
 * The residual blocks of DDPM++ / NCSN++ (Song et al. 2021, App. H; Ho et al. 2020; BigGAN,
 * Brock et al. 2019): h = Conv_0(SiLU(GroupNorm_0(x))) + Dense_0(SiLU(temb)) broadcast over
 * H, W; h = Conv_1(Dropout(SiLU(GroupNorm_1(h)))); out = (shortcut(x) + h)/√2. The shortcut is
 * NIN_0 (ddpm) or the 1×1 Conv_2 (biggan) when the channels change or the block resamples;
 * BigGAN blocks resample both paths after GroupNorm_0 (naive nearest / mean-pool resampling,
 * score_sde's `fir = False`). Init: default_init, Conv_1 scaled by `initScale`.
 *
 * @example
 * ```ts
 * const block = residualBlock('all_modules.4', { kind: 'ddpm', inChannels: 64, outChannels: 128, tembDim: 512 });
 * block.apply(ctx, h, temb); // [B, H, W, 64] → [B, H, W, 128]
 * ```
 */
export function residualBlock(name: string, o: ResidualBlockOptions): EmbeddingLayer {
  const inCh = o.inChannels;
  const outCh = o.outChannels ?? inCh;
  const gn0 = groupNormLayer(`${name}.GroupNorm_0`, { channels: inCh, eps: 1e-6 });
  const conv0 = conv2dLayer(`${name}.Conv_0`, {
    inChannels: inCh,
    outChannels: outCh,
    init: 'ddpm',
  });
  const dense0 =
    o.tembDim === undefined
      ? undefined
      : denseLayer(`${name}.Dense_0`, { inFeatures: o.tembDim, outFeatures: outCh, init: 'ddpm' });
  const gn1 = groupNormLayer(`${name}.GroupNorm_1`, { channels: outCh, eps: 1e-6 });
  const conv1 = conv2dLayer(`${name}.Conv_1`, {
    inChannels: outCh,
    outChannels: outCh,
    init: 'ddpm',
    initScale: o.initScale ?? 0,
  });
  const resample = o.kind === 'biggan' ? o.resample : undefined;
  if (o.kind === 'ddpm' && o.resample !== undefined)
    throw new RangeError(`residualBlock '${name}': only 'biggan' blocks resample`);
  const needsShortcut = inCh !== outCh || resample !== undefined;
  const shortcut = !needsShortcut
    ? undefined
    : o.kind === 'ddpm'
      ? ninLayer(`${name}.NIN_0`, { inFeatures: inCh, outFeatures: outCh })
      : conv2dLayer(`${name}.Conv_2`, {
          inChannels: inCh,
          outChannels: outCh,
          kernelSize: 1,
          init: 'ddpm',
        });
  const rate = o.dropout ?? 0;
  const skipRescale = o.skipRescale ?? true;
  const resampleFn = (t: tf.Tensor) =>
    resample === 'up' ? upsampleNearest(t, 2) : resample === 'down' ? meanPool(t, 2) : t;
  return {
    specs: [
      gn0,
      conv0,
      ...(dense0 ? [dense0] : []),
      gn1,
      conv1,
      ...(shortcut ? [shortcut] : []),
    ].flatMap((l) => l.specs),
    apply: (ctx, x, temb) =>
      tf.tidy(() => {
        let h = silu(gn0.apply(ctx, x));
        let skip = x;
        if (resample !== undefined) {
          h = resampleFn(h);
          skip = resampleFn(x);
        }
        h = conv0.apply(ctx, h);
        if (dense0 && temb) {
          const bias = dense0.apply(ctx, silu(temb));
          h = tf.add(h, tf.reshape(bias, [bias.shape[0] as number, 1, 1, outCh]));
        }
        h = silu(gn1.apply(ctx, h));
        const key = ctx.key === undefined ? undefined : variableKey(ctx.key, `${name}.Dropout_0`);
        h = dropout(h, rate, { training: ctx.training, key });
        h = conv1.apply(ctx, h);
        if (shortcut) skip = shortcut.apply(ctx, skip);
        const out = tf.add(skip, h);
        return skipRescale ? tf.mul(out, Math.SQRT1_2) : out;
      }),
  };
}
