import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { silu } from './activations.js';
import { defaultGroups, groupNormLayer } from './groupNorm.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

describe('groupNormLayer', () => {
  it('normalises each sample and group over (H, W, C/G), then applies γ and β', () => {
    const gn = groupNormLayer('gn', { channels: 4, groups: 2, eps: 1e-5 });
    const gamma = tf.tensor1d([1, 2, 3, 4]);
    const beta = tf.tensor1d([0, 1, 0, -1]);
    const ctx: LayerContext = {
      params: { 'gn.weight': gamma, 'gn.bias': beta },
      buffers: {},
      training: false,
    };
    // one sample, H = 1, W = 2, C = 4: group 0 = channels 0, 1; group 1 = channels 2, 3
    const xs = [1, 2, 3, 4, 5, 7, 9, 20];
    const x = tf.tensor4d(xs, [1, 1, 2, 4]);
    const out = tf.tidy(() => gn.apply(ctx, x));
    const y = out.dataSync();
    out.dispose();
    const group = (chs: number[]) => [0, 1].flatMap((w) => chs.map((c) => xs[w * 4 + c] as number));
    for (const chs of [
      [0, 1],
      [2, 3],
    ]) {
      const v = group(chs);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      for (const w of [0, 1])
        for (const c of chs) {
          const expected =
            (((xs[w * 4 + c] as number) - mean) / Math.sqrt(variance + 1e-5)) * [1, 2, 3, 4][c]! +
            [0, 1, 0, -1][c]!;
          expect(y[w * 4 + c]).toBeCloseTo(expected, 4);
        }
    }
    tf.dispose([gamma, beta, x]);
  });

  it("uses score_sde's min(⌊C/4⌋, 32) groups and rejects groups that do not divide C", () => {
    expect([8, 64, 128, 256, 512].map(defaultGroups)).toEqual([2, 16, 32, 32, 32]);
    expect(() => groupNormLayer('gn', { channels: 6, groups: 4 })).toThrow(/groups dividing 6/);
  });

  it('second-order gradient matches finite differences', () => {
    const gn = groupNormLayer('gn', { channels: 4, groups: 2 });
    const vars = initVariables(key(0), gn.specs);
    // move γ, β away from 1 and 0 so every path is exercised
    const params = {
      'gn.weight': tf.randomNormal([4], 1, 0.3, 'float32', 1),
      'gn.bias': tf.randomNormal([4], 0, 0.3, 'float32', 2),
    };
    const x = tf.randomNormal([2, 2, 2, 4], 0, 1, 'float32', 3);
    const proj = tf.randomNormal([16, 3], 0, 0.5, 'float32', 4);
    const target = tf.randomNormal([2, 2, 2, 4], 0, 0.3, 'float32', 5);
    const objective = dlsmObjective(
      (p, xx) =>
        tf.matMul(
          tf.reshape(silu(gn.apply({ params: p, buffers: {}, training: true }, xx)), [2, 16]),
          proj as tf.Tensor2D,
        ),
      x,
      [0, 2],
      3,
      target,
    );
    assertChecks(directionalChecks(objective, params, key(6), { directions: 3 }), 1e-2);
    objective.dispose();
    tf.dispose([x, proj, target, ...Object.values(params)]);
    disposeVariables(vars);
  });
});
