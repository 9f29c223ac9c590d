import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeVariables } from './params.js';
import { downsampleLayer, upsampleLayer, upsampleNearest } from './resample.js';
import { initVariables, type LayerContext } from './variables.js';

describe('resampling', () => {
  it('upsampleNearest repeats every pixel into a 2×2 block', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = upsampleNearest(x);
    expect(y.shape).toEqual([1, 4, 4, 2]);
    const v = y.dataSync();
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++)
        for (let c = 0; c < 2; c++)
          expect(v[(i * 4 + j) * 2 + c]).toBe(x.dataSync()[((i >> 1) * 2 + (j >> 1)) * 2 + c]);
    tf.dispose([x, y]);
  });

  it('downsampleLayer halves H and W (stride-2 conv, or 2×2 mean without conv); upsampleLayer doubles them', () => {
    const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 1);
    const down = downsampleLayer('d', { channels: 4, outChannels: 6 });
    const up = upsampleLayer('u', { channels: 4 });
    const vars = initVariables(key(0), [...down.specs, ...up.specs]);
    const ctx: LayerContext = { params: vars.params, buffers: {}, training: false };
    expect(vars.params['d.Conv_0.weight']?.shape).toEqual([3, 3, 4, 6]);
    const d = down.apply(ctx, x);
    const u = up.apply(ctx, x);
    expect(d.shape).toEqual([2, 4, 4, 6]);
    expect(u.shape).toEqual([2, 16, 16, 4]);
    const pool = downsampleLayer('p', { channels: 4, withConv: false });
    expect(pool.specs).toEqual([]);
    const p = pool.apply(ctx, x);
    const x00 = x.dataSync();
    // first output pixel, channel 0 = mean of the top-left 2×2 block
    const expected =
      ((x00[0] as number) + (x00[4] as number) + (x00[32] as number) + (x00[36] as number)) / 4;
    expect(p.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([x, d, u, p]);
    disposeVariables(vars);
  });
});
