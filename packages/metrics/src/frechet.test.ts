import { describe, expect, it } from 'vitest';
import { matMul64, symmetricEigen } from './eigen.js';
import { INCEPTION_V3_POOL3 } from './extractor.js';
import type { FeatureSet } from './featureSet.js';
import { fid, frechetDistance, traceSqrtProduct } from './frechet.js';
import { gaussianStats } from './moments.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const diag = (v: number[]) => {
  const n = v.length;
  const m = new Float64Array(n * n);
  v.forEach((x, i) => {
    m[i * n + i] = x;
  });
  return m;
};

const transpose = (a: Float64Array, n: number) =>
  Float64Array.from({ length: n * n }, (_, k) => a[(k % n) * n + Math.floor(k / n)]!);

/** A random orthogonal matrix: the eigenvectors of a random symmetric one. */
function randomRotation(n: number, seed: number): Float64Array {
  const next = lcg(seed);
  const b = Float64Array.from({ length: n * n }, next);
  const sym = Float64Array.from(b, (_, k) => b[k]! + b[(k % n) * n + Math.floor(k / n)]!);
  return symmetricEigen(sym, n).vectors!;
}

/** U diag(λ) Uᵀ with the rows of `rows` as U's columns. */
function rotate(rows: Float64Array, lambda: number[], n: number): Float64Array {
  const u = transpose(rows, n);
  return matMul64(matMul64(u, diag(lambda), n, n, n), rows, n, n, n);
}

const sq = (v: number[]) => v.reduce((s, x) => s + x * x, 0);
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('frechetDistance (float64, eigendecomposition-based)', () => {
  it('equals the diagonal closed form ‖μ₁ − μ₂‖² + Σ(√a − √b)²', () => {
    // Δμ = (1, 2, 2): 9;  (2−1)² + (1−2)² + (3−0.5)² = 1 + 1 + 6.25  ⇒ 17.25
    const d = frechetDistance(
      { dim: 3, mean: [1, 2, 3], cov: diag([4, 1, 9]) },
      { dim: 3, mean: [0, 0, 1], cov: diag([1, 4, 0.25]) },
    );
    expect(d).toBeCloseTo(17.25, 12);
  });

  it('equals the closed form for commuting covariances U diag(a) Uᵀ, U diag(b) Uᵀ', () => {
    const n = 6;
    const u = randomRotation(n, 4);
    const a = [0.5, 1, 2, 3, 4, 7];
    const b = [2, 0.1, 2, 5, 1, 0.3];
    const mu1 = [0, 1, 0, -1, 2, 0];
    const mu2 = [1, 1, 1, 1, 1, 1];
    const expected =
      sq(mu1.map((m, i) => m - mu2[i]!)) +
      a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    const d = frechetDistance(
      { dim: n, mean: mu1, cov: rotate(u, a, n) },
      { dim: n, mean: mu2, cov: rotate(u, b, n) },
    );
    expect(d).toBeCloseTo(expected, 11);
  });

  it('handles rank-deficient covariances: Σ₁ = v vᵀ gives tr(·)^{1/2} = √(vᵀ Σ₂ v)', () => {
    // Σ₁^{1/2} = v vᵀ / ‖v‖, so Σ₁^{1/2} Σ₂ Σ₁^{1/2} = (vᵀΣ₂v / ‖v‖²) v vᵀ with the single
    // eigenvalue vᵀΣ₂v: d² = ‖Δμ‖² + ‖v‖² + tr Σ₂ − 2 √(vᵀΣ₂v).
    const n = 5;
    const v = [1, -2, 0.5, 0, 3];
    const next = lcg(8);
    const bm = Float64Array.from({ length: n * n }, next);
    const s2 = matMul64(bm, transpose(bm, n), n, n, n);
    const s1 = Float64Array.from({ length: n * n }, (_, k) => v[Math.floor(k / n)]! * v[k % n]!);
    const s2v = Array.from({ length: n }, (_, i) =>
      v.reduce((s, vj, j) => s + s2[i * n + j]! * vj, 0),
    );
    const trace2 = Array.from({ length: n }, (_, i) => s2[i * n + i]!).reduce((s, x) => s + x);
    const mu = [0, 0, 0, 0, 0];
    const mu2 = [1, 0, 0, 0, -1];
    const expected = 2 + sq(v) + trace2 - 2 * Math.sqrt(dot(v, s2v));
    expect(
      frechetDistance({ dim: n, mean: mu, cov: s1 }, { dim: n, mean: mu2, cov: s2 }),
    ).toBeCloseTo(expected, 11);
    // both rank one: Σ₁ = v vᵀ, Σ₂ = w wᵀ ⇒ d² = ‖v‖² + ‖w‖² − 2 |v·w|
    const w = [0, 1, 1, 2, -1];
    const s3 = Float64Array.from({ length: n * n }, (_, k) => w[Math.floor(k / n)]! * w[k % n]!);
    expect(
      frechetDistance({ dim: n, mean: mu, cov: s1 }, { dim: n, mean: mu, cov: s3 }),
    ).toBeCloseTo(sq(v) + sq(w) - 2 * Math.abs(dot(v, w)), 11);
    expect(traceSqrtProduct(s1, s3, n)).toBeCloseTo(Math.abs(dot(v, w)), 12);
  });

  it('FID(x, x) ≈ 0 and d(a, b) = d(b, a), also with fewer samples than dimensions', () => {
    const next = lcg(21);
    const make = (rows: number, dim: number, shift: number): FeatureSet => ({
      extractor: INCEPTION_V3_POOL3,
      rows,
      dim,
      data: Float32Array.from({ length: rows * dim }, (_, k) => next() + shift * (k % 3)),
    });
    const real = gaussianStats(make(40, 64, 0)); // rank ≤ 39 in 64 dimensions
    const fake = gaussianStats(make(50, 64, 0.2));
    let trace = 0;
    for (let i = 0; i < 64; i++) trace += real.cov[i * 64 + i]!;
    expect(fid(real, real).value).toBeLessThan(1e-9 * trace);
    const ab = fid(real, fake);
    const ba = fid(fake, real);
    expect(ab.value).toBeGreaterThan(0.1);
    expect(Math.abs(ab.value - ba.value)).toBeLessThan(1e-10 * ab.value);
    expect(ab).toMatchObject({ name: 'FID', extractor: INCEPTION_V3_POOL3, realCount: 40 });
  });

  it('labels non-Inception features "FD_<name>" and refuses mixed extractors', () => {
    const rows = (extractor: string): FeatureSet => ({
      extractor,
      rows: 3,
      dim: 2,
      data: new Float32Array([0, 0, 1, 0, 0, 1]),
    });
    const s = gaussianStats(rows('resnet18'));
    expect(fid(s, s).name).toBe('FD_resnet18');
    expect(() => fid(s, gaussianStats(rows(INCEPTION_V3_POOL3)))).toThrow(/extractor/);
    expect(() =>
      frechetDistance({ dim: 2, mean: [0, 0], cov: [1, 0, 0, 1] }, { dim: 1, mean: [0], cov: [1] }),
    ).toThrow(/dimension: expected 2, got 1/);
  });
});
