import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { sinusoidalEmbedding } from './timeEmbedding.js';

describe('sinusoidalEmbedding', () => {
  it('is [sin(t ω_j), cos(t ω_j)] with ω_j = 10000^(−j/(h−1)), zero-padded when dim is odd', () => {
    const t = tf.tensor1d([0, 3, 250]);
    const e = sinusoidalEmbedding(t, 8);
    expect(e.shape).toEqual([3, 8]);
    const v = e.dataSync();
    [0, 3, 250].forEach((tv, b) => {
      for (let j = 0; j < 4; j++) {
        const w = 10000 ** (-j / 3);
        expect(v[b * 8 + j]).toBeCloseTo(Math.sin(tv * w), 4);
        expect(v[b * 8 + 4 + j]).toBeCloseTo(Math.cos(tv * w), 4);
      }
    });
    const odd = sinusoidalEmbedding(t, 9);
    expect(odd.shape).toEqual([3, 9]);
    expect(odd.dataSync()[8]).toBe(0);
    tf.dispose([t, e, odd]);
  });
});
