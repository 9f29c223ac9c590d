/**
 * Noise-level tables and maps shared by losses and samplers (host-side numbers).
 * Song et al. 2021, App. B (VE/SMLD) and Ho et al. 2020 (VP/DDPM).
 */

/**
 * σ(t) = σ_min (σ_max/σ_min)^t of the VE SDE (Song et al. 2021, eq. 30 and App. C):
 * the geometric interpolation, so t ~ U(0, 1) gives a log-uniform σ.
 *
 * @example
 * ```ts
 * veSigma(0.01, 50, 1); // 50
 * ```
 */
export function veSigma(sigmaMin: number, sigmaMax: number, t: number): number {
  return sigmaMin * (sigmaMax / sigmaMin) ** t;
}

/** The inverse of {@link veSigma}: t = ln(σ/σ_min) / ln(σ_max/σ_min). */
export function veTime(sigmaMin: number, sigmaMax: number, sigma: number): number {
  return Math.log(sigma / sigmaMin) / Math.log(sigmaMax / sigmaMin);
}

/**
 * The geometric σ table of SMLD/NCSN: σ_i = exp(linspace(ln σ_min, ln σ_max, N))_i, ascending
 * (index i is time i/(N−1)). Song et al. 2021, App. B ("discrete_sigmas" of score_sde).
 */
export function geometricSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const a = Math.log(sigmaMin);
  const b = Math.log(sigmaMax);
  for (let i = 0; i < n; i++) out[i] = Math.exp(n === 1 ? a : a + ((b - a) * i) / (n - 1));
  return out;
}

/** `n` evenly spaced numbers from `start` to `stop` inclusive (NumPy's linspace). */
export function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return out;
}

/** The DDPM β table β_i = linspace(β_min/N, β_max/N, N) (Ho et al. 2020; Song et al. 2021 App. B). */
export function ddpmBetas(beta0: number, beta1: number, n: number): Float64Array {
  return linspace(beta0 / n, beta1 / n, n);
}

/** α_i = 1 − β_i of the DDPM chain. */
export function ddpmAlphas(betas: Float64Array): Float64Array {
  return betas.map((b) => 1 - b);
}

/** ᾱ_i = Π_{j≤i} α_j of the DDPM chain. */
export function ddpmAlphasCumprod(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= 1 - betas[i]!;
    out[i] = acc;
  }
  return out;
}

/**
 * ln of the VP mean coefficient: −¼ t² (β₁ − β₀) − ½ t β₀ (Song et al. 2021, eq. 33), so that
 * x_t = e^{lmc} x₀ + √(1 − e^{2 lmc}) z.
 */
export function vpLogMeanCoeff(beta0: number, beta1: number, t: number): number {
  return -0.25 * t * t * (beta1 - beta0) - 0.5 * t * beta0;
}

/** The index of time t ∈ [0, T] in an N-step table, as score_sde rounds it: round(t (N−1) / T). */
export function timestepIndex(t: number, n: number, T = 1): number {
  return Math.round((t * (n - 1)) / T);
}
