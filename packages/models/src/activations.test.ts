import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activation, relu, silu } from './activations.js';
import { denseLayer } from './dense.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

const ctxOf = (params: LayerContext['params']): LayerContext => ({
  params,
  buffers: {},
  training: false,
});

describe('activations', () => {
  it('silu(x) = x σ(x) and relu(x) = max(x, 0)', () => {
    const xs = [-3, -0.5, 0, 0.7, 2];
    const x = tf.tensor1d(xs);
    const s = silu(x);
    const r = relu(x);
    xs.forEach((v, i) => {
      expect(s.dataSync()[i]).toBeCloseTo(v / (1 + Math.exp(-v)), 6);
      expect(r.dataSync()[i]).toBe(Math.fround(Math.max(v, 0)));
    });
    expect(activation('silu')).toBe(silu);
    tf.dispose([x, s, r]);
  });

  for (const [name, act, h] of [
    ['SiLU', silu, 1e-2],
    ['ReLU', relu, 1e-3],
  ] as const) {
    it(`${name}: second-order gradient of dense → ${name} → dense matches finite differences`, () => {
      const l1 = denseLayer('l1', { inFeatures: 3, outFeatures: 8 });
      const l2 = denseLayer('l2', { inFeatures: 8, outFeatures: 3 });
      const vars = initVariables(key(name.length), [...l1.specs, ...l2.specs]);
      const x = tf.randomNormal([4, 3], 0, 1, 'float32', 11);
      const target = tf.randomNormal([4, 3], 0, 0.3, 'float32', 12);
      const objective = dlsmObjective(
        (p, xx) => l2.apply(ctxOf(p), act(l1.apply(ctxOf(p), xx))),
        x,
        [0, 1, 2, 1],
        3,
        target,
      );
      assertChecks(directionalChecks(objective, vars.params, key(7), { h, directions: 3 }), 1e-2);
      objective.dispose();
      tf.dispose([x, target]);
      disposeVariables(vars);
    });
  }
});
