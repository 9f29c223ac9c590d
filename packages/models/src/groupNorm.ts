import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { ones, zeros } from './init.js';
import { getParam, type Layer, type VariableSpec } from './variables.js';

/** Options of {@link groupNormLayer}. */
export interface GroupNormOptions {
  readonly channels: number;
  /** Number of groups; must divide `channels`. Default: score_sde's min(⌊C/4⌋, 32). */
  readonly groups?: number;
  /** ε added to the group variance (default 1e-6 as in score_sde; PyTorch's default is 1e-5). */
  readonly eps?: number;
}

/**
 * score_sde's group count for C channels: min(⌊C/4⌋, 32), at least 1 (Wu & He 2018 use 32).
 *
 * @example
 * ```ts
 * defaultGroups(64); // 16
 * ```
 */
export function defaultGroups(channels: number): number {
  return Math.max(1, Math.min(Math.floor(channels / 4), 32));
}

/**
 * The variables of a group norm (Wu & He 2018): `<name>.weight` (γ, ones) and `<name>.bias`
 * (β, zeros), [C].
 *
 * @example
 * ```ts
 * groupNormSpecs('GroupNorm_0', 64); // two specs of shape [64]
 * ```
 */
export function groupNormSpecs(name: string, channels: number): VariableSpec[] {
  return [
    { name: `${name}.weight`, shape: [channels], init: ones, trainable: true },
    { name: `${name}.bias`, shape: [channels], init: zeros, trainable: true },
  ];
}

/**
 * Group normalisation (Wu & He 2018, eq. 1–3): channels split into G groups; each sample and
 * group is normalised by its own mean and (biased) variance over (H, W, C/G), then scaled by
 * γ and shifted by β per channel. No batch statistics, so train and inference modes agree.
 * Built from `tf.moments` (differentiable to second order). Used by NCSN++ (Song et al. 2021,
 * App. H) and as the classifier option `norm: 'group'`.
 *
 * @example
 * ```ts
 * const gn = groupNormLayer('GroupNorm_0', { channels: 64 }); // 16 groups
 * const h = gn.apply(ctx, x); // x [B, H, W, 64]
 * ```
 */
export function groupNormLayer(name: string, o: GroupNormOptions): Layer {
  const c = o.channels;
  const g = o.groups ?? defaultGroups(c);
  const eps = o.eps ?? 1e-6;
  if (c % g !== 0)
    shapeError(`groupNorm '${name}'`, `groups dividing ${c} channels`, `${g} groups`);
  return {
    specs: groupNormSpecs(name, c),
    apply: (ctx, x) =>
      tf.tidy(() => {
        if (x.shape[x.rank - 1] !== c)
          shapeError(`groupNorm '${name}'`, `${c} channels`, `shape [${x.shape}]`);
        const lead = x.shape.slice(0, -1);
        const grouped = tf.reshape(x, [...lead, g, c / g]);
        const axes = grouped.shape.map((_, i) => i).filter((i) => i !== 0 && i !== lead.length);
        // moments by hand, reusing x − mean for the output (see batchNorm.ts)
        const centered = tf.sub(grouped, tf.mean(grouped, axes, true));
        const variance = tf.mean(tf.square(centered), axes, true);
        const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
        const y = tf.reshape(normed, x.shape);
        return tf.add(tf.mul(y, getParam(ctx, `${name}.weight`)), getParam(ctx, `${name}.bias`));
      }),
  };
}
