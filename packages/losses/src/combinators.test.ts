import { fold, key, normal, type Params, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { independentNoise, renamed, weighted } from './combinators.js';
import { dsm } from './dsm.js';
import { type Loss, type LossValue, tidyLossValue } from './loss.js';
import { sum } from './monoid.js';

const read = (v: LossValue) => ({
  total: v.total.dataSync()[0]!,
  terms: Object.fromEntries(Object.entries(v.terms).map(([k, t]) => [k, t.dataSync()[0]!])),
});

/** A two-term loss with known values: a = mean(x), b = 2 mean(x); total 3 mean(x). */
const twoTerms: Loss<{ x: tf.Tensor }> = (_, batch) =>
  tidyLossValue(() => {
    const a = tf.mean(batch.x) as tf.Scalar;
    const b = tf.mul(a, 2) as tf.Scalar;
    return { total: tf.add(a, b) as tf.Scalar, terms: { a, b } };
  });

const score = (p: Params, x: tf.Tensor) => tf.mul(x, p['c']!);

describe('weighted', () => {
  it('scales the total and every term by λ', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2, 3]]);
      expect(read(weighted(0.5)(twoTerms)({}, { x }, key(0)))).toEqual({
        total: 3,
        terms: { a: 1, b: 2 },
      });
      expect(read(weighted(0)(twoTerms)({}, { x }, key(0))).total).toBe(0);
    });
  });

  it('rejects a non-finite λ', () => {
    expect(() => weighted(Number.NaN)).toThrow(
      'weighted: lambda must be a finite number (was NaN)',
    );
  });
});

describe('renamed', () => {
  it('prefixes, maps or transforms term names; same names merge; the total is unchanged', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2, 3]]);
      const run = (l: Loss<{ x: tf.Tensor }>) => read(l({}, { x }, key(0)));
      expect(run(renamed('classifier')(twoTerms))).toEqual({
        total: 6,
        terms: { 'classifier/a': 2, 'classifier/b': 4 },
      });
      expect(run(renamed({ a: 'alpha' })(twoTerms))).toEqual({
        total: 6,
        terms: { alpha: 2, b: 4 },
      });
      expect(run(renamed((n) => n.toUpperCase())(twoTerms)).terms).toEqual({ A: 2, B: 4 });
      expect(run(renamed(() => 'one')(twoTerms))).toEqual({ total: 6, terms: { one: 6 } });
    });
  });
});

describe('the key convention', () => {
  const sde = veSde({ sigmaMin: 0.1, sigmaMax: 5 });
  const a = dsm({ sde, score });
  const b = dsm({ sde: vpSde(), score, weighting: 'reduceMean' });

  it('adding a term to a sum leaves the other terms’ noise, hence values, unchanged', () => {
    tf.tidy(() => {
      const params = { c: tf.scalar(-0.4) };
      const x = normal(key(1), [8, 3]);
      const alone = read(a(params, { x }, key(5)));
      const together = read(sum(renamed('a')(a), renamed('b')(b))(params, { x }, key(5)));
      expect(together.terms['a/dsm']).toBeCloseTo(alone.total, 6);
      expect(together.total).toBeCloseTo(alone.total + together.terms['b/dsm']!, 5);
    });
  });

  it('independentNoise(tag) evaluates the term at fold(key, tag)', () => {
    tf.tidy(() => {
      const params = { c: tf.scalar(-0.4) };
      const x = normal(key(1), [8, 3]);
      const shared = read(a(params, { x }, key(5))).total;
      const own = read(independentNoise(3)(a)(params, { x }, key(5))).total;
      expect(own).toBeCloseTo(read(a(params, { x }, fold(key(5), 3))).total, 6);
      expect(own).not.toBeCloseTo(shared, 3);
      expect(() => independentNoise(-1)).toThrow(/tag must be a non-negative integer/);
    });
  });
});
