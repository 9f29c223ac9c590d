import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type FeatureSet, featureRows, featureSet } from './featureSet.js';
import { gaussianStats, momentAccumulator } from './moments.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomFeatures(rows: number, dim: number, seed: number, offset = 0): FeatureSet {
  const next = lcg(seed);
  const data = Float32Array.from({ length: rows * dim }, (_, k) => offset + (k % dim) + next());
  return { extractor: 'raw', rows, dim, data };
}

function slice(set: FeatureSet, from: number, to: number): FeatureSet {
  return { ...set, rows: to - from, data: set.data.slice(from * set.dim, to * set.dim) };
}

/** Two-pass float64 mean and unbiased covariance: the textbook definition. */
function twoPass(set: FeatureSet): { mean: number[]; cov: number[] } {
  const { rows, dim, data } = set;
  const mean = Array.from({ length: dim }, (_, i) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += data[r * dim + i]!;
    return s / rows;
  });
  const cov = new Array<number>(dim * dim).fill(0);
  for (let i = 0; i < dim; i++)
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++)
        s += (data[r * dim + i]! - mean[i]!) * (data[r * dim + j]! - mean[j]!);
      cov[i * dim + j] = s / (rows - 1);
    }
  return { mean, cov };
}

const maxRelDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / (1 + Math.abs(b[i]!))), 0);

describe('momentAccumulator (float64 streaming mean and covariance)', () => {
  it('matches a hand computation: rows (0,0), (2,0), (0,2)', () => {
    // mean = (2/3, 2/3); deviations (−2/3, −2/3), (4/3, −2/3), (−2/3, 4/3)
    // var = (4/9 + 16/9 + 4/9) / 2 = 4/3; cov = (4/9 − 8/9 − 8/9) / 2 = −2/3
    const s = gaussianStats(
      featureRows([
        [0, 0],
        [2, 0],
        [0, 2],
      ]),
    );
    expect(s.count).toBe(3);
    expect(Array.from(s.mean)).toEqual([2 / 3, 2 / 3].map((v) => expect.closeTo(v, 15)));
    expect(Array.from(s.cov)).toEqual(
      [4 / 3, -2 / 3, -2 / 3, 4 / 3].map((v) => expect.closeTo(v, 15)),
    );
  });

  it('batch-streamed statistics equal the all-at-once ones (and a two-pass reference)', () => {
    const all = randomFeatures(500, 7, 3);
    const once = gaussianStats(all);
    const acc = momentAccumulator();
    for (const [from, to] of [
      [0, 1],
      [1, 38],
      [38, 238],
      [238, 500],
    ] as const) {
      acc.add(slice(all, from, to));
    }
    const streamed = acc.stats();
    expect(streamed.count).toBe(500);
    expect(maxRelDiff(streamed.mean, once.mean)).toBeLessThan(1e-13);
    expect(maxRelDiff(streamed.cov, once.cov)).toBeLessThan(1e-13);
    const ref = twoPass(all);
    expect(maxRelDiff(once.mean, ref.mean)).toBeLessThan(1e-13);
    expect(maxRelDiff(once.cov, ref.cov)).toBeLessThan(1e-13);
  });

  it('merging accumulators equals feeding one (different shifts are reconciled)', () => {
    const all = randomFeatures(300, 5, 9);
    const a = momentAccumulator();
    const b = momentAccumulator();
    a.add(slice(all, 0, 120));
    b.add(slice(all, 120, 300)); // b's shift is the mean of other rows than a's
    a.merge(b);
    const ref = twoPass(all);
    const merged = a.stats();
    expect(merged.count).toBe(300);
    expect(maxRelDiff(merged.mean, ref.mean)).toBeLessThan(1e-13);
    expect(maxRelDiff(merged.cov, ref.cov)).toBeLessThan(1e-13);
  });

  it('stays accurate far from the origin (features ≈ 1e4 with unit spread)', () => {
    const all = randomFeatures(400, 4, 5, 1e4);
    const ref = twoPass(all);
    const acc = momentAccumulator();
    for (let r = 0; r < 400; r += 50) acc.add(slice(all, r, r + 50));
    expect(maxRelDiff(acc.stats().cov, ref.cov)).toBeLessThan(1e-11);
  });

  it('reads [B, D] tensors without leaking or disposing them', () => {
    const all = randomFeatures(64, 3, 1);
    const x = tf.tensor2d(all.data, [64, 3]);
    const acc = momentAccumulator();
    expectNoLeaks(() => {
      acc.add(x);
      acc.add(featureSet(x));
    });
    expect(x.isDisposed).toBe(false);
    x.dispose();
    const doubled = twoPass({
      ...all,
      rows: 128,
      data: new Float32Array([...all.data, ...all.data]),
    });
    expect(maxRelDiff(acc.stats().cov, doubled.cov)).toBeLessThan(1e-13);
  });

  it('names what is wrong: mismatched extractor or dimension, too few samples', () => {
    const acc = momentAccumulator('inceptionV3Pool3');
    expect(() => acc.stats()).toThrow(/at least 2 samples, got 0/);
    acc.add({ ...randomFeatures(3, 4, 1), extractor: 'inceptionV3Pool3' });
    expect(() => acc.add(randomFeatures(3, 4, 1))).toThrow(/extractor.*'inceptionV3Pool3'.*'raw'/);
    expect(() => acc.add({ ...randomFeatures(3, 5, 1), extractor: 'inceptionV3Pool3' })).toThrow(
      /feature dimension: expected 4, got 5/,
    );
  });
});
