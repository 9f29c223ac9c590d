import { ScorekitException } from '@scorekit/core';
import { describe, expect, it } from 'vitest';
import { AbortError } from './control.js';
import { euler, heun, type OdeFunction, type OdeSolveOptions, rk45 } from './odeSolvers.js';

const opts = (o: Partial<OdeSolveOptions> = {}): OdeSolveOptions => ({
  steps: 10,
  rtol: 1e-5,
  atol: 1e-5,
  what: 'test',
  ...o,
});
const linear =
  (lambda: number): OdeFunction =>
  (_t, y) =>
    y.map((v) => lambda * v);
const oscillator: OdeFunction = (_t, y) => Float64Array.of(y[1]!, -y[0]!);
const vanDerPol: OdeFunction = (_t, y) => Float64Array.of(y[1]!, (1 - y[0]! ** 2) * y[1]! - y[0]!);

describe('fixed-step solvers', () => {
  it('euler on y′ = λy is the recursion y_N = (1 + hλ)^N y_0, forwards and backwards', async () => {
    const fwd = await euler(linear(-2), 0, 1, Float64Array.of(1, 3), opts({ steps: 8 }));
    expect(fwd.y[0]).toBeCloseTo((1 - 2 / 8) ** 8, 14);
    expect(fwd.y[1]).toBeCloseTo(3 * (1 - 2 / 8) ** 8, 14);
    expect(fwd.nfe).toBe(8);
    const back = await euler(linear(-2), 1, 0.2, Float64Array.of(1), opts({ steps: 4 }));
    expect(back.y[0]).toBeCloseTo((1 + 2 * 0.2) ** 4, 14);
  });

  it('heun on y′ = λy is y_N = (1 + hλ + (hλ)²/2)^N y_0 with 2 evaluations per step', async () => {
    const sol = await heun(linear(-2), 0, 1, Float64Array.of(1), opts({ steps: 8 }));
    const z = -2 / 8;
    expect(sol.y[0]).toBeCloseTo((1 + z + (z * z) / 2) ** 8, 14);
    expect(sol.nfe).toBe(16);
  });

  it('orders of convergence: halving h divides the error by ≈ 2 (euler) and ≈ 4 (heun)', async () => {
    const err = async (solve: typeof euler, steps: number) => {
      const { y } = await solve(oscillator, 0, 2, Float64Array.of(1, 0), opts({ steps }));
      return Math.hypot(y[0]! - Math.cos(2), y[1]! + Math.sin(2));
    };
    const e1 = (await err(euler, 200)) / (await err(euler, 400));
    const e2 = (await err(heun, 200)) / (await err(heun, 400));
    expect(e1).toBeGreaterThan(1.9);
    expect(e1).toBeLessThan(2.1);
    expect(e2).toBeGreaterThan(3.8);
    expect(e2).toBeLessThan(4.2);
  });
});

describe('rk45 (Dormand–Prince, scipy step control)', () => {
  it('meets the tolerance on closed forms, and a tighter tolerance gives a smaller error', async () => {
    const loose = await rk45(
      oscillator,
      0,
      10,
      Float64Array.of(1, 0),
      opts({ rtol: 1e-4, atol: 1e-7 }),
    );
    const tight = await rk45(
      oscillator,
      0,
      10,
      Float64Array.of(1, 0),
      opts({ rtol: 1e-9, atol: 1e-12 }),
    );
    const e = (y: Float64Array) => Math.hypot(y[0]! - Math.cos(10), y[1]! + Math.sin(10));
    expect(e(loose.y)).toBeLessThan(1e-2);
    expect(e(tight.y)).toBeLessThan(1e-7);
    expect(e(tight.y)).toBeLessThan(e(loose.y) / 100);
    expect(tight.nfe).toBeGreaterThan(loose.nfe);
    // FSAL: 6 evaluations per attempted step plus 2 to start
    expect(tight.nfe).toBe(2 + 6 * (tight.steps + tight.rejected));
  });

  it('integrates backwards in time (t1 < t0): y′ = y from 1 to 0', async () => {
    const sol = await rk45(
      linear(1),
      1,
      0,
      Float64Array.of(Math.E),
      opts({ rtol: 1e-8, atol: 1e-10 }),
    );
    expect(sol.y[0]).toBeCloseTo(1, 7);
  });

  it("reproduces scipy 1.17.1 solve_ivp(method='RK45') step for step", async () => {
    // Reference values printed by scipy.integrate.solve_ivp on the same problems.
    const decay = await rk45(linear(-1), 0, 1, Float64Array.of(1), opts());
    expect(decay.y[0]).toBeCloseTo(0.36788173380623274, 13);
    expect([decay.nfe, decay.steps]).toEqual([26, 4]);
    const vdp = await rk45(
      vanDerPol,
      3,
      -2,
      Float64Array.of(2, 0),
      opts({ rtol: 1e-6, atol: 1e-8 }),
    );
    expect(vdp.y[0]).toBeCloseTo(0.72702463, 7);
    expect(vdp.y[1]).toBeCloseTo(-0.80921207, 7);
    expect([vdp.nfe, vdp.steps]).toEqual([320, 42]);
    expect(vdp.rejected).toBeGreaterThan(0); // the step-rejection path was exercised
  });

  it('a non-finite right-hand side is a NumericError, not an endless loop', async () => {
    const err = await rk45(
      (t, y) => y.map(() => (t > 0.5 ? Number.NaN : 1)),
      0,
      1,
      Float64Array.of(0),
      opts(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScorekitException);
    expect((err as ScorekitException).error._tag).toBe('NumericError');
  });

  it('every solver stops on abort with an AbortError', async () => {
    for (const solve of [euler, heun, rk45]) {
      const ac = new AbortController();
      const run = solve(oscillator, 0, 1000, Float64Array.of(1, 0), {
        ...opts({ steps: 1000, rtol: 1e-10, atol: 1e-10 }),
        signal: ac.signal,
        onStep: (i) => {
          if (i === 3) ac.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(AbortError);
      await expect(run).rejects.toMatchObject({ step: 3 });
    }
  });
});
