import type { ScoreUnetOptions } from './unet.js';

/**
 * The paper's CIFAR-10 score model (Chao et al. 2022 §5; Song et al. 2021 NCSN++ cont. deep,
 * VE; reference `configs/score/cifar10_score_configs.py`): nf 128, channel multipliers
 * (1, 2, 2, 2), 8 residual blocks per resolution, attention at 16×16, BigGAN residual blocks,
 * residual input pyramid, dropout 0.1, Fourier embedding (scale 16) of log σ, output / σ,
 * inputs in [0, 1]. Far too large for a CPU: count its parameters, do not run it.
 *
 * @example
 * ```ts
 * countSpecs(scoreUnet(ncsnppCifar10).specs);
 * ```
 */
export const ncsnppCifar10: ScoreUnetOptions = {
  imageSize: 32,
  channels: 3,
  nf: 128,
  chMult: [1, 2, 2, 2],
  numResBlocks: 8,
  attnResolutions: [16],
  midAttention: true,
  dropout: 0.1,
  resblockType: 'biggan',
  progressiveInput: 'residual',
  skipRescale: true,
  initScale: 0,
  embedding: 'fourier',
  fourierScale: 16,
  scaleBySigma: true,
  centered: false,
};

/**
 * A CPU-sized score U-Net for 32×32 images (two resolutions, 32 and 16): nf 16, channel
 * multipliers (1, 2), one residual block per resolution, DDPM blocks, no attention at all
 * (attention over 16×16 = 256 positions would dominate the cost on wasm), no dropout;
 * otherwise the NCSN++ (VE) choices.
 *
 * @example
 * ```ts
 * const unet = scoreUnet(unetTiny);
 * ```
 */
export const unetTiny: ScoreUnetOptions = {
  imageSize: 32,
  channels: 3,
  nf: 16,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [],
  midAttention: false,
  dropout: 0,
  resblockType: 'ddpm',
  progressiveInput: 'none',
  skipRescale: true,
  initScale: 0,
  embedding: 'fourier',
  fourierScale: 16,
  scaleBySigma: true,
  centered: false,
};

/**
 * A small NCSN++ for 32×32 images on a CPU: nf 32, multipliers (1, 2, 2) (resolutions 32, 16,
 * 8), one residual block per resolution, attention at 8×8, BigGAN blocks, residual input
 * pyramid, dropout 0.1 — the paper's architecture at a fraction of its size.
 *
 * @example
 * ```ts
 * const unet = scoreUnet({ ...unetSmall, channels: 1, imageSize: 16 });
 * ```
 */
export const unetSmall: ScoreUnetOptions = {
  imageSize: 32,
  channels: 3,
  nf: 32,
  chMult: [1, 2, 2],
  numResBlocks: 1,
  attnResolutions: [8],
  midAttention: true,
  dropout: 0.1,
  resblockType: 'biggan',
  progressiveInput: 'residual',
  skipRescale: true,
  initScale: 0,
  embedding: 'fourier',
  fourierScale: 16,
  scaleBySigma: true,
  centered: false,
};
