import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { disposeEma, emaDecay, emaInit, emaUpdate } from './ema.js';

describe('EMA (score_sde warm-up rule)', () => {
  it('decay_n = min(d, (1+n)/(10+n)) at n = 0, 1, 2, 100 and caps at d', () => {
    expect(emaDecay(0.999, 0)).toBeCloseTo(1 / 10, 15);
    expect(emaDecay(0.999, 1)).toBeCloseTo(2 / 11, 15);
    expect(emaDecay(0.999, 2)).toBeCloseTo(3 / 12, 15);
    expect(emaDecay(0.999, 100)).toBeCloseTo(101 / 110, 15);
    expect(emaDecay(0.9, 100)).toBe(0.9);
    expect(emaDecay(0.999, 100_000)).toBe(0.999);
  });

  it('updates ema ← ema − (1 − d_n)(ema − θ) with n counted as score_sde does (first update n = 1)', () => {
    expectNoLeaks(() => {
      const p0 = { w: tf.tensor1d([1, -1]) };
      const p1 = { w: tf.tensor1d([3, 1]) };
      const p2 = { w: tf.tensor1d([0, 0]) };
      const e0 = emaInit(p0, 0.999);
      expect(e0.count).toBe(0);
      expect(e0.params.w).not.toBe(p0.w);
      const e1 = emaUpdate(e0, p1);
      const d1 = 2 / 11;
      const want1 = [1 - (1 - d1) * (1 - 3), -1 - (1 - d1) * (-1 - 1)];
      const got1 = Array.from(e1.params.w!.dataSync());
      want1.forEach((w, i) => expect(got1[i]!).toBeCloseTo(w, 6));
      expect(e1.count).toBe(1);
      const e2 = emaUpdate(e1, p2);
      const d2 = 3 / 12;
      const got2 = Array.from(e2.params.w!.dataSync());
      want1.forEach((w, i) => expect(got2[i]!).toBeCloseTo(w - (1 - d2) * (w - 0), 6));
      expect(e2.count).toBe(2);
      expect(e0.params.w!.isDisposed).toBe(false);
      tf.dispose([p0.w, p1.w, p2.w]);
      for (const e of [e0, e1, e2]) disposeEma(e);
    });
  });

  it('rejects a decay outside [0, 1)', () => {
    const p = { w: tf.zeros([1]) };
    expect(() => emaInit(p, 1)).toThrow(/decay/);
    p.w.dispose();
  });
});
