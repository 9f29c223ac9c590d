import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { ones, zeros } from './init.js';
import { getBuffer, getParam, type Layer, type VariableSpec } from './variables.js';

/** Options of {@link batchNormLayer} (PyTorch's `nn.BatchNorm2d` defaults). */
export interface BatchNormOptions {
  readonly channels: number;
  /** Weight of the new batch statistic in the running averages (default 0.1). */
  readonly momentum?: number;
  /** ε added to the variance (default 1e-5). */
  readonly eps?: number;
}

/**
 * The variables of a batch norm: params `<name>.weight` (γ), `<name>.bias` (β) and buffers
 * `<name>.running_mean` (zeros), `<name>.running_var` (ones), all [C] (Ioffe & Szegedy 2015;
 * PyTorch's state-dict names).
 *
 * @example
 * ```ts
 * batchNormSpecs('bn1', 64).map((s) => s.name); // bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var
 * ```
 */
export function batchNormSpecs(name: string, channels: number): VariableSpec[] {
  return [
    { name: `${name}.weight`, shape: [channels], init: ones, trainable: true },
    { name: `${name}.bias`, shape: [channels], init: zeros, trainable: true },
    { name: `${name}.running_mean`, shape: [channels], init: zeros, trainable: false },
    { name: `${name}.running_var`, shape: [channels], init: ones, trainable: false },
  ];
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015, Alg. 1) over every axis but the last (channels),
 * with PyTorch's semantics:
 * - training: y = γ (x − μ_B) / √(σ²_B + ε) + β with the batch mean and *biased* variance
 *   (differentiable through μ_B and σ²_B, as in the reference DLSM classifier, Chao et al.
 *   2022 §5), and the buffers updated in place: running ← (1 − m)·running + m·batch, the
 *   variance with the *unbiased* n/(n − 1) correction (m = momentum = 0.1);
 * - inference: the running statistics instead.
 *
 * @example
 * ```ts
 * const bn = batchNormLayer('bn1', { channels: 64 });
 * bn.apply({ params, buffers, training: true }, x); // updates bn1.running_mean / running_var
 * ```
 */
export function batchNormLayer(name: string, o: BatchNormOptions): Layer {
  const c = o.channels;
  const momentum = o.momentum ?? 0.1;
  const eps = o.eps ?? 1e-5;
  return {
    specs: batchNormSpecs(name, c),
    apply: (ctx, x) =>
      tf.tidy(() => {
        if (x.shape[x.rank - 1] !== c)
          shapeError(`batchNorm '${name}'`, `${c} channels`, `shape [${x.shape}]`);
        const gamma = getParam(ctx, `${name}.weight`);
        const beta = getParam(ctx, `${name}.bias`);
        const runningMean = getBuffer(ctx, `${name}.running_mean`);
        const runningVar = getBuffer(ctx, `${name}.running_var`);
        let mean: tf.Tensor;
        let variance: tf.Tensor;
        let centered: tf.Tensor | undefined;
        if (ctx.training) {
          const n = x.size / c;
          if (n < 2)
            shapeError(
              `batchNorm '${name}' in training mode`,
              'more than 1 value per channel',
              `shape [${x.shape}]`,
            );
          const axes = x.shape.map((_, i) => i).slice(0, -1);
          // moments by hand: x − mean is computed once and reused for the output (tf.moments
          // would compute it a second time — two more full-size kernels, forward and backward)
          mean = tf.mean(x, axes);
          centered = tf.sub(x, mean);
          variance = tf.mean(tf.square(centered), axes);
          runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)));
          runningVar.assign(
            tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(variance, (momentum * n) / (n - 1))),
          );
        } else {
          mean = runningMean;
          variance = runningVar;
        }
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
        return tf.add(tf.mul(centered ?? tf.sub(x, mean), scale), beta);
      }),
  };
}
