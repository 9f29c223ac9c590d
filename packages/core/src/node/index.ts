/**
 * @scorekit/core/node — the Node-only part of @scorekit/core: tfjs backend set-up
 * (`setupBackend`, honouring `SCOREKIT_BACKEND`). Everything else is in the browser-safe
 * `@scorekit/core` entry.
 */
export * from './backend.js';
export * from './webgpu.js';
