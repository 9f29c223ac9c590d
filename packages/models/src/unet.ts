import { parseConfig, perSample, ScorekitException, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { silu } from './activations.js';
import { attentionLayer } from './attention.js';
import { conv2dLayer } from './conv.js';
import { groupNormLayer } from './groupNorm.js';
import { type Network, network } from './network.js';
import { noiseEmbeddingLayer } from './noiseEmbedding.js';
import { downsampleLayer, upsampleLayer } from './resample.js';
import { type EmbeddingLayer, residualBlock } from './residualBlock.js';
import type { Layer, LayerContext } from './variables.js';

/**
 * Config of {@link scoreUnet}, score_sde's NCSN++/DDPM++ (Song et al. 2021, App. H) with
 * naive (box / nearest) resampling instead of FIR filters. Defaults are the paper's CIFAR-10
 * score model, NCSN++ cont. deep (VE) — see `ncsnppCifar10`.
 */
export const scoreUnetConfig = type({
  imageSize: 'number.integer > 0 = 32',
  channels: 'number.integer > 0 = 3',
  /** Base width. */
  nf: 'number.integer >= 4 = 128',
  /** Width multipliers per resolution (one level per entry; each level but the last halves H, W). */
  chMult: ['(number.integer > 0)[] >= 1', '=', () => [1, 2, 2, 2]],
  /** Residual blocks per resolution (down path; the up path has one more). */
  numResBlocks: 'number.integer > 0 = 8',
  /** Resolutions (H = W) that get an attention block after each residual block. */
  attnResolutions: ['(number.integer > 0)[]', '=', () => [16]],
  /** Attention in the middle block (always on in score_sde). */
  midAttention: 'boolean = true',
  dropout: '0 <= number < 1 = 0.1',
  /** 'biggan' (resampling inside residual blocks, NCSN++) or 'ddpm' (separate Down/Upsample). */
  resblockType: "'ddpm' | 'biggan' = 'biggan'",
  /** 'residual': score_sde's input pyramid (strided convs of the image added at each level). */
  progressiveInput: "'none' | 'residual' = 'residual'",
  /** With 'ddpm' blocks: resample with a 3×3 conv (true) or by pooling / nearest only. */
  resampWithConv: 'boolean = true',
  skipRescale: 'boolean = true',
  /** default_init scale of the layers that close a residual branch and of the output conv. */
  initScale: 'number >= 0 = 0',
  /** 'fourier': Gaussian Fourier features of log σ (VE); 'sinusoidal': of sinusoidalScale·σ (VP). */
  embedding: "'fourier' | 'sinusoidal' = 'fourier'",
  fourierScale: 'number > 0 = 16',
  sinusoidalScale: 'number > 0 = 999',
  /** Divide the output by σ (score_sde `scale_by_sigma`, the VE parametrisation s ≈ −z/σ). */
  scaleBySigma: 'boolean = true',
  /** Inputs already in [−1, 1]; false maps x ∈ [0, 1] to 2x − 1 inside. */
  centered: 'boolean = false',
});
/** The resolved config of {@link scoreUnet} (Song et al. 2021, App. H). */
export type ScoreUnetConfig = typeof scoreUnetConfig.infer;
/** What {@link scoreUnet} accepts: any subset of the config, e.g. `{ ...unetTiny, channels: 1 }`. */
export type ScoreUnetOptions = typeof scoreUnetConfig.inferIn;

function configError(path: string, message: string): never {
  throw new ScorekitException({
    _tag: 'ConfigError',
    message: `scoreUnet: ${path} ${message}`,
    path,
  });
}

function checkConfig(c: ScoreUnetConfig): void {
  const levels = c.chMult.length;
  if (c.imageSize % 2 ** (levels - 1) !== 0)
    configError(
      'imageSize',
      `must be divisible by 2^(chMult.length − 1) = ${2 ** (levels - 1)} (was ${c.imageSize})`,
    );
}

/**
 * A noise-conditional score U-Net s(x, σ; φ) ≈ ∇ₓ log p_σ(x): score_sde's NCSN++ / DDPM++
 * (Song et al. 2021, App. H; the paper's score model, Chao et al. 2022 §5), built in the same
 * module order as the reference so that variable names match its state dict
 * (`all_modules.<i>.<sub>`): noise embedding (Gaussian Fourier features of log σ, or
 * sinusoidal) → dense → SiLU → dense; input conv; per resolution `numResBlocks` residual
 * blocks (+ attention at `attnResolutions`) and a down-sampling step (a BigGAN residual block
 * with mean-pool, or a stride-2 conv), with the optional residual input pyramid; middle
 * residual / attention / residual; the mirrored up path over concatenated skips; GroupNorm →
 * SiLU → conv; output divided by σ when `scaleBySigma`. Inputs in [0, 1] are mapped to [−1, 1]
 * unless `centered`.
 *
 * Simplification: resampling is naive (2×2 mean / nearest) where the paper's config uses FIR
 * [1, 3, 3, 1] filters; this changes no parameter count.
 *
 * @example
 * ```ts
 * const unet = scoreUnet({ ...unetTiny, imageSize: 16 });
 * const { params, buffers } = unet.init(key(0));
 * const s = unet.apply(params, x, sigma, { training: false, buffers }); // like x
 * ```
 */
export function scoreUnet(options: ScoreUnetOptions = {}): Network<tf.Tensor4D> {
  const c = parseConfig(scoreUnetConfig, options, 'scoreUnet');
  checkConfig(c);
  try {
    return buildUnet(c);
  } catch (cause) {
    // a width that group norm cannot split: report it against the config
    if (cause instanceof ScorekitException && cause.error._tag === 'ShapeError')
      configError('nf', `(${c.nf}) × chMult gives a width group norm cannot use: ${cause.message}`);
    throw cause;
  }
}

function buildUnet(c: ScoreUnetConfig): Network<tf.Tensor4D> {
  const { nf, chMult, numResBlocks } = c;
  const levels = chMult.length;
  const resolutions = chMult.map((_, i) => c.imageSize / 2 ** i);
  const hasAttn = (level: number) => c.attnResolutions.includes(resolutions[level] as number);
  let index = 0;
  const next = () => `all_modules.${index++}`;

  const tembDim = 4 * nf;
  const embNames =
    c.embedding === 'fourier'
      ? { fourier: next(), dense0: next(), dense1: next() }
      : { fourier: '', dense0: next(), dense1: next() };
  const embedding = noiseEmbeddingLayer({
    kind: c.embedding,
    size: nf,
    fourierScale: c.fourierScale,
    sinusoidalScale: c.sinusoidalScale,
    dim: tembDim,
    names: embNames,
  });
  const block = (inChannels: number, outChannels?: number, resample?: 'up' | 'down') =>
    residualBlock(next(), {
      kind: c.resblockType,
      inChannels,
      ...(outChannels === undefined ? {} : { outChannels }),
      ...(resample === undefined ? {} : { resample }),
      tembDim,
      dropout: c.dropout,
      skipRescale: c.skipRescale,
      initScale: c.initScale,
    });
  const attn = (channels: number) =>
    attentionLayer(next(), { channels, skipRescale: c.skipRescale, initScale: c.initScale });

  const inputConv = conv2dLayer(next(), { inChannels: c.channels, outChannels: nf, init: 'ddpm' });
  const hsChannels = [nf];
  let inCh = nf;
  let pyramidCh = c.channels;
  interface DownLevel {
    blocks: { res: EmbeddingLayer; attn?: Layer }[];
    down?: { kind: 'block'; layer: EmbeddingLayer } | { kind: 'plain'; layer: Layer };
    pyramid?: Layer;
  }
  const down: DownLevel[] = [];
  for (let level = 0; level < levels; level++) {
    const entry: DownLevel = { blocks: [] };
    for (let b = 0; b < numResBlocks; b++) {
      const outCh = nf * (chMult[level] as number);
      const res = block(inCh, outCh);
      inCh = outCh;
      entry.blocks.push(hasAttn(level) ? { res, attn: attn(inCh) } : { res });
      hsChannels.push(inCh);
    }
    if (level !== levels - 1) {
      entry.down =
        c.resblockType === 'ddpm'
          ? {
              kind: 'plain',
              layer: downsampleLayer(next(), { channels: inCh, withConv: c.resampWithConv }),
            }
          : { kind: 'block', layer: block(inCh, undefined, 'down') };
      if (c.progressiveInput === 'residual') {
        entry.pyramid = downsampleLayer(next(), { channels: pyramidCh, outChannels: inCh });
        pyramidCh = inCh;
      }
      hsChannels.push(inCh);
    }
    down.push(entry);
  }
  inCh = hsChannels.at(-1) as number;
  const mid1 = block(inCh);
  const midAttn = c.midAttention ? attn(inCh) : undefined;
  const mid2 = block(inCh);
  interface UpLevel {
    blocks: EmbeddingLayer[];
    attn?: Layer;
    up?: { kind: 'block'; layer: EmbeddingLayer } | { kind: 'plain'; layer: Layer };
  }
  const up: UpLevel[] = [];
  for (let level = levels - 1; level >= 0; level--) {
    const entry: UpLevel = { blocks: [] };
    for (let b = 0; b < numResBlocks + 1; b++) {
      const outCh = nf * (chMult[level] as number);
      entry.blocks.push(block(inCh + (hsChannels.pop() as number), outCh));
      inCh = outCh;
    }
    if (hasAttn(level)) entry.attn = attn(inCh);
    if (level !== 0)
      entry.up =
        c.resblockType === 'ddpm'
          ? {
              kind: 'plain',
              layer: upsampleLayer(next(), { channels: inCh, withConv: c.resampWithConv }),
            }
          : { kind: 'block', layer: block(inCh, undefined, 'up') };
    up.push(entry);
  }
  const outNorm = groupNormLayer(next(), { channels: inCh, eps: 1e-6 });
  const outConv = conv2dLayer(next(), {
    inChannels: inCh,
    outChannels: c.channels,
    init: 'ddpm',
    initScale: c.initScale,
  });

  const specs = [
    ...embedding.specs,
    ...inputConv.specs,
    ...down.flatMap((d) => [
      ...d.blocks.flatMap((b) => [...b.res.specs, ...(b.attn?.specs ?? [])]),
      ...(d.down?.layer.specs ?? []),
      ...(d.pyramid?.specs ?? []),
    ]),
    ...mid1.specs,
    ...(midAttn?.specs ?? []),
    ...mid2.specs,
    ...up.flatMap((u) => [
      ...u.blocks.flatMap((b) => b.specs),
      ...(u.attn?.specs ?? []),
      ...(u.up?.layer.specs ?? []),
    ]),
    ...outNorm.specs,
    ...outConv.specs,
  ];

  const resample = (
    step: { kind: 'block'; layer: EmbeddingLayer } | { kind: 'plain'; layer: Layer },
    ctx: LayerContext,
    h: tf.Tensor,
    temb: tf.Tensor2D,
  ) => (step.kind === 'block' ? step.layer.apply(ctx, h, temb) : step.layer.apply(ctx, h));

  const forward = (ctx: LayerContext, x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor4D => {
    if (
      x.rank !== 4 ||
      x.shape[1] !== c.imageSize ||
      x.shape[2] !== c.imageSize ||
      x.shape[3] !== c.channels
    )
      shapeError(
        'scoreUnet',
        `images [B, ${c.imageSize}, ${c.imageSize}, ${c.channels}]`,
        `shape [${x.shape}]`,
      );
    if (sigma.rank !== 1 || sigma.shape[0] !== x.shape[0])
      shapeError(
        'scoreUnet',
        `one noise level per image (${x.shape[0]})`,
        `shape [${sigma.shape}]`,
      );
    const temb = embedding.apply(ctx, sigma);
    const input = c.centered ? x : tf.sub(tf.mul(x, 2), 1);
    let pyramid = input;
    const hs: tf.Tensor[] = [inputConv.apply(ctx, input)];
    for (const level of down) {
      for (const b of level.blocks) {
        let h = b.res.apply(ctx, hs.at(-1) as tf.Tensor, temb);
        if (b.attn) h = b.attn.apply(ctx, h);
        hs.push(h);
      }
      if (level.down) {
        let h = resample(level.down, ctx, hs.at(-1) as tf.Tensor, temb);
        if (level.pyramid) {
          pyramid = level.pyramid.apply(ctx, pyramid);
          pyramid = c.skipRescale ? tf.mul(tf.add(pyramid, h), Math.SQRT1_2) : tf.add(pyramid, h);
          h = pyramid;
        }
        hs.push(h);
      }
    }
    let h = mid1.apply(ctx, hs.at(-1) as tf.Tensor, temb);
    if (midAttn) h = midAttn.apply(ctx, h);
    h = mid2.apply(ctx, h, temb);
    for (const level of up) {
      for (const b of level.blocks)
        h = b.apply(ctx, tf.concat([h, hs.pop() as tf.Tensor], 3), temb);
      if (level.attn) h = level.attn.apply(ctx, h);
      if (level.up) h = resample(level.up, ctx, h, temb);
    }
    h = outConv.apply(ctx, silu(outNorm.apply(ctx, h)));
    return (c.scaleBySigma ? tf.div(h, perSample(sigma, 4)) : h) as tf.Tensor4D;
  };
  return network('scoreUnet', c, specs, forward);
}
