import { describe, expect, it } from 'vitest';
import { classwise, classwiseFid, classwisePrdc } from './classwise.js';
import { INCEPTION_V3_POOL3 } from './extractor.js';
import { type FeatureSet, featureRows, groupByClass } from './featureSet.js';
import { frechetDistance } from './frechet.js';
import { gaussianStats } from './moments.js';
import { prdc } from './prdc.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Three classes of 2-D points around (3c, 0), `n` per class; labels i mod 3. */
function labelled(n: number, spread: number, seed: number) {
  const next = lcg(seed);
  const labels = Array.from({ length: 3 * n }, (_, i) => i % 3);
  const features = featureRows(
    labels.map((c) => [3 * c + spread * (next() - 0.5), spread * (next() - 0.5)]),
  );
  return { features, labels };
}

describe('classwise metrics (Chao et al. 2022, CW-*)', () => {
  const real = labelled(20, 1, 1);
  const fake = labelled(15, 1.4, 2);
  const realByClass = groupByClass(real.features, real.labels);
  const fakeByClass = groupByClass(fake.features, fake.labels);

  it('groups rows by label', () => {
    expect([...realByClass.keys()]).toEqual([0, 1, 2]);
    const c1 = realByClass.get(1)!;
    expect(c1.rows).toBe(20);
    // row 0 of class 1 is row 1 of the whole set
    expect(Array.from(c1.data.subarray(0, 2))).toEqual(
      Array.from(real.features.data.subarray(2, 4)),
    );
  });

  it('CW-PRDC equals the mean of per-class PRDC runs, and keeps the per-class table', () => {
    const cw = classwisePrdc(realByClass, fakeByClass, { k: 3 });
    const runs = [0, 1, 2].map((c) => prdc(realByClass.get(c)!, fakeByClass.get(c)!, { k: 3 }));
    for (const key of ['precision', 'recall', 'density', 'coverage'] as const) {
      expect(cw.mean[key]).toBeCloseTo(runs.reduce((s, r) => s + r[key], 0) / 3, 14);
      cw.perClass.forEach((c, i) => {
        expect(c.value[key]).toBe(runs[i]![key]);
      });
    }
    expect(cw.mean.k).toBe(3);
    expect(cw.mean.extractor).toBe('raw');
    expect(cw.perClass.map((c) => c.label)).toEqual([0, 1, 2]);
  });

  it('CW-FID equals the mean of per-class Fréchet distances and is labelled by extractor', () => {
    const asInception = (m: ReadonlyMap<number, FeatureSet>) =>
      new Map([...m].map(([c, f]) => [c, gaussianStats({ ...f, extractor: INCEPTION_V3_POOL3 })]));
    const r = asInception(realByClass);
    const f = asInception(fakeByClass);
    const cw = classwiseFid(r, f);
    const each = [0, 1, 2].map((c) => frechetDistance(r.get(c)!, f.get(c)!));
    expect(cw.value).toBeCloseTo((each[0]! + each[1]! + each[2]!) / 3, 12);
    expect(cw.perClass.map((c) => c.value)).toEqual(each);
    expect(cw.name).toBe('CW-FID');
    const raw = new Map([...realByClass].map(([c, s]) => [c, gaussianStats(s)]));
    expect(classwiseFid(raw, raw).name).toBe('CW-FD_raw');
    expect(classwiseFid(raw, raw).value).toBeLessThan(1e-12);
  });

  it('averages plain numbers and rejects mismatched classes or disagreeing labels', () => {
    const a = new Map([
      [0, 1],
      [1, 2],
    ]);
    const b = new Map([
      [0, 10],
      [1, 30],
    ]);
    expect(classwise((x: number, y: number) => x + y, a, b).mean).toBe(21.5);
    expect(() => classwise((x: number, y: number) => x + y, a, new Map([[0, 1]]))).toThrow(
      /classes: expected the real classes \[0,1\], got \[0\]/,
    );
    expect(() => classwise((_x: number, _y: number, c) => ({ name: `c${c}`, v: 1 }), a, b)).toThrow(
      /field 'name'/,
    );
  });
});
