// The sibling contracts training builds on, re-exported as types only (erased at run time, so
// training loads no @scorekit/losses or @scorekit/models code).

/**
 * `Loss<Batch> = (params, batch, key) => LossValue` and `LossValue = { total, terms }` from
 * `@scorekit/losses` (packages/losses/src/loss.ts). {@link fit} differentiates `total` with
 * respect to `params`; the loss may contain an input gradient (DLSM, Chao et al. 2022, eq. 10),
 * which makes that a second-order derivative.
 *
 * @example
 * ```ts
 * const quadratic: Loss<tf.Tensor> = (p, x) =>
 *   tidyLossValue(() => termValue('mse', tf.mean(tf.square(tf.sub(p.w!, x))) as tf.Scalar));
 * ```
 */
export type { Loss, LossValue } from '@scorekit/losses';

/**
 * `Buffers = Readonly<Record<string, tf.Variable>>` from `@scorekit/models`
 * (packages/models/src/model.ts): batch-norm statistics and fixed Fourier frequencies (Chao et
 * al. 2022 §5), saved as `buffers.safetensors`.
 *
 * @example
 * ```ts
 * await saveCheckpoint(dir, { state, optimizer, buffers: model.init(key(0)).buffers, config })();
 * ```
 */
export type { Buffers } from '@scorekit/models';
