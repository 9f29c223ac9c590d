import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  likelihoodScore,
  logLikelihoodAndScore,
  logLikelihoodAtLabels,
} from './likelihoodScore.js';
import { key, normal } from './random.js';
import { expectNoLeaks } from './testing/leaks.js';
import type { Params } from './types.js';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

/** Linear logits x W + t b: ∇ₓ log softmax_y = W[:, y] − Σ_c p_c W[:, c]. */
const linear = (p: Params, x: tf.Tensor, t: tf.Tensor1D) =>
  tf.add(
    tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D),
    tf.outerProduct(t, p['b'] as tf.Tensor1D),
  ) as tf.Tensor2D;

describe('likelihoodScore', () => {
  it('equals W[:, y] − W p(·|x) for a linear classifier (by hand)', () => {
    tf.tidy(() => {
      const B = 5;
      const d = 3;
      const C = 4;
      const params = { w: normal(key(1), [d, C]), b: normal(key(2), [C]) };
      const x = normal(key(3), [B, d]);
      const t = tf.tensor1d([0.1, 0.5, 0.9, 0.3, 0.7]);
      const y = tf.tensor1d([0, 3, 1, 2, 3], 'int32');
      const g = arr(likelihoodScore((xx, tt) => linear(params, xx, tt))(x, t, y));
      const W = arr(params.w);
      const p = arr(tf.softmax(linear(params, x, t)));
      const labels = arr(y);
      for (let i = 0; i < B; i++)
        for (let j = 0; j < d; j++) {
          let expected = W[j * C + labels[i]!]!;
          for (let c = 0; c < C; c++) expected -= p[i * C + c]! * W[j * C + c]!;
          expect(g[i * d + j]!).toBeCloseTo(expected, 5);
        }
    });
  });

  it('returns log p(y|x) per sample beside the score', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([
        [0, 0],
        [1, 3],
      ]);
      const y = tf.tensor1d([1, 0], 'int32');
      const lp = arr(logLikelihoodAtLabels(logits, y));
      expect(lp[0]!).toBeCloseTo(-Math.log(2), 6);
      expect(lp[1]!).toBeCloseTo(1 - Math.log(Math.exp(1) + Math.exp(3)), 5);
      const x = tf.tensor2d([[0.3, -0.2]]);
      const both = logLikelihoodAndScore(
        (xx) => tf.mul(xx, 2) as tf.Tensor2D,
        x,
        tf.tensor1d([0.5]),
        tf.tensor1d([1], 'int32'),
      );
      // logits (0.6, −0.4): log p(1) = −0.4 − log(e^0.6 + e^−0.4); ∂/∂x = 2 (onehot − p)
      const p0 = Math.exp(0.6) / (Math.exp(0.6) + Math.exp(-0.4));
      expect(arr(both.logp)[0]!).toBeCloseTo(-0.4 - Math.log(Math.exp(0.6) + Math.exp(-0.4)), 5);
      expect(arr(both.score)[0]!).toBeCloseTo(-2 * p0, 5);
      expect(arr(both.score)[1]!).toBeCloseTo(2 * (1 - (1 - p0)), 5);
    });
  });

  it('is differentiable in the parameters (second order matches finite differences)', () => {
    tf.tidy(() => {
      const x = normal(key(4), [3, 2]);
      const t = tf.tensor1d([0.2, 0.4, 0.6]);
      const y = tf.tensor1d([2, 0, 1], 'int32');
      const b = normal(key(5), [3]);
      const g = (w: tf.Tensor) => likelihoodScore((xx, tt) => linear({ w, b }, xx, tt))(x, t, y);
      const f = (w: tf.Tensor) => tf.sum(tf.square(g(w))) as tf.Scalar;
      const w0 = normal(key(6), [2, 3]);
      const dir = normal(key(7), [2, 3]);
      const analytic = tf.sum(tf.mul(tf.grad(f)(w0), dir)).dataSync()[0]!;
      const h = 1e-2;
      const fd =
        (f(tf.add(w0, tf.mul(dir, h))).dataSync()[0]! -
          f(tf.sub(w0, tf.mul(dir, h))).dataSync()[0]!) /
        (2 * h);
      expect(Math.abs(analytic - fd)).toBeLessThan(1e-2 * Math.abs(fd));
    });
  });

  it('rejects logits that are not [B, C] and labels that do not fit', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 3]);
      const t = tf.zeros([2]) as tf.Tensor1D;
      const y = tf.tensor1d([0, 1], 'int32');
      expect(() => likelihoodScore((xx) => tf.reshape(xx, [2, 3, 1]) as never)(x, t, y)).toThrow(
        'logits: expected shape [2, C] (rank 2, batch 2, C classes), got shape [2,3,1]',
      );
      expect(() =>
        likelihoodScore((xx) => xx as tf.Tensor2D)(x, t, tf.tensor1d([0, 3], 'int32')),
      ).toThrow('labels: expected every label in [0, 3) (logits have 3 classes), got 3 at index 1');
      expect(() =>
        likelihoodScore((xx) => xx as tf.Tensor2D)(x, t, tf.tensor1d([0], 'int32')),
      ).toThrow(
        'labels: expected one label per sample (a [2] int32 tensor for x of batch 2), got shape [1]',
      );
    });
  });

  it('exposes the forward pass: logits differentiable in θ, nothing leaks on success or failure', () => {
    const x = tf.tensor2d([
      [0.3, -0.2],
      [1, 0.5],
    ]);
    const t = tf.tensor1d([0.2, 0.7]);
    const y = tf.tensor1d([1, 0], 'int32');
    const w0 = tf.tensor2d([
      [0.5, -1],
      [2, 0.25],
    ]);
    const net = (w: tf.Tensor) => (xx: tf.Tensor) =>
      tf.matMul(xx as tf.Tensor2D, w as tf.Tensor2D) as tf.Tensor2D;
    expectNoLeaks(() => {
      const out = logLikelihoodAndScore(net(w0), x, t, y);
      const direct = net(w0)(x);
      expect(arr(out.logits)).toEqual(arr(direct));
      direct.dispose();
      tf.dispose([out.logits, out.logp, out.score]);
      // entropy of the exposed logits + |score|²: gradient by w through one forward pass
      // equals the gradient of the same function written with two separate passes
      const once = (w: tf.Tensor) => {
        const o = logLikelihoodAndScore(net(w), x, t, y);
        const p = tf.softmax(o.logits);
        return tf.add(tf.sum(tf.mul(p, tf.log(p))), tf.sum(tf.square(o.score))) as tf.Scalar;
      };
      const twice = (w: tf.Tensor) => {
        const p = tf.softmax(net(w)(x));
        const g = likelihoodScore(net(w))(x, t, y);
        return tf.add(tf.sum(tf.mul(p, tf.log(p))), tf.sum(tf.square(g))) as tf.Scalar;
      };
      const a = tf.tidy(() => arr(tf.grad(once)(w0)));
      const b = tf.tidy(() => arr(tf.grad(twice)(w0)));
      for (let i = 0; i < a.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, 5);
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(1e-3);
      const bad = tf.tensor1d([0, 5], 'int32');
      expect(() => logLikelihoodAndScore(net(w0), x, t, bad)).toThrow(
        'labels: expected every label in [0, 2)',
      );
      bad.dispose();
    });
    tf.dispose([x, t, y, w0]);
  });
});
