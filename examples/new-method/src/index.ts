/**
 * @scorekit/example-new-method — a guide that runs: a new loss term (the confidence penalty,
 * beside DLSM with its own time weighting) and a new guidance rule (t-dependent scale,
 * classifier gradient clipped relative to the score), written against scorekit's public API.
 */
export * from './clippedGuidance.js';
export * from './confidencePenalty.js';
export * from './run.js';
