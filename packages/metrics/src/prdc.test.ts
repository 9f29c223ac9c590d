import { describe, expect, it } from 'vitest';
import { type FeatureSet, featureRows } from './featureSet.js';
import { nearestNeighbourRadii2, prdc } from './prdc.js';

const line = (xs: number[]) => featureRows(xs.map((x) => [x, 0]));

// Real X = {0, 1, 3, 9, 10} and fake Y = {0.5, 2.5, 5, 5.5} on a line (exact in float32).
const real = line([0, 1, 3, 9, 10]);
const fake = line([0.5, 2.5, 5, 5.5]);

/** Brute-force PRDC in float64 with sorted distance lists (the definitions, verbatim). */
function reference(x: FeatureSet, y: FeatureSet, k: number) {
  const row = (s: FeatureSet, i: number) => Array.from(s.data.subarray(i * s.dim, (i + 1) * s.dim));
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));
  const radii = (s: FeatureSet) =>
    Array.from({ length: s.rows }, (_, i) => {
      const d = Array.from({ length: s.rows }, (_, j) => dist(row(s, i), row(s, j)));
      return d.sort((p, q) => p - q)[k]!;
    });
  const rx = radii(x);
  const ry = radii(y);
  const dxy = Array.from({ length: x.rows }, (_, i) =>
    Array.from({ length: y.rows }, (_, j) => dist(row(x, i), row(y, j))),
  );
  let precision = 0;
  let density = 0;
  for (let j = 0; j < y.rows; j++) {
    const n = rx.filter((r, i) => dxy[i]![j]! < r).length;
    precision += n > 0 ? 1 : 0;
    density += n;
  }
  const recall = dxy.filter((d) => d.some((v, j) => v < ry[j]!)).length;
  const coverage = dxy.filter((d, i) => Math.min(...d) < rx[i]!).length;
  return {
    precision: precision / y.rows,
    recall: recall / x.rows,
    density: density / (k * y.rows),
    coverage: coverage / x.rows,
  };
}

describe('prdc (Naeem et al. 2020)', () => {
  it('k = 1 on hand-made points', () => {
    // Real 1-NN radii: r(0)=1, r(1)=1, r(3)=2, r(9)=1, r(10)=1.
    // Fake 1-NN radii: r'(0.5)=2, r'(2.5)=2, r'(5)=0.5, r'(5.5)=0.5.
    // Real balls hit by each fake (strict <): 0.5 ∈ B(0,1), B(1,1) → 2; 2.5 ∈ B(3,2) → 1;
    //   5 → 0 (|5−3| = 2 is not < 2); 5.5 → 0.
    //   precision = 2/4 = 0.5; density = (2+1+0+0)/(1·4) = 0.75.
    // Recall: 0, 1 ∈ B(0.5, 2); 3 ∈ B(2.5, 2); 9, 10 in no fake ball ⇒ 3/5 = 0.6.
    // Coverage: nearest fake of 0, 1, 3 is 0.5 away (< 1, 1, 2); of 9, 10 it is 3.5, 4.5
    //   (not < 1) ⇒ 3/5 = 0.6.
    const r = prdc(real, fake, { k: 1 });
    expect(r).toMatchObject({ precision: 0.5, recall: 0.6, density: 0.75, coverage: 0.6, k: 1 });
    expect(r).toMatchObject({ extractor: 'raw', realCount: 5, fakeCount: 4 });
  });

  it('k = 2 on the same points, with 2-row chunks (blocks stream and merge)', () => {
    // Real 2-NN radii: 0: {1,3,9,10} → 3; 1: {1,2,8,9} → 2; 3: {2,3,6,7} → 3;
    //   9: {1,6,8,9} → 6; 10: {1,7,9,10} → 7.
    // Fake 2-NN radii: 0.5: {2,4.5,5} → 4.5; 2.5: {2,2.5,3} → 2.5; 5: {0.5,2.5,4.5} → 2.5;
    //   5.5: {0.5,3,5} → 3.
    // Real balls per fake: 0.5 ∈ B(0,3), B(1,2), B(3,3) → 3; 2.5 ∈ B(0,3), B(1,2), B(3,3) → 3;
    //   5 ∈ B(3,3), B(9,6), B(10,7) → 3; 5.5 ∈ B(3,3), B(9,6), B(10,7) → 3.
    //   precision = 1; density = 12/(2·4) = 1.5.
    // Recall: 0, 1, 3 ∈ B(0.5, 4.5); 9: distances 3.5 to 5.5 (r' 3), 4 to 5 (r' 2.5) ✗; 10 ✗
    //   ⇒ 3/5 = 0.6.
    // Coverage: nearest fake distances 0.5, 0.5, 0.5, 3.5, 4.5 < radii 3, 2, 3, 6, 7 ⇒ 1.
    for (const chunkSize of [2, 1024]) {
      const r = prdc(real, fake, { k: 2, chunkSize });
      expect(r).toMatchObject({ precision: 1, recall: 0.6, density: 1.5, coverage: 1 });
    }
    expect(Array.from(nearestNeighbourRadii2(real, 2, 2))).toEqual([9, 4, 9, 36, 49]);
  });

  it('identical sets give precision = recall = coverage = density = 1', () => {
    let s = 3;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const points = featureRows(Array.from({ length: 60 }, () => [next(), next(), next()]));
    for (const k of [1, 3, 5]) {
      const r = prdc(points, points, { k, chunkSize: 16 });
      expect(r).toMatchObject({ precision: 1, recall: 1, density: 1, coverage: 1 });
    }
  });

  it('agrees with a brute-force float64 evaluation on random sets (chunked)', () => {
    let s = 17;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const x = featureRows(Array.from({ length: 50 }, () => [next(), next(), next(), next()]));
    const y = featureRows(
      Array.from({ length: 37 }, () => [next() + 0.3, next(), 1.3 * next(), next()]),
    );
    for (const k of [3, 5]) {
      const expected = reference(x, y, k);
      const got = prdc(x, y, { k, chunkSize: 7 });
      expect(got.precision).toBeCloseTo(expected.precision, 12);
      expect(got.recall).toBeCloseTo(expected.recall, 12);
      expect(got.density).toBeCloseTo(expected.density, 12);
      expect(got.coverage).toBeCloseTo(expected.coverage, 12);
    }
  });

  it('names bad input', () => {
    expect(() => prdc(real, fake, { k: 0 })).toThrow(/prdc: k must be at least 1/);
    expect(() => prdc(real, { ...fake, extractor: 'other' })).toThrow(/extractor/);
    expect(() => prdc(real, fake, { k: 5 })).toThrow(/more than k = 5, got 5/);
  });
});
