import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { conv2dLayer } from './conv.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

const ctxOf = (params: LayerContext['params']): LayerContext => ({
  params,
  buffers: {},
  training: false,
});

/** A direct NHWC convolution with TensorFlow 'same' padding, in plain JS. */
function naiveConv(
  x: Float32Array,
  [b, h, w, cin]: number[],
  f: Float32Array,
  k: number,
  cout: number,
  stride: number,
): Float32Array {
  const ho = Math.ceil((h as number) / stride);
  const wo = Math.ceil((w as number) / stride);
  const padH = Math.max((ho - 1) * stride + k - (h as number), 0);
  const padW = Math.max((wo - 1) * stride + k - (w as number), 0);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  const out = new Float32Array((b as number) * ho * wo * cout);
  for (let n = 0; n < (b as number); n++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        for (let co = 0; co < cout; co++) {
          let s = 0;
          for (let a = 0; a < k; a++)
            for (let c = 0; c < k; c++) {
              const y = i * stride + a - top;
              const z = j * stride + c - left;
              if (y < 0 || z < 0 || y >= (h as number) || z >= (w as number)) continue;
              for (let ci = 0; ci < (cin as number); ci++)
                s +=
                  (x[
                    ((n * (h as number) + y) * (w as number) + z) * (cin as number) + ci
                  ] as number) * (f[((a * k + c) * (cin as number) + ci) * cout + co] as number);
            }
          out[((n * ho + i) * wo + j) * cout + co] = s;
        }
  return out;
}

describe('conv2dLayer', () => {
  for (const [k, stride] of [
    [3, 1],
    [3, 2],
    [1, 2],
  ] as const) {
    it(`${k}×${k} stride ${stride} 'same' equals a direct convolution`, () => {
      const layer = conv2dLayer('c', {
        inChannels: 2,
        outChannels: 3,
        kernelSize: k,
        stride,
        bias: false,
      });
      const vars = initVariables(key(k * 10 + stride), layer.specs);
      expect(vars.params['c.weight']?.shape).toEqual([k, k, 2, 3]);
      const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 7);
      const y = tf.tidy(() => layer.apply(ctxOf(vars.params), x));
      const ho = 6 / stride;
      expect(y.shape).toEqual([2, ho, ho, 3]);
      const ref = naiveConv(
        x.dataSync() as Float32Array,
        x.shape,
        vars.params['c.weight']?.dataSync() as Float32Array,
        k,
        3,
        stride,
      );
      const got = y.dataSync();
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i] as number, 4);
      tf.dispose([x, y]);
      disposeVariables(vars);
    });
  }

  it('PyTorch default init: weight and bias within ±1/√(k·k·in)', () => {
    const layer = conv2dLayer('c', { inChannels: 4, outChannels: 8 });
    const vars = initVariables(key(1), layer.specs);
    const bound = 1 / Math.sqrt(36);
    for (const name of ['c.weight', 'c.bias']) {
      const v = vars.params[name]?.dataSync() as Float32Array;
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
    }
    disposeVariables(vars);
  });

  for (const stride of [1, 2] as const) {
    it(`second-order gradient (stride ${stride}) matches finite differences`, () => {
      const layer = conv2dLayer('c', { inChannels: 2, outChannels: 3, stride });
      const vars = initVariables(key(20 + stride), layer.specs);
      const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 8);
      const features = 3 * (4 / stride) ** 2;
      const proj = tf.randomNormal([features, 3], 0, 0.5, 'float32', 9);
      const target = tf.randomNormal([2, 4, 4, 2], 0, 0.3, 'float32', 10);
      const objective = dlsmObjective(
        (p, xx) =>
          tf.matMul(tf.reshape(layer.apply(ctxOf(p), xx), [2, features]), proj as tf.Tensor2D),
        x,
        [1, 2],
        3,
        target,
      );
      assertChecks(directionalChecks(objective, vars.params, key(4), { directions: 3 }), 1e-2);
      objective.dispose();
      tf.dispose([x, proj, target]);
      disposeVariables(vars);
    });
  }
});
