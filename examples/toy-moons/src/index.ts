/**
 * The two-moons experiment of Chao et al. (ICLR 2022, §5.1) as a library: configuration and
 * presets, the pipeline, the report and the figure writers. The CLI is `main.ts`.
 */
export * from './cli.js';
export * from './config.js';
export * from './output.js';
export * from './pipeline.js';
export * from './report.js';
export * from './svg.js';
