import { describe, expect, it } from 'vitest';
import { matMul64, sqrtPsd, symmetricEigen } from './eigen.js';

/** A deterministic pseudo-random stream (LCG) for test matrices. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const next = lcg(seed);
  return Float64Array.from({ length: rows * cols }, next);
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/** Σ_j λ_j v_j v_jᵀ from an eigendecomposition. */
function reconstruct(values: Float64Array, vectors: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++)
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++)
        out[p * n + q] = out[p * n + q]! + values[j]! * vectors[j * n + p]! * vectors[j * n + q]!;
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('symmetricEigen (Householder tridiagonalisation + implicit QL, float64)', () => {
  it('solves the 2×2 case [[2, 1], [1, 2]] exactly: λ = 1, 3 with v = (1, ∓1)/√2', () => {
    const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(1, 14);
    expect(values[1]).toBeCloseTo(3, 14);
    const v = vectors!;
    // eigenvector of 1 is ±(1, −1)/√2, of 3 is ±(1, 1)/√2
    expect(Math.abs(v[0]!)).toBeCloseTo(Math.SQRT1_2, 14);
    expect(v[0]! * v[1]!).toBeCloseTo(-0.5, 14);
    expect(v[2]! * v[3]!).toBeCloseTo(0.5, 14);
  });

  it('reconstructs random symmetric matrices with orthonormal vectors (n = 1, 5, 40)', () => {
    for (const n of [1, 5, 40]) {
      const b = randomMatrix(n, n, n);
      const a = matMul64(b, transpose(b, n, n), n, n, n); // PSD
      for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! - 0.3; // make it indefinite
      const { values, vectors } = symmetricEigen(a, n);
      expect(maxAbsDiff(reconstruct(values, vectors!, n), a)).toBeLessThan(1e-12 * n);
      const gram = matMul64(vectors!, transpose(vectors!, n, n), n, n, n);
      const eye = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
      expect(maxAbsDiff(gram, eye)).toBeLessThan(1e-13 * n);
      for (let j = 1; j < n; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
      // trace = Σλ
      const trace = Array.from({ length: n }, (_, i) => a[i * n + i]!).reduce((s, x) => s + x);
      expect(values.reduce((s, x) => s + x)).toBeCloseTo(trace, 10);
      // the values-only path gives the same spectrum
      const only = symmetricEigen(a, n, { vectors: false });
      expect(only.vectors).toBeUndefined();
      expect(maxAbsDiff(only.values, values)).toBeLessThan(1e-12 * n);
    }
  });

  it('handles rank-deficient, repeated and zero spectra', () => {
    // rank 2 in 6 dims: B Bᵀ with B 6×2 ⇒ four zero eigenvalues
    const n = 6;
    const b = randomMatrix(n, 2, 7);
    const a = matMul64(b, transpose(b, n, 2), n, 2, n);
    const { values, vectors } = symmetricEigen(a, n);
    for (let j = 0; j < 4; j++) expect(Math.abs(values[j]!)).toBeLessThan(1e-15);
    expect(values[4]!).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(reconstruct(values, vectors!, n), a)).toBeLessThan(1e-14);
    // 3·I: triple eigenvalue, any orthonormal basis
    const eye3 = new Float64Array([3, 0, 0, 0, 3, 0, 0, 0, 3]);
    expect(Array.from(symmetricEigen(eye3, 3).values)).toEqual([3, 3, 3]);
    expect(Array.from(symmetricEigen(new Float64Array(9), 3).values)).toEqual([0, 0, 0]);
    // diagonal input: the sorted diagonal
    const diag = new Float64Array([5, 0, 0, 0, -1, 0, 0, 0, 2]);
    expect(Array.from(symmetricEigen(diag, 3).values)).toEqual([-1, 2, 5]);
  });

  it('rejects a wrong size and non-finite entries', () => {
    expect(() => symmetricEigen(new Float64Array(3), 2)).toThrow(/2×2 = 4 entries, got 3/);
    expect(() => symmetricEigen(new Float64Array([1, Number.NaN, Number.NaN, 1]), 2)).toThrow(
      /not finite/,
    );
  });
});

describe('sqrtPsd', () => {
  it('squares back to the matrix, also when singular; clamps rounding negatives', () => {
    const n = 8;
    const b = randomMatrix(n, 3, 11); // rank 3
    const a = matMul64(b, transpose(b, n, 3), n, 3, n);
    const s = sqrtPsd(a, n);
    expect(maxAbsDiff(matMul64(s, s, n, n, n), a)).toBeLessThan(1e-14);
    expect(maxAbsDiff(s, transpose(s, n, n))).toBeLessThan(1e-15);
    expect(Array.from(sqrtPsd(new Float64Array([4, 0, 0, 9]), 2))).toEqual([2, 0, 0, 3]);
  });
});
