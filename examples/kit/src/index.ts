/** Shared helpers of the scorekit example CLIs (not a library API). */
export * from './overrides.js';
export * from './progress.js';
