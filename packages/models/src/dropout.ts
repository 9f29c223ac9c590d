import { type Key, uniform } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Inverted dropout (Srivastava et al. 2014): in training, each element is zeroed with
 * probability `rate` and the survivors are scaled by 1/(1 − rate); in inference (or with
 * rate 0) the identity. The mask comes from `key` (same key ⇒ same mask) and is built before
 * it multiplies `x`, so no comparison op enters the differentiated path.
 *
 * @example
 * ```ts
 * dropout(h, 0.1, { training: true, key: k });
 * ```
 */
export function dropout(
  x: tf.Tensor,
  rate: number,
  options: { readonly training: boolean; readonly key?: Key | undefined },
): tf.Tensor {
  if (!options.training || rate === 0) return tf.clone(x);
  if (rate < 0 || rate >= 1) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  const k = options.key;
  if (k === undefined)
    throw new RangeError('dropout: a key is required in training mode with rate > 0');
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(uniform(k, x.shape), rate), 'float32');
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
  });
}
