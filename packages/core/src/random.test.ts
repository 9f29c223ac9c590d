import { describe, expect, it } from 'vitest';
import {
  fold,
  key,
  normal,
  normalArray,
  normalPerSample,
  permutation,
  randomBits,
  split,
  threefry2x32,
  uniformArray,
} from './random.js';

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const corr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
};

describe('threefry2x32', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([
      0x1cb996fc, 0xbb002be7,
    ]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([
      0xc4923a9c, 0x483df7a0,
    ]);
  });
});

describe('random keys', () => {
  it('are deterministic: same key ⇒ bit-identical tensors', () => {
    const a = normal(key(42), [3, 5]);
    const b = normal(key(42), [3, 5]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const c = normal(key(43), [3, 5]);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('split and fold give distinct, reproducible keys', () => {
    const k = key(7);
    const [a, b] = split(k);
    expect(split(k)).toEqual([a, b]);
    expect(a).not.toEqual(b);
    expect(fold(k, 3)).toEqual(fold(k, 3));
    expect(fold(k, 3)).not.toEqual(fold(k, 4));
    expect(fold(k, 0)).not.toEqual(a);
  });

  it('split streams are uncorrelated', () => {
    const n = 20000;
    const keys = split(key(1), 4);
    const streams = keys.map((k) => normalArray(k, n));
    const bound = 4 / Math.sqrt(n);
    for (let i = 0; i < streams.length; i++) {
      for (let j = i + 1; j < streams.length; j++) {
        expect(Math.abs(corr(streams[i]!, streams[j]!))).toBeLessThan(bound);
      }
    }
    // successive items of one stream, and folded keys, too
    const s = streams[0]!;
    expect(Math.abs(corr(s.subarray(0, n - 1), s.subarray(1)))).toBeLessThan(bound);
    const f0 = normalArray(fold(key(1), 0), n);
    const f1 = normalArray(fold(key(1), 1), n);
    expect(Math.abs(corr(f0, f1))).toBeLessThan(bound);
  });

  it('normal and uniform have the right moments', () => {
    const n = 100000;
    const z = normalArray(key(3), n);
    const m = mean(z);
    const v = mean(Array.from(z, (x) => (x - m) ** 2));
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(Math.abs(v - 1)).toBeLessThan(0.02);
    const u = uniformArray(key(4), n);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
    expect(randomBits(key(5), 5)).toHaveLength(5);
  });

  it('per-sample noise does not depend on batch size', () => {
    const k = key(11);
    const small = normalPerSample(k, [3, 4, 2]);
    const large = normalPerSample(k, [8, 4, 2]);
    expect(Array.from(large.dataSync().subarray(0, 24))).toEqual(Array.from(small.dataSync()));
    small.dispose();
    large.dispose();
  });

  it('permutation is a permutation and depends on the key', () => {
    const p = permutation(key(2), 1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(permutation(key(2), 1000))).toEqual(Array.from(p));
    expect(Array.from(permutation(key(3), 1000))).not.toEqual(Array.from(p));
  });

  it('rejects a non-integer seed', () => {
    expect(() => key(1.5)).toThrow(/seed must be a safe integer/);
  });
});
