/**
 * @scorekit/native — optional oneDNN kernels for scorekit's wasm backend (issue 15): built at
 * install time when `libdnnl-dev` is present, loaded by `setupBackend` when built.
 */
export * from './addon.js';
export * from './kernels.js';
