/**
 * @scorekit/datasets — CIFAR-10/100 readers (official binaries, split files, PNG class
 * folders) with streaming and validation, batching with keyed shuffles and augmentations,
 * and the toy data of Chao et al. 2022 §6 (two moons, Gaussian mixtures) with their exact
 * oracle scores.
 */
export * from './augment.js';
export * from './batches.js';
export * from './cifar.js';
export * from './cifarBinary.js';
export * from './datasetConfig.js';
export * from './gaussianMixture.js';
export * from './imageFolder.js';
export * from './imageSet.js';
export * from './io.js';
export * from './moons.js';
export * from './parzen.js';
export * from './png.js';
export * from './pointSet.js';
export * from './resize.js';
export * from './selection.js';
export * from './source.js';
