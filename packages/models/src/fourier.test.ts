import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { silu } from './activations.js';
import { denseLayer } from './dense.js';
import { gaussianFourierLayer } from './fourier.js';
import { noiseEmbeddingLayer } from './noiseEmbedding.js';
import { disposeVariables } from './params.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';
import { initVariables, type LayerContext } from './variables.js';

describe('gaussianFourierLayer', () => {
  it('is [sin(2π v W), cos(2π v W)] with W ~ N(0, scale²) stored as a buffer', () => {
    const ff = gaussianFourierLayer('ff', { embeddingSize: 512, scale: 16 });
    const vars = initVariables(key(0), ff.specs);
    expect(Object.keys(vars.params)).toEqual([]);
    const w = vars.buffers['ff.W'] as tf.Variable;
    expect(w.trainable).toBe(false);
    const wv = [...w.dataSync()];
    const mean = wv.reduce((a, b) => a + b, 0) / wv.length;
    const std = Math.sqrt(wv.reduce((a, b) => a + (b - mean) ** 2, 0) / wv.length);
    expect(Math.abs(mean)).toBeLessThan(3 * (16 / Math.sqrt(512)));
    expect(std).toBeGreaterThan(14);
    expect(std).toBeLessThan(18);
    const v = tf.tensor1d([0.3, -1.2]);
    const emb = ff.apply({ params: {}, buffers: vars.buffers, training: false }, v);
    expect(emb.shape).toEqual([2, 1024]);
    const ev = emb.dataSync();
    for (const [b, vb] of [
      [0, 0.3],
      [1, -1.2],
    ] as const)
      for (const j of [0, 7, 511]) {
        const arg = 2 * Math.PI * vb * (wv[j] as number);
        // float32 arguments of size ~100 carry ~1e-5 absolute error
        expect(ev[b * 1024 + j]).toBeCloseTo(Math.sin(arg), 3);
        expect(ev[b * 1024 + 512 + j]).toBeCloseTo(Math.cos(arg), 3);
      }
    tf.dispose([v, emb]);
    disposeVariables(vars);
  });

  it('second-order gradient of Fourier features + dense embedding (noise-conditioned head) matches finite differences', () => {
    const emb = noiseEmbeddingLayer({
      kind: 'fourier',
      size: 4,
      fourierScale: 1,
      dim: 6,
      names: { fourier: 'e.0', dense0: 'e.1', dense1: 'e.2' },
    });
    const inp = denseLayer('in', { inFeatures: 3, outFeatures: 6 });
    const proj = denseLayer('proj', { inFeatures: 6, outFeatures: 6 });
    const out = denseLayer('out', { inFeatures: 6, outFeatures: 3 });
    const vars = initVariables(key(1), [...emb.specs, ...inp.specs, ...proj.specs, ...out.specs]);
    const x = tf.randomNormal([3, 3], 0, 1, 'float32', 15);
    const sigma = tf.tensor1d([0.05, 1, 20]);
    const target = tf.randomNormal([3, 3], 0, 0.3, 'float32', 16);
    const objective = dlsmObjective(
      (p, xx) => {
        const ctx: LayerContext = { params: p, buffers: vars.buffers, training: true };
        const temb = silu(emb.apply(ctx, sigma as tf.Tensor1D));
        return out.apply(ctx, silu(tf.add(inp.apply(ctx, xx), proj.apply(ctx, temb))));
      },
      x,
      [0, 1, 2],
      3,
      target,
    );
    const checks = directionalChecks(objective, vars.params, key(9), { directions: 2 });
    assertChecks(checks, 1e-2);
    // the embedding's own denses receive a non-zero second-order gradient
    expect(Math.abs(checks.find((c) => c.name === 'e.1.weight')?.analytic ?? 0)).toBeGreaterThan(0);
    objective.dispose();
    tf.dispose([x, sigma, target]);
    disposeVariables(vars);
  });
});
