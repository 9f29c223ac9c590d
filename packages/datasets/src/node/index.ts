/**
 * @scorekit/datasets/node — the Node-only part of @scorekit/datasets: CIFAR-10/100 directory
 * readers (Krizhevsky 2009), PNG class-folder readers, `openDataset` (a dataset config → an
 * image source) and PNG decoding/encoding (pngjs). The in-memory parts are in the
 * browser-safe `@scorekit/datasets`.
 */
export * from '../cifar.js';
export * from '../datasetConfig.js';
export * from '../imageFolder.js';
export * from './pngCodec.js';
