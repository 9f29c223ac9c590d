import { fold, type Key, key, normal, type Params, uniformArray } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { concatAll } from 'fp-ts/lib/Monoid.js';
import { describe, expect, it } from 'vitest';
import { type Loss, type LossValue, termValue, tidyLossValue } from './loss.js';
import { concatLossValues, lossMonoid, lossValueMonoid, sum, zeroLoss } from './monoid.js';

type Numbers = { total: number; terms: Record<string, number> };

const read = (v: LossValue): Numbers => ({
  total: v.total.dataSync()[0]!,
  terms: Object.fromEntries(Object.entries(v.terms).map(([k, t]) => [k, t.dataSync()[0]!])),
});

const expectSame = (a: Numbers, b: Numbers) => {
  expect(Object.keys(a.terms).sort()).toEqual(Object.keys(b.terms).sort());
  expect(a.total).toBeCloseTo(b.total, 4);
  for (const [k, v] of Object.entries(a.terms)) expect(v).toBeCloseTo(b.terms[k]!, 4);
};

const NAMES = ['dsm', 'dlsm', 'crossEntropy', 'extra'];

/** A random loss value: 0–3 random terms from a small name set (so names collide). */
function randomValue(seed: number): LossValue {
  const u = uniformArray(key(seed), 9);
  const n = Math.floor(u[0]! * 4);
  const terms: Record<string, tf.Scalar> = {};
  for (let j = 0; j < n; j++)
    terms[NAMES[Math.floor(u[1 + j]! * NAMES.length)]!] = tf.scalar((u[5 + j]! - 0.5) * 10);
  return { total: tf.scalar((u[8]! - 0.5) * 20), terms };
}

/** A random loss that depends on params, batch and key, with random term names and weights. */
function randomLoss(seed: number): Loss<{ x: tf.Tensor }> {
  const u = uniformArray(key(1000 + seed), 7);
  const n = 1 + Math.floor(u[0]! * 3);
  return (params, batch, k) =>
    tidyLossValue(() => {
      const noise = normal(fold(k, seed), batch.x.shape);
      const base = tf.mean(tf.mul(params['w']!, tf.add(batch.x, noise)));
      const terms: Record<string, tf.Scalar> = {};
      let total = tf.scalar(0);
      for (let j = 0; j < n; j++) {
        const term = tf.mul(base, (u[1 + j]! - 0.5) * 4) as tf.Scalar;
        const name = NAMES[Math.floor(u[4 + j]! * NAMES.length)]!;
        terms[name] = terms[name] ? tf.add(terms[name]!, term) : term;
        total = tf.add(total, term);
      }
      return { total, terms };
    });
}

describe('lossValueMonoid', () => {
  it('obeys the identity and associativity laws on random values (totals and terms)', () => {
    const M = lossValueMonoid;
    for (let s = 0; s < 30; s++) {
      tf.tidy(() => {
        const [a, b, c] = [randomValue(3 * s), randomValue(3 * s + 1), randomValue(3 * s + 2)];
        const ra = read(a);
        expectSame(read(M.concat(M.empty, a)), ra);
        expectSame(read(M.concat(a, M.empty)), ra);
        expectSame(read(M.concat(M.concat(a, b), c)), read(M.concat(a, M.concat(b, c))));
      });
    }
  });

  it('adds totals and merges terms by name (same names add)', () => {
    tf.tidy(() => {
      const a = { total: tf.scalar(3), terms: { dlsm: tf.scalar(1), crossEntropy: tf.scalar(2) } };
      const b = { total: tf.scalar(5), terms: { dlsm: tf.scalar(4), dsm: tf.scalar(1) } };
      expect(read(concatLossValues([a, b]))).toEqual({
        total: 8,
        terms: { dlsm: 5, crossEntropy: 2, dsm: 1 },
      });
      expect(read(concatAll(lossValueMonoid)([a, b, a])).total).toBe(11);
    });
  });

  it('returns fresh tensors and leaves its inputs alive', () => {
    tf.tidy(() => {
      const a = termValue('dsm', tf.scalar(2));
      const out = lossValueMonoid.concat(a, lossValueMonoid.empty);
      out.total.dispose();
      out.terms['dsm']!.dispose();
      expect(read(a)).toEqual({ total: 2, terms: { dsm: 2 } });
    });
  });

  it('rejects a non-scalar total', () => {
    tf.tidy(() => {
      const bad = { total: tf.zeros([2]) as unknown as tf.Scalar, terms: {} };
      expect(() => concatLossValues([termValue('a', tf.scalar(1)), bad])).toThrow(
        'loss value 1: expected a scalar total, got shape [2]',
      );
    });
  });
});

describe('lossMonoid', () => {
  const at = (loss: Loss<{ x: tf.Tensor }>, params: Params, x: tf.Tensor, k: Key) =>
    tf.tidy(() => read(loss(params, { x }, k)));

  it('obeys the identity and associativity laws on random losses and inputs', () => {
    const M = lossMonoid<{ x: tf.Tensor }>();
    for (let s = 0; s < 12; s++) {
      const [f, g, h] = [randomLoss(3 * s), randomLoss(3 * s + 1), randomLoss(3 * s + 2)];
      const params = { w: normal(key(50 + s), [4, 3]) };
      const x = normal(key(80 + s), [4, 3]);
      const k = key(200 + s);
      const rf = at(f, params, x, k);
      expectSame(at(M.concat(M.empty, f), params, x, k), rf);
      expectSame(at(M.concat(f, M.empty), params, x, k), rf);
      expectSame(
        at(M.concat(M.concat(f, g), h), params, x, k),
        at(M.concat(f, M.concat(g, h)), params, x, k),
      );
      expectSame(at(sum(f, g, h), params, x, k), at(M.concat(M.concat(f, g), h), params, x, k));
      params.w.dispose();
      x.dispose();
    }
  });

  it('sum() and zeroLoss are the zero loss: total 0, no terms', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 2]);
      expect(read(sum<{ x: tf.Tensor }>()({}, { x }, key(0)))).toEqual({ total: 0, terms: {} });
      expect(read(zeroLoss<{ x: tf.Tensor }>()({}, { x }, key(0)))).toEqual({
        total: 0,
        terms: {},
      });
    });
  });

  it('differentiates termwise: ∇ sum(f, g) = ∇f + ∇g', () => {
    tf.tidy(() => {
      const [f, g] = [randomLoss(1), randomLoss(2)];
      const w = normal(key(9), [4, 3]);
      const x = normal(key(10), [4, 3]);
      const grad = (loss: Loss<{ x: tf.Tensor }>) =>
        tf.grad((v: tf.Tensor) => loss({ w: v }, { x }, key(4)).total)(w);
      const lhs = grad(sum(f, g)).dataSync();
      const rhs = tf.add(grad(f), grad(g)).dataSync();
      for (let i = 0; i < lhs.length; i++) expect(lhs[i]!).toBeCloseTo(rhs[i]!, 5);
    });
  });
});
