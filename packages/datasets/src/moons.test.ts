import { describe, expect, it } from 'vitest';
import { evaluationGrid, twoMoons } from './moons.js';

describe('twoMoons', () => {
  const moons = twoMoons();
  const n = 5000;
  const at = (i: number): [number, number] => [moons.x[2 * i]!, moons.x[2 * i + 1]!];

  it('has 5000 points per class: upper crescent class 0, lower class 1', () => {
    expect(moons.count).toBe(10_000);
    expect(moons.dim).toBe(2);
    expect(moons.labels.subarray(0, n).every((y) => y === 0)).toBe(true);
    expect(moons.labels.subarray(n).every((y) => y === 1)).toBe(true);
    expect(moons.classNames).toEqual(['upper', 'lower']);
  });

  it('has the exact make_moons coordinates, centred by (½, ¼) and scaled by 20', () => {
    for (const k of [0, 1, 1234, 2499, 2500, 4321, 4999]) {
      const t = (Math.PI * k) / (n - 1);
      const [ux, uy] = at(k);
      expect(ux).toBeCloseTo((Math.cos(t) - 0.5) * 20, 4);
      expect(uy).toBeCloseTo((Math.sin(t) - 0.25) * 20, 4);
      const [lx, ly] = at(n + k);
      expect(lx).toBeCloseTo((1 - Math.cos(t) - 0.5) * 20, 4);
      expect(ly).toBeCloseTo((1 - Math.sin(t) - 0.5 - 0.25) * 20, 4);
    }
    // Endpoints by hand: upper (1, 0) → (10, −5); lower (0, 0.5) → (−10, 5).
    expect(at(0)).toEqual([10, -5]);
    expect(at(n)).toEqual([-10, 5]);
    expect(at(2 * n - 1)[0]).toBeCloseTo(30, 4);
  });

  it('is centred: the mean of all points is 0', () => {
    let mx = 0;
    let my = 0;
    for (let i = 0; i < moons.count; i++) {
      mx += moons.x[2 * i]!;
      my += moons.x[2 * i + 1]!;
    }
    expect(Math.abs(mx / moons.count)).toBeLessThan(1e-4);
    expect(Math.abs(my / moons.count)).toBeLessThan(1e-4);
  });

  it('every upper point lies on its circle (radius 20 about (−10, 5)); lower about (10, −5)', () => {
    for (let i = 0; i < n; i += 97) {
      const [ux, uy] = at(i);
      expect(Math.hypot(ux + 10, uy + 5)).toBeCloseTo(20, 3);
      expect(uy).toBeGreaterThanOrEqual(-5 - 1e-4);
      const [lx, ly] = at(n + i);
      expect(Math.hypot(lx - 10, ly + 5 - 10)).toBeCloseTo(20, 3);
      expect(ly).toBeLessThanOrEqual(5 + 1e-4);
    }
  });

  it('rejects a bad config with a named field', () => {
    expect(() => twoMoons({ nPerClass: 0 })).toThrow(/nPerClass/);
  });
});

describe('evaluationGrid', () => {
  it('is 35×35 on [−40, 40] × [−25, 25], x fastest', () => {
    const g = evaluationGrid();
    expect(g.length).toBe(2 * 1225);
    expect([g[0], g[1]]).toEqual([-40, -25]);
    expect(g[2]).toBeCloseTo(-40 + 80 / 34, 5);
    expect(g[3]).toBe(-25);
    expect([g[2 * 35], g[2 * 35 + 1]]).toEqual([-40, expect.closeTo(-25 + 50 / 34, 5)]);
    expect([g[2448], g[2449]]).toEqual([40, 25]);
  });
});
