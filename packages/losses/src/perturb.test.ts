import { key, normal, split, subVpSde, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { lossKeys, perturb, sampleIndices, sampleTimes } from './perturb.js';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('lossKeys', () => {
  it('is split(key) into [time, noise]', () => {
    const k = key(3);
    const [a, b] = split(k, 2);
    expect(lossKeys(k)).toEqual({ time: a, noise: b });
  });
});

describe('perturb', () => {
  it('is deterministic in the key and gives x̃ = mean + std z for every SDE kind', () => {
    for (const sde of [veSde(), vpSde(), subVpSde()]) {
      tf.tidy(() => {
        const x = normal(key(1), [5, 3]);
        const a = perturb(sde, x, key(7), 1e-3);
        const b = perturb(sde, x, key(7), 1e-3);
        expect(arr(a.xTilde)).toEqual(arr(b.xTilde));
        const c = perturb(sde, x, key(8), 1e-3);
        expect(arr(a.xTilde)).not.toEqual(arr(c.xTilde));
        const m = sde.marginal(x, a.t);
        expect(arr(a.mean)).toEqual(arr(m.mean));
        expect(arr(a.std)).toEqual(arr(m.std));
        const xt = arr(a.xTilde);
        const mean = arr(a.mean);
        const z = arr(a.z);
        const std = arr(a.std);
        for (let i = 0; i < 15; i++)
          expect(xt[i]!).toBeCloseTo(mean[i]! + std[Math.floor(i / 3)]! * z[i]!, 5);
      });
    }
  });

  it('samples t in [eps, T) per sample, independent of batch size', () => {
    tf.tidy(() => {
      const sde = veSde();
      const big = perturb(sde, normal(key(1), [64, 2]), key(5), 0.25);
      const t = arr(big.t);
      expect(Math.min(...t)).toBeGreaterThanOrEqual(0.25);
      expect(Math.max(...t)).toBeLessThan(1);
      const small = perturb(sde, tf.slice(normal(key(1), [64, 2]), [0, 0], [4, 2]), key(5), 0.25);
      expect(arr(small.t)).toEqual(t.slice(0, 4));
      expect(arr(small.z)).toEqual(arr(big.z).slice(0, 8));
    });
  });

  it('rejects eps outside [0, T)', () => {
    expect(() => sampleTimes(key(0), 3, 1, 1)).toThrow(/eps: expected 0 ≤ eps < T \(1\), got 1/);
    expect(() => sampleTimes(key(0), 3, -0.1, 1)).toThrow(/got -0.1/);
  });
});

describe('sampleIndices', () => {
  it('draws every index of the table about equally often and only valid ones', () => {
    const idx = sampleIndices(key(2), 20_000, 10);
    const counts = new Array<number>(10).fill(0);
    for (const i of idx) counts[i]! += 1;
    // multinomial: each count ~ 2000 ± 42 (sd); allow 5 sd
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(5 * 42.4);
    expect(sampleIndices(key(2), 3, 10)).toEqual(idx.slice(0, 3));
  });
});
