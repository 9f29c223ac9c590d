/** Shared helpers of the scorekit example CLIs (not a library API). */
export * from './outputPath.js';
export * from './overrides.js';
export * from './progress.js';
