import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { denseLayer } from './dense.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

const ctxOf = (params: LayerContext['params']): LayerContext => ({
  params,
  buffers: {},
  training: false,
});

/** x³ with a correct first derivative whose second-order path is cut (a constant 3x²). */
const brokenCube = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.pow(x, 3),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const s = saved[0] as tf.Tensor;
      const detached = tf.tensor(s.dataSync(), s.shape); // off the tape
      return tf.mul(dy, tf.mul(3, tf.square(detached)));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

describe('second-order gradient check (test helper)', () => {
  it('detects a gradient whose double back-propagation path is dropped', () => {
    const l1 = denseLayer('l1', { inFeatures: 3, outFeatures: 4 });
    const vars = initVariables(key(0), l1.specs);
    const x = tf.randomNormal([2, 3], 0, 1, 'float32', 1);
    const target = tf.zeros([2, 3]);
    const run = (act: (t: tf.Tensor) => tf.Tensor) => {
      const objective = dlsmObjective((p, xx) => act(l1.apply(ctxOf(p), xx)), x, [0, 3], 4, target);
      const checks = directionalChecks(objective, vars.params, key(2), { directions: 2 });
      objective.dispose();
      return checks;
    };
    expect(() => assertChecks(run((t) => tf.pow(t, 3)))).not.toThrow();
    expect(() => assertChecks(run(brokenCube))).toThrow(/second-order gradient check failed/);
    tf.dispose([x, target]);
    disposeVariables(vars);
  });
});
