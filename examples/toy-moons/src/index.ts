/**
 * The two-moons experiment of Chao et al. (ICLR 2022, §5.1) as a library: configuration and
 * presets, the training stages (checkpointed, resumable, parallel in child processes), the
 * pipeline, the report and the figure writers. The CLI is `main.ts`.
 */
export * from './cli.js';
export * from './config.js';
export * from './output.js';
export * from './parallel.js';
export * from './pipeline.js';
export * from './report.js';
export * from './rundir.js';
export * from './scores.js';
export * from './stages.js';
export * from './svg.js';
