/**
 * @scorekit/metrics/node — the Node-only part of @scorekit/metrics: tfjs model load/save
 * handlers for the local file system (`fileSystemLoader`, `fileSystemSaver`) and feature
 * extractors loaded from saved graph or layers models (`loadGraphModelExtractor`,
 * `loadLayersModelExtractor`; these need the optional peers `@tensorflow/tfjs-converter` /
 * `@tensorflow/tfjs-layers`). The metrics themselves are in the browser-safe
 * `@scorekit/metrics`.
 */
export * from '../fsIo.js';
export * from '../modelExtractor.js';
