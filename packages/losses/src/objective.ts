import { type ParametricFn, parseConfig, type ScoreFn, type Sde } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { weighted } from './combinators.js';
import { crossEntropy } from './crossEntropy.js';
import { dlsm } from './dlsm.js';
import type { LabelledBatch, Loss } from './loss.js';
import { sum } from './monoid.js';

/**
 * JSON config of {@link classifierObjective}, mirroring the reference code's `loss_type`,
 * `coef`, `weighting_dlsm` and `weighting_ce`: `method` `'crossEntropy'` (the paper's "base"
 * classifier), `'dlsm'` (DLSM alone) or `'total'` (L_DLSM + λ L_CE, "ours"); `lambda` λ
 * (1 for CIFAR, 0.125 for the toy); `eps`; `wDlsm` and `wCe` the σ-weighting powers (CIFAR
 * 0 and 0; toy 2 and 0). (Chao et al. 2022, the total loss L_DLSM + λ L_CE.)
 *
 * @example
 * ```ts
 * decodeConfig(classifierObjectiveConfig, { lambda: 0.125, wDlsm: 2 }, 'toy.json');
 * // Right({ method: 'total', lambda: 0.125, eps: 0.00001, wDlsm: 2, wCe: 0 })
 * ```
 */
export const classifierObjectiveConfig = type({
  '+': 'reject',
  method: "'total' | 'dlsm' | 'crossEntropy' = 'total'",
  lambda: 'number >= 0 = 1',
  eps: '0 <= number < 1 = 0.00001',
  wDlsm: 'number = 0',
  wCe: 'number = 0',
});

/** The resolved {@link classifierObjectiveConfig}. */
export type ClassifierObjectiveConfig = typeof classifierObjectiveConfig.infer;
/** {@link classifierObjectiveConfig} as written. */
export type ClassifierObjectiveConfigInput = typeof classifierObjectiveConfig.inferIn;

/** The code parts of {@link classifierObjective}. */
export interface ClassifierObjectiveParts {
  readonly sde: Sde;
  readonly logits: ParametricFn<tf.Tensor2D>;
  /** The frozen score model; required unless `method` is `'crossEntropy'`. */
  readonly score?: ScoreFn;
}

/**
 * The classifier objectives of Chao et al. 2022 from JSON config: `'crossEntropy'` → L_CE,
 * `'dlsm'` → L_DLSM, `'total'` → `sum(dlsm(…), weighted(λ)(crossEntropy(…)))`, i.e.
 * L_DLSM + λ L_CE, the paper's method. Both terms use the same ε, so they share x̃ and the
 * classifier's forward pass, as in the reference code.
 *
 * @example
 * ```ts
 * const loss = classifierObjective({ method: 'total', lambda: 0.125, wDlsm: 2 }, { sde, logits, score });
 * ```
 */
export function classifierObjective(
  input: ClassifierObjectiveConfigInput,
  parts: ClassifierObjectiveParts,
): Loss<LabelledBatch> {
  const config = parseConfig(classifierObjectiveConfig, input, 'classifierObjective');
  const { sde, logits, score } = parts;
  const ce = () => crossEntropy({ sde, logits, eps: config.eps, w: config.wCe });
  const dl = () => dlsm({ sde, logits, score: score!, eps: config.eps, w: config.wDlsm });
  switch (config.method) {
    case 'crossEntropy':
      return ce();
    case 'dlsm':
      return dl();
    case 'total':
      return sum(dl(), weighted(config.lambda)(ce()));
    default: {
      const never: never = config.method;
      throw new Error(`classifierObjective: unknown method ${String(never)}`);
    }
  }
}
