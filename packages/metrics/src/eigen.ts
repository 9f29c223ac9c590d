/**
 * Dense symmetric eigendecomposition in float64 on the host (tfjs has no float64 and no
 * eigensolver). Householder reduction to tridiagonal form followed by the implicit QL method
 * with Wilkinson-type shifts: the EISPACK `tred2`/`tql2` pair (Wilkinson & Reinsch 1971,
 * "Handbook for Automatic Computation II", contributions II/2 and II/3), as ported in JAMA.
 * Backward stable, so eigenvalues carry absolute errors of about ε‖A‖ whatever the rank:
 * that is what makes the Fréchet distance stable for rank-deficient covariances.
 */

/** A symmetric matrix's eigenvalues (ascending) and, optionally, its eigenvectors. */
export interface SymmetricEigen {
  readonly n: number;
  /** Eigenvalues λ₀ ≤ λ₁ ≤ … ≤ λ_{n−1}. */
  readonly values: Float64Array;
  /**
   * Row-major n × n; row j is the unit eigenvector of `values[j]`, so A = Σ_j λ_j v_j v_jᵀ.
   * Absent when only the values were asked for.
   */
  readonly vectors?: Float64Array;
}

/** Options of {@link symmetricEigen}. */
export interface SymmetricEigenOptions {
  /** Also compute the eigenvectors (default true; values alone cost about a quarter). */
  readonly vectors?: boolean;
}

const EPS = 2 ** -52;

/**
 * The eigendecomposition A = V Λ Vᵀ of a real symmetric n × n matrix given row-major (only
 * the lower triangle is read). Householder tridiagonalisation + implicit QL (Wilkinson &
 * Reinsch 1971, II/2–II/3), float64 throughout; O(n³).
 *
 * @example
 * ```ts
 * const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * // values = [1, 3]; rows of vectors = ±[1, −1]/√2, ±[1, 1]/√2
 * ```
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  n: number,
  options: SymmetricEigenOptions = {},
): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new RangeError(`symmetricEigen: expected ${n}×${n} = ${n * n} entries, got ${a.length}`);
  }
  const wantVectors = options.vectors ?? true;
  if (n === 0) return { n, values: new Float64Array(0), vectors: new Float64Array(0) };
  const W = new Float64Array(n * n); // the lower triangle of A, symmetrised
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is not finite (${v})`);
      }
      W[i * n + j] = v;
      W[j * n + i] = v;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // W is tred2's work matrix V stored transposed (W[a][b] = V[b][a]); A being symmetric, it
  // starts as A. Every inner loop then runs along contiguous rows, and on return W's rows
  // are the basis vectors that QL rotates.
  tred2(W, d, e, n, wantVectors);
  if (!wantVectors) {
    tql(d, e, n, null);
    d.sort();
    return { n, values: d };
  }
  tql(d, e, n, W);
  // Sort ascending, permuting the eigenvector rows with the values.
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => d[p]! - d[q]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src]!;
    vectors.set(W.subarray(src * n, src * n + n), dst * n);
  });
  return { n, values, vectors };
}

/**
 * Householder reduction of the symmetric matrix in W to tridiagonal form: diagonal in d,
 * subdiagonal in e[1..n−1] (e[0] = 0); with `accumulate`, W becomes Qᵀ with A = Q T Qᵀ
 * (EISPACK tred2, its work matrix V stored transposed: V[x][y] is W[y n + x]).
 */
function tred2(W: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean) {
  for (let j = 0; j < n; j++) d[j] = W[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + i - 1]!;
        W[j * n + i] = 0;
        W[i * n + j] = 0;
      }
    } else {
      // Generate the Householder vector.
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // Apply the similarity transformation to the remaining columns.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        W[i * n + j] = f;
        const row = j * n;
        g = e[j]! + W[row + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = W[row + k]!;
          g += vkj * d[k]!;
          e[k] = e[k]! + vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const row = j * n;
        for (let k = j; k <= i - 1; k++) W[row + k] = W[row + k]! - (f * e[k]! + g * d[k]!);
        d[j] = W[row + i - 1]!;
        W[row + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // The tridiagonal's diagonal sits on the diagonal (tred2 copies it from there when it
    // accumulates); the Householder data is not needed.
    for (let j = 0; j < n; j++) d[j] = W[j * n + j]!;
    e[0] = 0;
    return;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    W[i * n + n - 1] = W[i * n + i]!;
    W[i * n + i] = 1;
    const h = d[i + 1]!;
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[next + k]! / h;
      for (let j = 0; j <= i; j++) {
        const row = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += W[next + k]! * W[row + k]!;
        for (let k = 0; k <= i; k++) W[row + k] = W[row + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) W[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + n - 1]!;
    W[j * n + n - 1] = 0;
  }
  W[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL iterations on the tridiagonal (d, e) (EISPACK tql2). With `W` (= Qᵀ, row
 * per basis vector), the rotations are applied to W's rows so that on return row j of W is
 * the eigenvector of d[j]. Eigenvalues are left unsorted.
 */
function tql(d: Float64Array, e: Float64Array, n: number, W: Float64Array | null): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    // Find a small subdiagonal element.
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) {
          throw new RangeError(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        }
        // Compute the implicit shift.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        // Implicit QL transformation.
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (W) {
            // Rotate basis vectors i and i+1 (rows of W).
            const ri = i * n;
            const rj = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const wj = W[rj + k]!;
              const wi = W[ri + k]!;
              W[rj + k] = s * wi + c * wj;
              W[ri + k] = c * wi - s * wj;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/**
 * C += A Bᵀ for row-major float64 A (n × m) and B (p × m): every entry a dot product of two
 * contiguous rows, computed in 4 × 4 register tiles. With `upper` (square C, n = p) only the
 * tiles on or above the diagonal are computed; entries below it inside diagonal tiles are
 * touched too, so read only j ≥ i.
 *
 * @example
 * ```ts
 * gemmNT(new Float64Array([1, 2]), new Float64Array([3, 4]), 1, 2, 1); // [11]
 * ```
 */
export function gemmNT(
  a: Float64Array,
  b: Float64Array,
  n: number,
  m: number,
  p: number,
  c: Float64Array = new Float64Array(n * p),
  upper = false,
): Float64Array {
  const n4 = n - (n % 4);
  const p4 = p - (p % 4);
  for (let i = 0; i < n4; i += 4) {
    const a0 = i * m;
    const a1 = a0 + m;
    const a2 = a1 + m;
    const a3 = a2 + m;
    for (let j = upper ? i : 0; j < p4; j += 4) {
      const b0 = j * m;
      const b1 = b0 + m;
      const b2 = b1 + m;
      const b3 = b2 + m;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0,
        s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let k = 0; k < m; k++) {
        const x0 = a[a0 + k]!;
        const x1 = a[a1 + k]!;
        const x2 = a[a2 + k]!;
        const x3 = a[a3 + k]!;
        const y0 = b[b0 + k]!;
        const y1 = b[b1 + k]!;
        const y2 = b[b2 + k]!;
        const y3 = b[b3 + k]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      let q = i * p + j;
      c[q] = c[q]! + s00;
      c[q + 1] = c[q + 1]! + s01;
      c[q + 2] = c[q + 2]! + s02;
      c[q + 3] = c[q + 3]! + s03;
      q += p;
      c[q] = c[q]! + s10;
      c[q + 1] = c[q + 1]! + s11;
      c[q + 2] = c[q + 2]! + s12;
      c[q + 3] = c[q + 3]! + s13;
      q += p;
      c[q] = c[q]! + s20;
      c[q + 1] = c[q + 1]! + s21;
      c[q + 2] = c[q + 2]! + s22;
      c[q + 3] = c[q + 3]! + s23;
      q += p;
      c[q] = c[q]! + s30;
      c[q + 1] = c[q + 1]! + s31;
      c[q + 2] = c[q + 2]! + s32;
      c[q + 3] = c[q + 3]! + s33;
    }
  }
  // Edges: the rows and columns that do not fill a tile.
  for (let i = 0; i < n; i++) {
    const from = upper ? i : 0;
    for (let j = from; j < p; j++) {
      if (i < n4 && j < p4) continue;
      let s = 0;
      for (let k = 0; k < m; k++) s += a[i * m + k]! * b[j * m + k]!;
      c[i * p + j] = c[i * p + j]! + s;
    }
  }
  return c;
}

/**
 * C = A B for row-major float64 matrices A (n × m) and B (m × p) (via {@link gemmNT} on Bᵀ).
 *
 * @example
 * ```ts
 * matMul64(new Float64Array([1, 2]), new Float64Array([3, 4]), 1, 2, 1); // [11]
 * ```
 */
export function matMul64(
  a: Float64Array,
  b: Float64Array,
  n: number,
  m: number,
  p: number,
): Float64Array {
  const bt = new Float64Array(m * p);
  for (let k = 0; k < m; k++) for (let j = 0; j < p; j++) bt[j * m + k] = b[k * p + j]!;
  return gemmNT(a, bt, n, m, p);
}

/**
 * The principal square root of a symmetric positive semi-definite matrix, A^{1/2} =
 * V diag(√max(λ, 0)) Vᵀ (eigenvalues below zero from rounding are clamped to 0).
 *
 * @example
 * ```ts
 * sqrtPsd(new Float64Array([4, 0, 0, 9]), 2); // [2, 0, 0, 3]
 * ```
 */
export function sqrtPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  const v = vectors!;
  for (let j = 0; j < n; j++) {
    const s = Math.sqrt(Math.max(values[j]!, 0));
    if (s === 0) continue;
    const row = j * n;
    for (let p = 0; p < n; p++) {
      const vp = s * v[row + p]!;
      if (vp === 0) continue;
      for (let q = 0; q < n; q++) out[p * n + q] = out[p * n + q]! + vp * v[row + q]!;
    }
  }
  return out;
}
