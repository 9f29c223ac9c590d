import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { silu } from './activations.js';
import { batchNormLayer } from './batchNorm.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables } from './variables.js';

const read = (t: tf.Tensor) => [...t.dataSync()];

describe('batchNormLayer', () => {
  it('training: batch statistics, running stats updated with momentum 0.1 and unbiased variance; inference: running stats', () => {
    const bn = batchNormLayer('bn', { channels: 2 });
    const vars = initVariables(key(0), bn.specs);
    const gamma = tf.tensor1d([2, 0.5]);
    const beta = tf.tensor1d([1, -1]);
    const params = { 'bn.weight': gamma, 'bn.bias': beta };
    // [B=2, H=1, W=2, C=2]: channel 0 values 1, 3, 5, 7; channel 1 values 0, 0, 4, 8
    const x = tf.tensor4d([1, 0, 3, 0, 5, 4, 7, 8], [2, 1, 2, 2]);
    const ch = [
      [1, 3, 5, 7],
      [0, 0, 4, 8],
    ];
    const stats = ch.map((v) => {
      const mean = v.reduce((a, b) => a + b, 0) / 4;
      const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
      return { mean, biased: ss / 4, unbiased: ss / 3 };
    });
    const y = tf.tidy(() => bn.apply({ params, buffers: vars.buffers, training: true }, x));
    const yv = read(y);
    for (let i = 0; i < 4; i++)
      for (let c = 0; c < 2; c++) {
        const s = stats[c]!;
        const expected =
          (((ch[c]![i] as number) - s.mean) / Math.sqrt(s.biased + 1e-5)) * [2, 0.5][c]! +
          [1, -1][c]!;
        expect(yv[i * 2 + c]).toBeCloseTo(expected, 4);
      }
    const rm1 = stats.map((s) => 0.1 * s.mean);
    const rv1 = stats.map((s) => 0.9 + 0.1 * s.unbiased);
    read(vars.buffers['bn.running_mean'] as tf.Tensor).forEach((v, c) =>
      expect(v).toBeCloseTo(rm1[c]!, 5),
    );
    read(vars.buffers['bn.running_var'] as tf.Tensor).forEach((v, c) =>
      expect(v).toBeCloseTo(rv1[c]!, 5),
    );
    // a second training step compounds the averages
    tf.tidy(() => bn.apply({ params, buffers: vars.buffers, training: true }, x)).dispose();
    const rm2 = stats.map((s, c) => 0.9 * rm1[c]! + 0.1 * s.mean);
    const rv2 = stats.map((s, c) => 0.9 * rv1[c]! + 0.1 * s.unbiased);
    read(vars.buffers['bn.running_mean'] as tf.Tensor).forEach((v, c) =>
      expect(v).toBeCloseTo(rm2[c]!, 5),
    );
    read(vars.buffers['bn.running_var'] as tf.Tensor).forEach((v, c) =>
      expect(v).toBeCloseTo(rv2[c]!, 5),
    );
    // inference uses the running statistics and leaves them alone
    const z = tf.tidy(() => bn.apply({ params, buffers: vars.buffers, training: false }, x));
    const zv = read(z);
    for (let i = 0; i < 4; i++)
      for (let c = 0; c < 2; c++) {
        const expected =
          (((ch[c]![i] as number) - rm2[c]!) / Math.sqrt(rv2[c]! + 1e-5)) * [2, 0.5][c]! +
          [1, -1][c]!;
        expect(zv[i * 2 + c]).toBeCloseTo(expected, 4);
      }
    read(vars.buffers['bn.running_mean'] as tf.Tensor).forEach((v, c) =>
      expect(v).toBeCloseTo(rm2[c]!, 5),
    );
    tf.dispose([gamma, beta, x, y, z]);
    disposeVariables(vars);
  });

  it('refuses training mode with a single value per channel', () => {
    const bn = batchNormLayer('bn', { channels: 3 });
    const vars = initVariables(key(0), bn.specs);
    const x = tf.ones([1, 1, 1, 3]);
    expect(() =>
      bn.apply({ params: vars.params, buffers: vars.buffers, training: true }, x),
    ).toThrow(/more than 1 value per channel/);
    x.dispose();
    disposeVariables(vars);
  });

  it('second-order gradient in training mode (through the batch statistics) matches finite differences', () => {
    const bn = batchNormLayer('bn', { channels: 3 });
    const vars = initVariables(key(1), bn.specs);
    const params = {
      'bn.weight': tf.randomNormal([3], 1, 0.3, 'float32', 1),
      'bn.bias': tf.randomNormal([3], 0, 0.3, 'float32', 2),
    };
    const x = tf.randomNormal([3, 2, 2, 3], 0, 1, 'float32', 3);
    const proj = tf.randomNormal([12, 3], 0, 0.5, 'float32', 4);
    const target = tf.randomNormal([3, 2, 2, 3], 0, 0.3, 'float32', 5);
    const objective = dlsmObjective(
      (p, xx) =>
        tf.matMul(
          tf.reshape(
            silu(bn.apply({ params: p, buffers: vars.buffers, training: true }, xx)),
            [3, 12],
          ),
          proj as tf.Tensor2D,
        ),
      x,
      [0, 2, 1],
      3,
      target,
    );
    assertChecks(directionalChecks(objective, params, key(6), { directions: 3 }), 1e-2);
    objective.dispose();
    tf.dispose([x, proj, target, ...Object.values(params)]);
    disposeVariables(vars);
  });
});
