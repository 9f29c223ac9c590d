import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { silu } from './activations.js';
import { noiseEmbeddingLayer } from './noiseEmbedding.js';
import { disposeVariables } from './params.js';
import { sinusoidalEmbedding } from './timeEmbedding.js';
import { initVariables, type LayerContext } from './variables.js';

describe('noiseEmbeddingLayer', () => {
  it("'sinusoidal' is dense1(SiLU(dense0(sinusoidal(scale · σ)))) with default_init and zero biases", () => {
    const emb = noiseEmbeddingLayer({
      kind: 'sinusoidal',
      size: 8,
      dim: 16,
      sinusoidalScale: 999,
      names: { fourier: '', dense0: 'e0', dense1: 'e1' },
    });
    const vars = initVariables(key(0), emb.specs);
    expect(Object.keys(vars.buffers)).toEqual([]);
    expect([...(vars.params['e0.bias'] as tf.Tensor).dataSync()]).toEqual(new Array(16).fill(0));
    const ctx: LayerContext = { params: vars.params, buffers: vars.buffers, training: false };
    const sigma = tf.tensor1d([0.01, 0.5]);
    const out = emb.apply(ctx, sigma);
    const ref = tf.tidy(() => {
      const f = sinusoidalEmbedding(tf.mul(sigma, 999) as tf.Tensor1D, 8);
      const h = silu(tf.matMul(f, vars.params['e0.weight'] as tf.Tensor2D));
      return tf.matMul(h as tf.Tensor2D, vars.params['e1.weight'] as tf.Tensor2D);
    });
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(out, ref))));
    expect(out.shape).toEqual([2, 16]);
    expect(err.dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([sigma, out, ref, err]);
    disposeVariables(vars);
  });
});
