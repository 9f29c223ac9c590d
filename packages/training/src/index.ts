/**
 * @scorekit/training — the training half of scorekit: Adam with warm-up and global-norm
 * clipping, EMA, a leak-free `fit` loop with named loss terms, NaN detection, atomic
 * safetensors checkpoints and exact resume (score_sde's `run_lib.train`, Song et al. 2021
 * App. H; DLSM classifier training, Chao et al. 2022 §5).
 */
export * from './adam.js';
export * from './atomic.js';
export * from './batches.js';
export * from './checkpoint.js';
export * from './clip.js';
export * from './config.js';
export * from './contracts.js';
export * from './ema.js';
export * from './fit.js';
export * from './fusedUpdates.js';
export * from './gradients.js';
export * from './lock.js';
export * from './optimizer.js';
export * from './printable.js';
export * from './safetensors.js';
export * from './warmup.js';
