import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { denseLayer, ninLayer } from './dense.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

const ctxOf = (params: LayerContext['params']): LayerContext => ({
  params,
  buffers: {},
  training: false,
});

describe('denseLayer', () => {
  it('computes x W + b with W [in, out] and PyTorch default init bounds', () => {
    const layer = denseLayer('fc', { inFeatures: 16, outFeatures: 4 });
    const vars = initVariables(key(0), layer.specs);
    const w = vars.params['fc.weight'] as tf.Tensor;
    const b = vars.params['fc.bias'] as tf.Tensor;
    expect(w.shape).toEqual([16, 4]);
    const wv = w.dataSync();
    const bound = 1 / Math.sqrt(16);
    expect(Math.max(...wv.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...wv.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    const x = tf.tensor2d([[...Array(16).keys()].map((i) => i / 16)]);
    const y = tf.tidy(() => layer.apply(ctxOf(vars.params), x));
    const bv = b.dataSync();
    for (let j = 0; j < 4; j++) {
      let s = bv[j] as number;
      for (let i = 0; i < 16; i++) s += (i / 16) * (wv[i * 4 + j] as number);
      expect(y.dataSync()[j]).toBeCloseTo(s, 5);
    }
    tf.dispose([x, y]);
    disposeVariables(vars);
  });

  it("'ddpm' init: zero bias, fan-avg uniform weight; a 1×1 NIN acts per pixel", () => {
    const nin = ninLayer('NIN_0', { inFeatures: 8, outFeatures: 8, initScale: 1 });
    const vars = initVariables(key(1), nin.specs);
    expect([...(vars.params['NIN_0.b'] as tf.Tensor).dataSync()]).toEqual(new Array(8).fill(0));
    const bound = Math.sqrt(3 / 8);
    const wv = (vars.params['NIN_0.W'] as tf.Tensor).dataSync();
    expect(Math.max(...wv.map(Math.abs))).toBeLessThanOrEqual(bound);
    const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 3);
    const y = tf.tidy(() => nin.apply(ctxOf(vars.params), x));
    const ref = tf.tidy(() =>
      tf.reshape(
        tf.matMul(tf.reshape(x, [18, 8]), vars.params['NIN_0.W'] as tf.Tensor2D),
        [2, 3, 3, 8],
      ),
    );
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([x, y, ref]);
    disposeVariables(vars);
  });

  it('second-order gradient of a DLSM objective matches finite differences', () => {
    const layer = denseLayer('fc', { inFeatures: 4, outFeatures: 3 });
    const vars = initVariables(key(2), layer.specs);
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 5);
    const target = tf.randomNormal([3, 4], 0, 0.3, 'float32', 6);
    const objective = dlsmObjective((p, xx) => layer.apply(ctxOf(p), xx), x, [0, 2, 1], 3, target);
    const checks = directionalChecks(objective, vars.params, key(3), { directions: 3 });
    assertChecks(checks, 1e-2);
    objective.dispose();
    tf.dispose([x, target]);
    disposeVariables(vars);
  });
});
