import { key } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dropout } from './dropout.js';

describe('dropout', () => {
  it('is the identity in inference and with rate 0', () => {
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 1);
    const a = dropout(x, 0.5, { training: false });
    const b = dropout(x, 0, { training: true });
    expect([...a.dataSync()]).toEqual([...x.dataSync()]);
    expect([...b.dataSync()]).toEqual([...x.dataSync()]);
    tf.dispose([x, a, b]);
  });

  it('in training zeroes about `rate` of the elements and scales the rest by 1/(1 − rate); the key fixes the mask', () => {
    const x = tf.ones([100, 100]);
    const y1 = dropout(x, 0.25, { training: true, key: key(1) });
    const y2 = dropout(x, 0.25, { training: true, key: key(1) });
    const y3 = dropout(x, 0.25, { training: true, key: key(2) });
    const v = [...y1.dataSync()];
    const zeros = v.filter((e) => e === 0).length;
    expect(zeros / v.length).toBeGreaterThan(0.23);
    expect(zeros / v.length).toBeLessThan(0.27);
    for (const e of v) if (e !== 0) expect(e).toBeCloseTo(1 / 0.75, 6);
    expect([...y2.dataSync()]).toEqual(v);
    expect([...y3.dataSync()]).not.toEqual(v);
    expect(() => dropout(x, 0.25, { training: true })).toThrow(/key is required/);
    tf.dispose([x, y1, y2, y3]);
  });
});
