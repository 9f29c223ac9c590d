/**
 * @scorekit/models — parametric networks as data: building blocks (dense, conv, group / batch
 * norm, Fourier and sinusoidal embeddings, attention, resampling, dropout) declared by named
 * variable specs with pure `apply` functions; the paper's models (toy MLPs, the
 * noise-conditioned ResNet classifier, the NCSN++ score U-Net); parameter counting and
 * summaries; and bindings to ScoreFn / LogitsFn / ParametricFn.
 * Chao et al. 2022 §5–6; Song et al. 2021 App. H.
 */
export * from './activations.js';
export * from './attention.js';
export * from './batchNorm.js';
export * from './bind.js';
export * from './conv.js';
export * from './dense.js';
export * from './dropout.js';
export * from './fourier.js';
export * from './groupNorm.js';
export * from './init.js';
export * from './model.js';
export * from './network.js';
export * from './noiseEmbedding.js';
export * from './params.js';
export * from './pooling.js';
export * from './resample.js';
export * from './residualBlock.js';
export * from './resnet.js';
export * from './timeEmbedding.js';
export * from './toyMlp.js';
export * from './unet.js';
export * from './unetPresets.js';
export * from './variables.js';
