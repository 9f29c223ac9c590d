import { fold, key, split, uniformArray } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dequantize, flipMask, inverseScaler, randomFlip, scaler } from './augment.js';

/** A batch of 5 distinct 2×3×2 images with values (i·12 + (y·3 + x)·2 + c)/255. */
const images = () =>
  tf.tensor4d(
    Float32Array.from({ length: 5 * 12 }, (_, j) => j / 255),
    [5, 2, 3, 2],
  );

describe('randomFlip', () => {
  it('mirrors exactly the samples whose coin says so', () => {
    expectNoLeaks(() => {
      const k = key(3);
      const x = images();
      const y = randomFlip(k, x);
      const mask = flipMask(k, 5);
      const xs = x.arraySync();
      const ys = y.arraySync();
      for (let i = 0; i < 5; i++)
        for (let r = 0; r < 2; r++)
          for (let c = 0; c < 3; c++) {
            const from = mask[i] === 1 ? 2 - c : c;
            expect(ys[i]![r]![c]).toEqual(xs[i]![r]![from]);
          }
      // The coin of sample i is the first uniform of fold(key, i) below ½.
      expect(Array.from(mask)).toEqual(
        Array.from({ length: 5 }, (_, i) => (uniformArray(fold(k, i), 1)[0]! < 0.5 ? 1 : 0)),
      );
      tf.dispose([x, y]);
    });
  });

  it('is per-sample deterministic: the coin of a sample id does not depend on the batch', () => {
    const k = key(11);
    const big = flipMask(k, 400);
    const ids = [7, 123, 5, 399];
    expect(Array.from(flipMask(k, 4, ids))).toEqual(ids.map((i) => big[i]));
    const frac = big.reduce((a, b) => a + b, 0) / 400;
    expect(frac).toBeGreaterThan(0.4);
    expect(frac).toBeLessThan(0.6);
    expect(Array.from(flipMask(split(k)[0]!, 400))).not.toEqual(Array.from(big));
  });
});

describe('dequantize', () => {
  it('gives (x·255 + u)/256 with u = the per-sample uniforms', () => {
    expectNoLeaks(() => {
      const k = key(5);
      const x = images();
      const xq = dequantize(k, x, [10, 11, 12, 13, 14]);
      const got = xq.dataSync();
      const xv = x.dataSync();
      for (let i = 0; i < 5; i++) {
        const u = uniformArray(fold(k, 10 + i), 12);
        for (let j = 0; j < 12; j++) {
          const at = i * 12 + j;
          expect(got[at]).toBeCloseTo((xv[at]! * 255 + u[j]!) / 256, 6);
          // The 8-bit value is recovered by floor(256·x̃).
          expect(Math.floor(got[at]! * 256)).toBe(Math.round(xv[at]! * 255));
        }
      }
      tf.dispose([x, xq]);
    });
  });
});

describe('scaler / inverseScaler', () => {
  it('maps [0, 1] ↔ [−1, 1] when centered and is the identity otherwise', () => {
    expectNoLeaks(() => {
      const x = tf.tensor1d([0, 0.25, 1]);
      const s = scaler(true)(x);
      expect(Array.from(s.dataSync())).toEqual([-1, -0.5, 1]);
      const back = inverseScaler(true)(s);
      expect(Array.from(back.dataSync())).toEqual([0, 0.25, 1]);
      const id = scaler(false)(x);
      const id2 = inverseScaler(false)(x);
      expect(Array.from(id.dataSync())).toEqual([0, 0.25, 1]);
      expect(Array.from(id2.dataSync())).toEqual([0, 0.25, 1]);
      tf.dispose([x, s, back, id, id2]);
    });
  });
});
