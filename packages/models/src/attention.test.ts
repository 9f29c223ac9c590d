import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { attentionLayer } from './attention.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

describe('attentionLayer', () => {
  it('equals softmax(q kᵀ/√C) v per position, projected and added to x, / √2', () => {
    const c = 4;
    const attn = attentionLayer('a', { channels: c, initScale: 1 });
    const vars = initVariables(key(0), attn.specs);
    const ctx: LayerContext = { params: vars.params, buffers: {}, training: false };
    const x = tf.randomNormal([1, 2, 2, c], 0, 1, 'float32', 1);
    const out = attn.apply(ctx, x);
    // reference, by hand: group norm (γ = 1, β = 0 at init), projections, softmax attention
    const hn = tf.tidy(() => {
      const g = tf.reshape(x, [1, 2, 2, 1, 4]); // min(⌊4/4⌋, 32) = 1 group
      const { mean, variance } = tf.moments(g, [1, 2, 4], true);
      return tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, 1e-6))), [4, c]);
    });
    const H = [...hn.dataSync()];
    const P = (n: string) => [...(vars.params[n] as tf.Tensor).dataSync()];
    const proj = (rows: number[], w: number[], b: number[]) =>
      [0, 1, 2, 3].map((i) =>
        b.map(
          (bj, j) =>
            bj +
            [0, 1, 2, 3].reduce(
              (s, k) => s + (rows[i * c + k] as number) * (w[k * c + j] as number),
              0,
            ),
        ),
      );
    const q = proj(H, P('a.NIN_0.W'), P('a.NIN_0.b'));
    const k = proj(H, P('a.NIN_1.W'), P('a.NIN_1.b'));
    const v = proj(H, P('a.NIN_2.W'), P('a.NIN_2.b'));
    const attended = q.map((qi) => {
      const logits = k.map(
        (kj) => qi.reduce((s, a, t) => s + a * (kj[t] as number), 0) / Math.sqrt(c),
      );
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const z = e.reduce((a, b) => a + b, 0);
      return [0, 1, 2, 3].map((t) =>
        e.reduce((s, ej, j) => s + (ej / z) * (v[j]![t] as number), 0),
      );
    });
    const o = proj(attended.flat(), P('a.NIN_3.W'), P('a.NIN_3.b'));
    const xv = [...x.dataSync()];
    const got = [...out.dataSync()];
    for (let i = 0; i < 4; i++)
      for (let t = 0; t < c; t++)
        expect(got[i * c + t]).toBeCloseTo(
          ((xv[i * c + t] as number) + (o[i]![t] as number)) * Math.SQRT1_2,
          4,
        );
    tf.dispose([x, out, hn]);
    disposeVariables(vars);
  });

  it('with the NCSN++ init (NIN_3 variance scale 1e-10, weights ~1e-5) starts close to x / √2', () => {
    const attn = attentionLayer('a', { channels: 8 });
    const vars = initVariables(key(1), attn.specs);
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 2);
    const out = attn.apply({ params: vars.params, buffers: {}, training: false }, x);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(out, tf.mul(x, Math.SQRT1_2)))));
    expect(err.dataSync()[0]).toBeLessThan(1e-4);
    expect(err.dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, out, err]);
    disposeVariables(vars);
  });

  it('first-order parameter gradient matches finite differences', () => {
    const attn = attentionLayer('a', { channels: 4, initScale: 1 });
    const vars = initVariables(key(2), attn.specs);
    const x = tf.randomNormal([2, 2, 2, 4], 0, 1, 'float32', 3);
    const w = tf.randomNormal([2, 2, 2, 4], 0, 1, 'float32', 4);
    const objective = (p: LayerContext['params']) =>
      tf.tidy(
        () =>
          tf.sum(
            tf.mul(tf.sin(attn.apply({ params: p, buffers: {}, training: false }, x)), w),
          ) as tf.Scalar,
      );
    assertChecks(directionalChecks(objective, vars.params, key(3), { direction: 'mixed' }), 1e-2);
    tf.dispose([x, w]);
    disposeVariables(vars);
  });
});
