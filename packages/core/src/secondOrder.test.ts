import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { key, normal } from './random.js';
import { logSoftmax } from './secondOrder.js';

/**
 * L(W) = ‖∇ₓ Σ (h(xW) ⊙ c)‖² — the shape of the DLSM objective — differentiated w.r.t. W,
 * against central finite differences (float64 accumulation, float32 ops).
 */
function check(head: (z: tf.Tensor) => tf.Tensor): number {
  return tf.tidy(() => {
    const x = normal(key(1), [4, 3]);
    const W0 = normal(key(2), [3, 2]);
    const c = normal(key(3), [4, 2]);
    const loss = (W: tf.Tensor) => {
      const g = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(head(tf.matMul(xx as tf.Tensor2D, W as tf.Tensor2D)), c)),
      )(x);
      return tf.sum(tf.square(tf.sub(g, 0.3))) as tf.Scalar;
    };
    const analytic = Array.from(
      tf
        .grads((W: tf.Tensor) => loss(W))([W0])[0]!
        .dataSync(),
    );
    const w = W0.dataSync();
    const h = 1e-3;
    let worst = 0;
    const scale = Math.max(...analytic.map(Math.abs));
    for (let i = 0; i < w.length; i++) {
      const p = w.slice();
      const m = w.slice();
      p[i]! += h;
      m[i]! -= h;
      const fd =
        (loss(tf.tensor(p, [3, 2])).dataSync()[0]! - loss(tf.tensor(m, [3, 2])).dataSync()[0]!) /
        (2 * h);
      worst = Math.max(worst, Math.abs(fd - analytic[i]!) / scale);
    }
    return worst;
  });
}

describe('second-order gradients (double back-propagation)', () => {
  const heads: Record<string, (z: tf.Tensor) => tf.Tensor> = {
    tanh: (z) => tf.tanh(z),
    sigmoid: (z) => tf.sigmoid(z),
    silu: (z) => tf.mul(z, tf.sigmoid(z)),
    exp: (z) => tf.exp(tf.mul(z, 0.5)),
    softmax: (z) => tf.softmax(z),
    elu: (z) => tf.elu(z),
    'scorekit logSoftmax': (z) => logSoftmax(z),
    'logSumExp (max shift)': (z) => tf.logSumExp(z, -1, true),
  };
  it.each(Object.entries(heads))('%s matches finite differences', (_, head) => {
    expect(check(head)).toBeLessThan(5e-3);
  });

  it("tfjs's own logSoftmax still loses second-order paths (why core exports logSoftmax)", () => {
    expect(check((z) => tf.logSoftmax(z))).toBeGreaterThan(0.05);
  });

  it('logSoftmax equals log of softmax', () => {
    const [a, b] = tf.tidy(() => {
      const z = tf.tensor2d([
        [1, 2, 3],
        [100, -100, 0],
      ]);
      return [Array.from(logSoftmax(z).dataSync()), Array.from(tf.logSoftmax(z).dataSync())];
    });
    a!.forEach((v, i) => expect(v).toBeCloseTo(b![i]!, 5));
  });
});
