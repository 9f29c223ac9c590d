import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { batchNormLayer } from './batchNorm.js';
import { denseLayer } from './dense.js';
import { disposeVariables } from './params.js';
import { getParam, initVariables } from './variables.js';

describe('variables', () => {
  it('initVariables makes params plain tensors and buffers non-trainable variables', () => {
    const specs = [
      ...denseLayer('fc', { inFeatures: 2, outFeatures: 3 }).specs,
      ...batchNormLayer('bn', { channels: 3 }).specs,
    ];
    const vars = initVariables(key(0), specs);
    expect(Object.keys(vars.params).sort()).toEqual([
      'bn.bias',
      'bn.weight',
      'fc.bias',
      'fc.weight',
    ]);
    expect(Object.keys(vars.buffers).sort()).toEqual(['bn.running_mean', 'bn.running_var']);
    expect(vars.params['fc.weight']).not.toBeInstanceOf(tf.Variable);
    expect(vars.buffers['bn.running_var']).toBeInstanceOf(tf.Variable);
    expect(vars.buffers['bn.running_var']?.trainable).toBe(false);
    disposeVariables(vars);
  });

  it("a variable's initial value depends only on the model key and its own name", () => {
    const fc = denseLayer('fc', { inFeatures: 2, outFeatures: 3 });
    const other = denseLayer('other', { inFeatures: 5, outFeatures: 5 });
    const a = initVariables(key(7), fc.specs);
    const b = initVariables(key(7), [...other.specs, ...fc.specs]);
    const c = initVariables(key(8), fc.specs);
    const w = (v: typeof a) => [...(v.params['fc.weight'] as tf.Tensor).dataSync()];
    expect(w(b)).toEqual(w(a));
    expect(w(c)).not.toEqual(w(a));
    [a, b, c].forEach(disposeVariables);
  });

  it('duplicate names and missing params are reported by name', () => {
    const fc = denseLayer('fc', { inFeatures: 2, outFeatures: 3 });
    expect(() => initVariables(key(0), [...fc.specs, ...fc.specs])).toThrow(
      /duplicate variable name 'fc.weight'/,
    );
    expect(() => getParam({ params: {}, buffers: {}, training: false }, 'fc.weight')).toThrow(
      /parameter 'fc.weight'/,
    );
  });
});
