import { key, normal, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dlsm } from './dlsm.js';
import { frozen } from './frozen.js';

describe('frozen', () => {
  it('gives the same values and a zero gradient', () => {
    tf.tidy(() => {
      const score = (x: tf.Tensor, t: tf.Tensor1D) => tf.mul(tf.square(x), tf.reshape(t, [-1, 1]));
      const x = normal(key(1), [3, 2]);
      const t = tf.tensor1d([0.2, 0.5, 0.9]);
      expect(Array.from(frozen(score)(x, t).dataSync())).toEqual(
        Array.from(score(x, t).dataSync()),
      );
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.add(frozen(score)(xx, t), xx)))(x);
      expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
      // identity scores still give a fresh output tensor
      const out = frozen((xx) => xx)(x, t);
      expect(out).not.toBe(x);
    });
  });

  it('keeps a trainable score variable out of DLSM’s gradients (tf.variableGrads)', () => {
    // created inside tidy so that the initial values are freed (variables are kept)
    const phi = tf.tidy(() => tf.variable(tf.scalar(-0.5), true, 'frozenTest.phi'));
    const theta = tf.tidy(() => tf.variable(normal(key(2), [2, 3]), true, 'frozenTest.theta'));
    try {
      tf.tidy(() => {
        const sde = veSde({ sigmaMin: 0.5, sigmaMax: 2 });
        const loss = dlsm({
          sde,
          logits: (p, x) => tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D),
          score: (x) => tf.mul(x, phi),
        });
        const batch = { x: normal(key(3), [4, 2]), y: tf.tensor1d([0, 1, 2, 1], 'int32') };
        const { grads } = tf.variableGrads(() => loss({ w: theta }, batch, key(4)).total);
        expect(Object.keys(grads)).toEqual(['frozenTest.theta']);
        // and the θ-gradient equals the one with φ baked in as a constant
        const phiValue = phi.dataSync()[0]!;
        const constant = dlsm({
          sde,
          logits: (p, x) => tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D),
          score: (x) => tf.mul(x, phiValue),
        });
        const g2 = tf.grad((w: tf.Tensor) => constant({ w }, batch, key(4)).total)(theta);
        const a = grads['frozenTest.theta']!.dataSync();
        const b = g2.dataSync();
        for (let i = 0; i < a.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, 5);
      });
    } finally {
      phi.dispose();
      theta.dispose();
    }
  });
});
