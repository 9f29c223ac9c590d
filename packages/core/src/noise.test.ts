import { describe, expect, it } from 'vitest';
import {
  ddpmAlphasCumprod,
  ddpmBetas,
  geometricSigmas,
  timestepIndex,
  veSigma,
  veTime,
  vpLogMeanCoeff,
} from './noise.js';

describe('noise tables', () => {
  it('the geometric σ table is log-linear from σ_min to σ_max', () => {
    const s = geometricSigmas(0.01, 50, 1000);
    expect(s[0]).toBeCloseTo(0.01, 12);
    expect(s[999]).toBeCloseTo(50, 9);
    const r = s[1]! / s[0]!;
    for (let i = 1; i < 1000; i++) expect(s[i]! / s[i - 1]!).toBeCloseTo(r, 10);
    expect(s[500]).toBeCloseTo(veSigma(0.01, 50, 500 / 999), 10);
  });

  it('time ↔ σ are inverse maps', () => {
    for (const t of [0, 0.1, 0.5, 0.93, 1])
      expect(veTime(0.01, 50, veSigma(0.01, 50, t))).toBeCloseTo(t, 12);
    expect(veTime(1e-3, 10, 7.5)).toBeCloseTo(Math.log(7500) / Math.log(10000), 12);
  });

  it('the DDPM tables are Ho et al.’s', () => {
    const b = ddpmBetas(0.1, 20, 1000);
    expect(b[0]).toBeCloseTo(1e-4, 12);
    expect(b[999]).toBeCloseTo(0.02, 12);
    const ab = ddpmAlphasCumprod(b);
    let acc = 1;
    for (let i = 0; i < 1000; i++) acc *= 1 - b[i]!;
    expect(ab[999]).toBeCloseTo(acc, 12);
    // ᾱ at the last step ≈ exp of the continuous VP log mean coefficient × 2
    const continuous = 2 * vpLogMeanCoeff(0.1, 20, 1);
    expect(Math.abs(Math.log(ab[999]!) / continuous - 1)).toBeLessThan(0.01);
  });

  it('timestepIndex rounds like score_sde', () => {
    expect(timestepIndex(1, 1000)).toBe(999);
    expect(timestepIndex(0, 1000)).toBe(0);
    expect(timestepIndex(0.5, 1000)).toBe(500);
  });
});
