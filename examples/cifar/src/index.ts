/**
 * The CIFAR-10 experiment of Chao et al. (ICLR 2022, §5) as a library: configuration and
 * presets, data loading, checkpoints, the four stages (train-score, train-classifier, sample,
 * evaluate) and the command line. The CLI entry point is `main.ts`.
 */
export * from './checkpoints.js';
export * from './cli.js';
export * from './config.js';
export * from './data.js';
export * from './evaluate.js';
export * from './merge.js';
export * from './output.js';
export * from './queue.js';
export * from './runFolder.js';
export * from './sample.js';
export * from './shard.js';
export * from './shardCli.js';
export * from './shardFeatures.js';
export * from './trainClassifier.js';
export * from './trainingStage.js';
export * from './trainScore.js';
export * from './worker.js';
