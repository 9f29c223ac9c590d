import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeVariables } from './params.js';
import { meanPool } from './pooling.js';
import { residualBlock } from './residualBlock.js';
import { initVariables, type LayerContext } from './variables.js';

const maxAbs = (t: tf.Tensor) => {
  const m = tf.tidy(() => tf.max(tf.abs(t)));
  const v = m.dataSync()[0] as number;
  m.dispose();
  return v;
};

describe('residualBlock', () => {
  it('with initScale 0 (Conv_1 weights ~1e-5) starts as its shortcut / √2', () => {
    const ddpm = residualBlock('b', { kind: 'ddpm', inChannels: 8, tembDim: 16 });
    const down = residualBlock('d', {
      kind: 'biggan',
      inChannels: 8,
      outChannels: 12,
      tembDim: 16,
      resample: 'down',
    });
    const vars = initVariables(key(0), [...ddpm.specs, ...down.specs]);
    const ctx: LayerContext = { params: vars.params, buffers: {}, training: false };
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 1);
    const temb = tf.randomNormal([2, 16], 0, 1, 'float32', 2) as tf.Tensor2D;
    const y = ddpm.apply(ctx, x, temb);
    const yd = down.apply(ctx, x, temb);
    expect(yd.shape).toEqual([2, 2, 2, 12]);
    const expected = tf.tidy(() =>
      tf.mul(
        tf.add(
          tf.conv2d(
            meanPool(x, 2) as tf.Tensor4D,
            vars.params['d.Conv_2.weight'] as tf.Tensor4D,
            1,
            'same',
          ),
          vars.params['d.Conv_2.bias'] as tf.Tensor,
        ),
        Math.SQRT1_2,
      ),
    );
    const d1 = tf.tidy(() => tf.sub(y, tf.mul(x, Math.SQRT1_2)));
    const d2 = tf.sub(yd, expected);
    expect(maxAbs(d1)).toBeLessThan(1e-3);
    expect(maxAbs(d2)).toBeLessThan(1e-3);
    tf.dispose([x, temb, y, yd, expected, d1, d2]);
    disposeVariables(vars);
  });

  it('adds the projected embedding: different temb, different output (initScale 1); NIN shortcut when widening', () => {
    const block = residualBlock('b', {
      kind: 'ddpm',
      inChannels: 4,
      outChannels: 8,
      tembDim: 6,
      initScale: 1,
    });
    expect(block.specs.map((s) => s.name)).toContain('b.NIN_0.W');
    const vars = initVariables(key(3), block.specs);
    // Dense_0's bias is zero at init: give it values so the embedding path is visible
    const params = { ...vars.params, 'b.Dense_0.bias': tf.linspace(-1, 1, 8) };
    const ctx: LayerContext = { params, buffers: {}, training: false };
    const x = tf.randomNormal([1, 4, 4, 4], 0, 1, 'float32', 4);
    const t1 = tf.randomNormal([1, 6], 0, 1, 'float32', 5) as tf.Tensor2D;
    const t2 = tf.randomNormal([1, 6], 0, 1, 'float32', 6) as tf.Tensor2D;
    const a = block.apply(ctx, x, t1);
    const b = block.apply(ctx, x, t2);
    expect(a.shape).toEqual([1, 4, 4, 8]);
    const d = tf.sub(a, b);
    expect(maxAbs(d)).toBeGreaterThan(1e-3);
    tf.dispose([x, t1, t2, a, b, d, params['b.Dense_0.bias']]);
    disposeVariables(vars);
  });
});
