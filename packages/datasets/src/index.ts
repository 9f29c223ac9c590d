/**
 * @scorekit/datasets — CIFAR-10/100 readers (official binaries, split files, PNG class
 * folders) with streaming and validation, batching with keyed shuffles and augmentations,
 * and the toy data of Chao et al. 2022 §6 (two moons, Gaussian mixtures) with their exact
 * oracle scores. Browser-safe: the file-system readers (CIFAR directories, PNG class folders,
 * `openDataset`) and the PNG codec are in `@scorekit/datasets/node`; the binary-record
 * source `binSource` and `readRange` / `fileSize` / `readLabelNames` load anywhere and need
 * Node's file system only when they read.
 */
export * from './augment.js';
export * from './batches.js';
export * from './cifarBinary.js';
export * from './gaussianMixture.js';
export * from './imageSet.js';
export * from './io.js';
export * from './moons.js';
export * from './parzen.js';
export * from './png.js';
export * from './pointSet.js';
export * from './resize.js';
export * from './selection.js';
export * from './source.js';
