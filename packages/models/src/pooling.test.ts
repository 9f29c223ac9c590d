import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { conv2dLayer } from './conv.js';
import { denseLayer } from './dense.js';
import { disposeVariables } from './params.js';
import { globalMeanPool, meanPool } from './pooling.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

const ctxOf = (params: LayerContext['params']): LayerContext => ({
  params,
  buffers: {},
  training: false,
});

describe('pooling', () => {
  it('meanPool averages non-overlapping 2×2 windows; globalMeanPool averages H and W', () => {
    // [1, 4, 4, 1] with value 10·row + col
    const vals = Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    const x = tf.tensor4d(vals, [1, 4, 4, 1]);
    const p = meanPool(x, 2);
    expect(p.shape).toEqual([1, 2, 2, 1]);
    const expected = [0, 1].flatMap((i) =>
      [0, 1].map(
        (j) =>
          (10 * 2 * i +
            2 * j +
            10 * 2 * i +
            2 * j +
            1 +
            10 * (2 * i + 1) +
            2 * j +
            10 * (2 * i + 1) +
            2 * j +
            1) /
          4,
      ),
    );
    [...p.dataSync()].forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    const g = globalMeanPool(x);
    expect(g.shape).toEqual([1, 1]);
    expect(g.dataSync()[0]).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / 16, 5);
    const odd = tf.zeros([1, 3, 4, 1]);
    expect(() => meanPool(odd, 2)).toThrow(/divisible by 2/);
    tf.dispose([x, p, g, odd]);
  });

  it('second-order gradient of conv → meanPool → globalMeanPool → dense matches finite differences', () => {
    const conv = conv2dLayer('conv', { inChannels: 2, outChannels: 4 });
    const fc = denseLayer('fc', { inFeatures: 4, outFeatures: 3 });
    const vars = initVariables(key(3), [...conv.specs, ...fc.specs]);
    const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 13);
    const target = tf.randomNormal([2, 4, 4, 2], 0, 0.02, 'float32', 14);
    const objective = dlsmObjective(
      (p, xx) => fc.apply(ctxOf(p), globalMeanPool(tf.sin(meanPool(conv.apply(ctxOf(p), xx), 2)))),
      x,
      [2, 0],
      3,
      target,
    );
    assertChecks(directionalChecks(objective, vars.params, key(8), { directions: 3 }), 1e-2);
    objective.dispose();
    tf.dispose([x, target]);
    disposeVariables(vars);
  });
});
