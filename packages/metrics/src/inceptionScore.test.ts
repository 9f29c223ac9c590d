import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { INCEPTION_V3_POOL3 } from './extractor.js';
import { featureRows } from './featureSet.js';
import { inceptionScore, inceptionScoreAccumulator } from './inceptionScore.js';

/** Confident one-hot logits: image i is class i mod C with logit 60 (p ≈ 1 − (C−1)e⁻⁶⁰). */
const oneHot = (n: number, classes: number) =>
  featureRows(
    Array.from({ length: n }, (_, i) =>
      Array.from({ length: classes }, (_, y) => (y === i % classes ? 60 : 0)),
    ),
  );

describe('inceptionScore (Salimans et al. 2016)', () => {
  it('is 1 for uniform predictions (p(y|x) = p(y) ⇒ KL = 0)', () => {
    const r = expectNoLeaks(() => {
      const logits = tf.zeros([30, 7]);
      const out = inceptionScore(logits, { splits: 3 });
      logits.dispose();
      return out;
    });
    expect(r.mean).toBeCloseTo(1, 14);
    expect(r.std).toBeCloseTo(0, 14);
    expect(r.splits).toHaveLength(3);
  });

  it('is C for confident one-hot predictions over C balanced classes (KL = log C)', () => {
    // 40 images, 4 classes, 2 splits of 20 ⇒ 5 images of each class per split, p̄ = 1/4
    const r = inceptionScore(oneHot(40, 4), { splits: 2 });
    expect(r.mean).toBeCloseTo(4, 9);
    expect(r.splits.map((s) => s)).toEqual([expect.closeTo(4, 9), expect.closeTo(4, 9)]);
  });

  it('matches a hand computation for two soft predictions', () => {
    // logits (log 3, 0) and (0, log 3): p = (3/4, 1/4), (1/4, 3/4); p̄ = (1/2, 1/2)
    // KL = 3/4 log(3/2) + 1/4 log(1/2) for both ⇒ IS = exp(0.75 ln 1.5 − 0.25 ln 2) ≈ 1.13975
    // (to float32 rounding of the logit log 3)
    const r = inceptionScore(
      featureRows([
        [Math.log(3), 0],
        [0, Math.log(3)],
      ]),
      { splits: 1 },
    );
    expect(r.mean).toBeCloseTo(Math.exp(0.75 * Math.log(1.5) - 0.25 * Math.log(2)), 7);
  });

  it('reports mean and population std over splits', () => {
    // split 0: uniform (IS 1); split 1: one-hot over 5 balanced classes (IS 5) ⇒ mean 3, std 2
    const uniform = Array.from({ length: 10 }, () => [0, 0, 0, 0, 0]);
    const confident = Array.from(oneHot(10, 5).data).reduce<number[][]>((rows, v, k) => {
      if (k % 5 === 0) rows.push([]);
      rows[rows.length - 1]!.push(v);
      return rows;
    }, []);
    const r = inceptionScore(featureRows([...uniform, ...confident]), { splits: 2 });
    expect(r.splits).toEqual([expect.closeTo(1, 12), expect.closeTo(5, 9)]);
    expect(r.mean).toBeCloseTo(3, 9);
    expect(r.std).toBeCloseTo(2, 9);
  });

  it('streams: batches of any size give the all-at-once score', () => {
    const rows = Array.from({ length: 23 }, (_, i) => [Math.sin(i), Math.cos(2 * i), i % 3]);
    const once = inceptionScore(featureRows(rows), { splits: 4 });
    const acc = inceptionScoreAccumulator({ splits: 4, total: 23 });
    expectNoLeaks(() => {
      for (const [a, b] of [
        [0, 5],
        [5, 6],
        [6, 23],
      ] as const) {
        const t = tf.tensor2d(rows.slice(a, b));
        acc.add(t);
        t.dispose();
      }
    });
    const streamed = acc.result();
    expect(streamed.count).toBe(23);
    streamed.splits.forEach((s, k) => {
      expect(s).toBeCloseTo(once.splits[k]!, 12);
    });
  });

  it('labels by extractor and checks counts', () => {
    const inception = inceptionScore(
      { ...oneHot(4, 2), extractor: INCEPTION_V3_POOL3 },
      { splits: 1 },
    );
    expect(inception.name).toBe('IS');
    expect(inceptionScore(oneHot(4, 2), { splits: 1, extractor: 'resnet' }).name).toBe('IS_resnet');
    const acc = inceptionScoreAccumulator({ splits: 2, total: 4 });
    acc.add(oneHot(3, 2));
    expect(() => acc.result()).toThrow(/total = 4, got 3/);
    expect(() => acc.add(oneHot(2, 2))).toThrow(/at most total = 4, got 5/);
    expect(() => inceptionScoreAccumulator({ splits: 0, total: 4 })).toThrow(/splits/);
  });
});
