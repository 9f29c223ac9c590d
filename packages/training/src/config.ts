import { type } from 'arktype';
import { adamConfig } from './adam.js';

/**
 * The JSON config of a training run (score_sde's `config.training` + `config.optim`, Song et
 * al. 2021 App. H; Chao et al. 2022 §5): `optimizer` (see {@link adamConfig}), `steps`
 * (updates), `checkpointEvery` (0 = only at the end), `emaDecay` (`null` = no EMA; 0.999 for
 * the paper's score models, none for its classifiers), `batchSize` and `seed` (the base key).
 *
 * @example
 * ```ts
 * const cfg = parseConfig(trainingConfig, { steps: 60000, batchSize: 150 }, 'training');
 * cfg.optimizer.lr; // 2e-4
 * ```
 */
export const trainingConfig = type({
  optimizer: adamConfig.default(() => ({})),
  steps: 'number.integer >= 0 = 1000',
  checkpointEvery: 'number.integer >= 0 = 0',
  emaDecay: ['0 <= number < 1 | null', '=', null],
  batchSize: 'number.integer > 0 = 128',
  seed: 'number.integer = 0',
});

/**
 * The resolved {@link trainingConfig} (Song et al. 2021 App. H; Chao et al. 2022 §5).
 *
 * @example
 * ```ts
 * const cfg: TrainingConfig = parseConfig(trainingConfig, {}, 'training'); // cfg.steps === 1000
 * ```
 */
export type TrainingConfig = typeof trainingConfig.infer;
/**
 * A {@link trainingConfig} as a user writes it (every field optional; Chao et al. 2022 §5).
 *
 * @example
 * ```ts
 * const input: TrainingConfigInput = { steps: 60000, batchSize: 150 }; // the CIFAR classifier
 * ```
 */
export type TrainingConfigInput = typeof trainingConfig.inferIn;
