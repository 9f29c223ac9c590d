import * as tf from '@tensorflow/tfjs-core';
import { perSample } from '../tensor.js';
import type { ScoreFn } from '../types.js';
import type { Discretization, Sde } from './types.js';

/** The reverse-time SDE (or probability-flow ODE) of an {@link Sde} under a score. */
export interface ReverseSde {
  readonly T: number;
  readonly N: number;
  readonly probabilityFlow: boolean;
  /** Reverse drift f − g² s (SDE) or f − ½ g² s (ODE). */
  drift(x: tf.Tensor, t: tf.Tensor1D): tf.Tensor;
  /** g(t) (SDE) or 0 (ODE), [B]. */
  diffusion(t: tf.Tensor1D): tf.Tensor1D;
  /** Discretised reverse step: f_rev = f − G² s (× ½ for the ODE), G_rev = G (0 for the ODE). */
  discretize(x: tf.Tensor, t: tf.Tensor1D): Discretization;
}

/**
 * Derives the reverse-time SDE dx = [f − g² ∇ log p_t] dt + g dw̄ (Song et al. 2021, eq. 6)
 * or, with `probabilityFlow`, the probability-flow ODE dx = [f − ½ g² ∇ log p_t] dt (eq. 13),
 * once for all SDE kinds. Time runs backwards: samplers step from T to ε.
 *
 * @example
 * ```ts
 * const rsde = reverse(veSde(), score, { probabilityFlow: true });
 * const dxdt = rsde.drift(x, t);
 * ```
 */
export function reverse(
  sde: Sde,
  score: ScoreFn,
  options: { readonly probabilityFlow?: boolean } = {},
): ReverseSde {
  const probabilityFlow = options.probabilityFlow ?? false;
  const factor = probabilityFlow ? 0.5 : 1;
  return {
    T: sde.T,
    N: sde.N,
    probabilityFlow,
    drift: (x, t) =>
      tf.tidy(() => {
        const g2 = perSample(tf.square(sde.diffusion(t)), x.rank);
        return tf.sub(sde.drift(x, t), tf.mul(tf.mul(g2, score(x, t)), factor));
      }),
    diffusion: (t) =>
      tf.tidy(() => (probabilityFlow ? tf.zerosLike(t) : sde.diffusion(t))) as tf.Tensor1D,
    discretize: (x, t) =>
      tf.tidy(() => {
        const { f, G } = sde.discretize(x, t);
        const G2 = perSample(tf.square(G), x.rank);
        const revF = tf.sub(f, tf.mul(tf.mul(G2, score(x, t)), factor));
        return { f: revF, G: (probabilityFlow ? tf.zerosLike(G) : G) as tf.Tensor1D };
      }),
  };
}
