import { key } from '@scorekit/core';
import { describe, expect, it } from 'vitest';
import {
  defaultInit,
  fans,
  kaimingUniform,
  normalInit,
  ones,
  pytorchBias,
  varianceScaling,
  zeros,
} from './init.js';

const stats = (v: Float32Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance, maxAbs: Math.max(...v.map(Math.abs)) };
};

describe('initialisers', () => {
  it('fans of dense [in, out] and conv [k, k, in, out] layouts', () => {
    expect(fans([16, 4])).toEqual({ fanIn: 16, fanOut: 4 });
    expect(fans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    expect(fans([7])).toEqual({ fanIn: 7, fanOut: 7 });
  });

  it("PyTorch's kaiming_uniform(a=√5) is U(±1/√fanIn): variance 1/(3 fanIn)", () => {
    const v = kaimingUniform()(key(0), [3, 3, 32, 64]);
    const s = stats(v);
    expect(s.maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(288));
    expect(s.variance).toBeCloseTo(1 / (3 * 288), 4);
    expect(stats(pytorchBias(288)(key(1), [1000])).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(288));
  });

  it("score_sde's default_init is fan-avg uniform with variance scale / ((fanIn + fanOut)/2); scale 0 → 1e-10", () => {
    const v = defaultInit()(key(2), [3, 3, 32, 64]);
    const expected = 1 / ((288 + 576) / 2);
    expect(stats(v).variance / expected).toBeGreaterThan(0.95);
    expect(stats(v).variance / expected).toBeLessThan(1.05);
    expect(stats(v).maxAbs).toBeLessThanOrEqual(Math.sqrt(3 * expected));
    expect(stats(defaultInit(0)(key(2), [3, 3, 32, 64])).maxAbs).toBeLessThanOrEqual(
      Math.sqrt(3e-10 * expected),
    );
    const normal = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'normal' })(
      key(3),
      [256, 256],
    );
    expect(stats(normal).variance / (2 / 256)).toBeGreaterThan(0.97);
    expect(stats(normal).variance / (2 / 256)).toBeLessThan(1.03);
  });

  it('normal, zeros and ones; the same key gives the same values', () => {
    const a = normalInit(16)(key(4), [4096]);
    expect(Math.sqrt(stats(a).variance)).toBeGreaterThan(15.4);
    expect(Math.sqrt(stats(a).variance)).toBeLessThan(16.6);
    expect([...normalInit(16)(key(4), [4096])]).toEqual([...a]);
    expect([...normalInit(16)(key(5), [8])]).not.toEqual([...a.slice(0, 8)]);
    expect([...zeros(key(0), [3])]).toEqual([0, 0, 0]);
    expect([...ones(key(0), [2, 2])]).toEqual([1, 1, 1, 1]);
  });
});
