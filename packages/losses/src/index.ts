/**
 * @scorekit/losses — training objectives as values: denoising score matching for any SDE
 * (Song et al. 2021) with SMLD and DDPM forms, the noisy classifier's cross-entropy, and
 * denoising likelihood score matching (Chao et al. 2022), combined with an fp-ts Monoid so
 * the paper's objective reads `sum(dlsm(c), weighted(λ)(crossEntropy(c)))`.
 */
export * from './combinators.js';
export * from './crossEntropy.js';
export * from './discrete.js';
export * from './dlsm.js';
export * from './dsm.js';
export * from './frozen.js';
export * from './loss.js';
export * from './monoid.js';
export * from './noisyClassifier.js';
export * from './objective.js';
export * from './options.js';
export * from './perturb.js';
export * from './reduce.js';
export * from './sharing.js';
export * from './weighting.js';
