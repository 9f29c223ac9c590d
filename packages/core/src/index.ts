import './secondOrder.js'; // registers second-order-safe gradients before anything runs

/**
 * @scorekit/core — tensors, explicit random keys, SDEs (VE, VP, sub-VP)
 * with reverse-time and probability-flow forms, noise schedules and shared types.
 * Browser-safe; the Node-only backend set-up is in `@scorekit/core/node`.
 * Song et al. 2021, "Score-Based Generative Modeling through Stochastic Differential Equations".
 */
export * from './config.js';
export * from './errors.js';
export * from './kernelTraits.js';
export * from './labels.js';
export * from './likelihoodScore.js';
export * from './noise.js';
export * from './random.js';
export * from './reductionGradients.js';
export * from './sde/index.js';
export * from './secondOrder.js';
export * from './tensor.js';
export * from './types.js';
export * from './unwrap.js';
export * from './wasmKernels.js';
