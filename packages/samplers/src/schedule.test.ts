import { ScorekitException, type Sde, subVpSde, veSde, vpSde } from '@scorekit/core';
import { describe, expect, it } from 'vitest';
import { discreteSchedule, sdeConfigOf, withSteps } from './schedule.js';

describe('discreteSchedule', () => {
  it('VE: geometric σ table from σ_min to σ_max, 0 below the first level, α = 1', () => {
    const s = discreteSchedule(veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 11 }), 11);
    expect(s.index(1)).toBe(10);
    expect(s.index(0)).toBe(0);
    expect(s.index(0.52)).toBe(5); // round(0.52 · 10)
    expect(s.sigma(10)).toBeCloseTo(50, 10);
    expect(s.sigma(0)).toBeCloseTo(0.01, 12);
    // σ_i = σ_min (σ_max/σ_min)^{i/(N−1)}
    expect(s.sigma(3)).toBeCloseTo(0.01 * 5000 ** 0.3, 10);
    expect(s.sigma(-1)).toBe(0);
    expect(s.alpha(4)).toBe(1);
    expect(() => s.beta(2)).toThrow(/no β table/);
  });

  it('VP: DDPM β_i = β₀/N + i/(N−1) (β₁ − β₀)/N and α_i = 1 − β_i', () => {
    const N = 5;
    const s = discreteSchedule(vpSde({ beta0: 0.1, beta1: 20, N }), N);
    for (let i = 0; i < N; i++) {
      const beta = 0.1 / N + (i / (N - 1)) * (19.9 / N);
      expect(s.beta(i)).toBeCloseTo(beta, 12);
      expect(s.alpha(i)).toBeCloseTo(1 - beta, 12);
    }
    expect(() => s.sigma(1)).toThrow(/no σ table/);
  });

  it('sub-VP shares the DDPM table', () => {
    const s = discreteSchedule(subVpSde({ N: 7 }), 7);
    expect(s.beta(6)).toBeCloseTo(20 / 7, 12);
  });

  it('withSteps rebuilds the SDE with N steps from its config', () => {
    const sde = veSde({ sigmaMin: 0.02, sigmaMax: 30, N: 1000 });
    expect(withSteps(sde, 1000)).toBe(sde);
    const re = withSteps(sde, 50);
    expect(re.N).toBe(50);
    expect(sdeConfigOf(re)).toEqual({ kind: 've', sigmaMin: 0.02, sigmaMax: 30, N: 50 });
  });

  it('an SDE without a config cannot be rebuilt or tabled: ConfigError naming N', () => {
    const { config: _c, ...bare } = vpSde({ N: 10 });
    const custom: Sde = bare;
    expect(sdeConfigOf(custom)).toBeUndefined();
    expect(() => withSteps(custom, 20, 'pcSampler')).toThrow(ScorekitException);
    expect(() => withSteps(custom, 20, 'pcSampler')).toThrow(
      /pcSampler: N must equal sde.N \(10\)/,
    );
    expect(() => discreteSchedule(custom, 10).beta(0)).toThrow(/no config/);
  });
});
