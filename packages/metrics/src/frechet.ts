import { shapeError } from '@scorekit/core';
import { gemmNT, symmetricEigen } from './eigen.js';
import { metricLabel } from './extractor.js';
import { checkCompatible } from './featureSet.js';
import type { GaussianStats } from './moments.js';

/** A Gaussian given by its mean and row-major covariance (float64). */
export interface Gaussian {
  readonly dim: number;
  readonly mean: ArrayLike<number>;
  readonly cov: ArrayLike<number>;
}

/**
 * The squared Fréchet (2-Wasserstein) distance between two Gaussians (Dowson & Landau 1982;
 * Heusel et al. 2017, eq. for FID):
 *
 *   d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}).
 *
 * Computed in float64 through symmetric eigendecompositions only: Σ₁ = U Λ Uᵀ, then the
 * eigenvalues ν of D Uᵀ Σ₂ U D with D = Λ^{1/2} (similar to Σ₁^{1/2} Σ₂ Σ₁^{1/2}), so
 * tr(…)^{1/2} = Σ √ν. Eigenvalues within rounding of zero (tiny negatives included) are
 * clamped to 0 and the directions where Σ₁ vanishes are dropped, so rank-deficient
 * covariances (fewer samples than dimensions) are fine. The result is clamped at 0.
 *
 * @example
 * ```ts
 * frechetDistance(
 *   { dim: 1, mean: [0], cov: [4] },
 *   { dim: 1, mean: [3], cov: [1] },
 * ); // 3² + (2 − 1)² = 10
 * ```
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const n = a.dim;
  if (b.dim !== n) shapeError('frechetDistance: dimension', `${n}`, `${b.dim}`);
  for (const [what, g] of [
    ['first', a],
    ['second', b],
  ] as const) {
    if (g.mean.length !== n || g.cov.length !== n * n) {
      shapeError(
        `frechetDistance: ${what} Gaussian`,
        `mean of ${n} and covariance of ${n * n} entries`,
        `${g.mean.length} and ${g.cov.length}`,
      );
    }
  }
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let traces = 0;
  for (let i = 0; i < n; i++) traces += a.cov[i * n + i]! + b.cov[i * n + i]!;
  return Math.max(0, meanTerm + traces - 2 * traceSqrtProduct(a.cov, b.cov, n));
}

/**
 * tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} for symmetric PSD Σ₁, Σ₂ (float64): the cross term of
 * the Fréchet distance (Heusel et al. 2017). With Σ₁ = Qᵀ Λ Q restricted to its r eigenvalues
 * above rounding level and D = Λ^{1/2}, it is Σ √ν over the eigenvalues ν of the r × r
 * matrix M = D Q Σ₂ Qᵀ D; eigenvalues of either matrix within n ε max|λ| of zero (including
 * rounding negatives) count as 0.
 *
 * @example
 * ```ts
 * traceSqrtProduct([4, 0, 0, 1], [1, 0, 0, 9], 2); // √4 + √9 = 5
 * ```
 */
export function traceSqrtProduct(
  sigma1: ArrayLike<number>,
  sigma2: ArrayLike<number>,
  n: number,
): number {
  const { values, vectors } = symmetricEigen(sigma1, n);
  const q = vectors!;
  // Eigenvalues within rounding of zero (|λ| ≤ n ε max|λ|) are zero: keeping them would add
  // spurious √(ε‖Σ‖)-sized terms to the trace.
  const keep: number[] = [];
  const tol1 = roundingTolerance(values, n);
  for (let j = 0; j < n; j++) if (values[j]! > tol1) keep.push(j);
  const r = keep.length;
  if (r === 0) return 0;
  // Q_J: the kept eigenvectors as rows (r × n); T = Q_J Σ₂ = Q_J Σ₂ᵀ (Σ₂ symmetric).
  const qj = new Float64Array(r * n);
  keep.forEach((j, row) => {
    qj.set(q.subarray(j * n, j * n + n), row * n);
  });
  const t = gemmNT(qj, Float64Array.from(sigma2), r, n, n);
  // M = D (T Q_Jᵀ) D, symmetric: compute the upper triangle, scale and mirror it.
  const m = gemmNT(t, qj, r, n, r, undefined, true);
  const sd = keep.map((j) => Math.sqrt(values[j]!));
  for (let x = 0; x < r; x++) {
    for (let y = x; y < r; y++) {
      const v = sd[x]! * sd[y]! * m[x * r + y]!;
      m[x * r + y] = v;
      m[y * r + x] = v;
    }
  }
  const nu = symmetricEigen(m, r, { vectors: false }).values;
  const tol2 = roundingTolerance(nu, r);
  let sum = 0;
  for (let j = 0; j < r; j++) if (nu[j]! > tol2) sum += Math.sqrt(nu[j]!);
  return sum;
}

/** n ε max|λ|: the size below which a computed eigenvalue is indistinguishable from 0. */
function roundingTolerance(values: Float64Array, n: number): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return n * Number.EPSILON * max;
}

/** A Fréchet distance between real and generated feature Gaussians, with its provenance. */
export interface FrechetResult {
  /** "FID" for Inception-v3 pool-3 features, "FD_<extractor>" otherwise. */
  readonly name: string;
  readonly extractor: string;
  readonly value: number;
  readonly realCount: number;
  readonly fakeCount: number;
}

/**
 * The Fréchet Inception Distance (Heusel et al. 2017) between the Gaussians of real and
 * generated features, labelled by the extractor that produced them: "FID" only for
 * `inceptionV3Pool3`, "FD_<name>" for any other features. Both sides must come from the
 * same extractor.
 *
 * @example
 * ```ts
 * const { name, value } = fid(realStats, fakeStats); // e.g. 'FID', 2.87
 * ```
 */
export function fid(real: GaussianStats, fake: GaussianStats): FrechetResult {
  checkCompatible('fid', real, fake);
  return {
    name: metricLabel('FID', real.extractor),
    extractor: real.extractor,
    value: frechetDistance(real, fake),
    realCount: real.count,
    fakeCount: fake.count,
  };
}
