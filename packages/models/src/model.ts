import type { Key, Params } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Non-trainable state: batch-norm running statistics and fixed random features (e.g. the
 * Gaussian Fourier frequencies). Variables, updated in place by `apply` in training mode;
 * saved in checkpoints beside the params. Names are checkpoint keys.
 */
export type Buffers = Readonly<Record<string, tf.Variable>>;

/** Options of {@link Model.apply}. */
export interface ApplyOptions {
  /** Training mode: batch statistics (and running-average updates), dropout on. */
  readonly training: boolean;
  readonly buffers: Buffers;
  /** Randomness for dropout; required when training with dropout > 0. */
  readonly key?: Key;
}

/** What {@link Model.init} returns: fresh params and buffers, owned by the caller. */
export interface ModelVariables {
  readonly params: Params;
  readonly buffers: Buffers;
}

/**
 * A network as data + pure functions (architecture: "models as init/apply over named
 * parameters"). `cond` is the per-sample noise conditioning [B] — the marginal std σ(t) for
 * the paper's models (Chao et al. 2022 §5; Song et al. 2021 App. H); use `bind*` helpers to
 * turn a model into a ScoreFn / LogitsFn over time t.
 */
export interface Model<Out extends tf.Tensor = tf.Tensor> {
  readonly name: string;
  /** The resolved, JSON-serialisable config the model was built from. */
  readonly config: unknown;
  init(key: Key): ModelVariables;
  apply(params: Params, x: tf.Tensor, cond: tf.Tensor1D, options: ApplyOptions): Out;
}
