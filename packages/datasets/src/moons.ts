import { linspace, parseConfig } from '@scorekit/core';
import { type } from 'arktype';
import type { PointSet } from './pointSet.js';

/**
 * Config of the toy "inter-twinning moons" (Chao et al. 2022, §6 and App.): `nPerClass`
 * points per crescent (5000), centred at the origin, then multiplied by `scale` (20).
 *
 * @example
 * ```ts
 * moonsConfig({}); // { nPerClass: 5000, scale: 20, center: true }
 * ```
 */
export const moonsConfig = type({
  nPerClass: 'number.integer > 0 = 5000',
  scale: 'number > 0 = 20',
  center: 'boolean = true',
});

/**
 * A {@link moonsConfig} as a user writes it (Chao et al. 2022, §6 toy).
 *
 * @example
 * ```ts
 * const input: MoonsConfigInput = { nPerClass: 500 };
 * ```
 */
export type MoonsConfigInput = typeof moonsConfig.inferIn;

/**
 * The two-moons set of Chao et al. 2022, §6: scikit-learn's `make_moons` with noise = 0 and
 * no shuffling — upper crescent (class 0) x = cos(θ), y = sin(θ); lower crescent (class 1)
 * x = 1 − cos(θ), y = 1 − sin(θ) − ½; θ = linspace(0, π, n) — then centred (the mean of
 * all points, (½, ¼), is subtracted) and scaled by 20. Computed in float64, stored float32.
 * Rows 0..n−1 are class 0, rows n..2n−1 class 1.
 *
 * @example
 * ```ts
 * const moons = twoMoons(); // 10,000 points; moons.x[0] = (1 − ½)·20 = 10, moons.x[1] = (0 − ¼)·20 = −5
 * ```
 */
export function twoMoons(config: MoonsConfigInput = {}): PointSet {
  const cfg = parseConfig(moonsConfig, config, 'twoMoons');
  const n = cfg.nPerClass;
  const theta = linspace(0, Math.PI, n);
  const xs = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const t = theta[i]!;
    xs[2 * i] = Math.cos(t);
    xs[2 * i + 1] = Math.sin(t);
    xs[2 * (n + i)] = 1 - Math.cos(t);
    xs[2 * (n + i) + 1] = 1 - Math.sin(t) - 0.5;
  }
  let mx = 0;
  let my = 0;
  if (cfg.center) {
    for (let i = 0; i < 2 * n; i++) {
      mx += xs[2 * i]!;
      my += xs[2 * i + 1]!;
    }
    mx /= 2 * n;
    my /= 2 * n;
  }
  const x = new Float32Array(4 * n);
  for (let i = 0; i < 2 * n; i++) {
    x[2 * i] = (xs[2 * i]! - mx) * cfg.scale;
    x[2 * i + 1] = (xs[2 * i + 1]! - my) * cfg.scale;
  }
  const labels = new Int32Array(2 * n);
  labels.fill(1, n);
  return { x, dim: 2, count: 2 * n, labels, classNames: ['upper', 'lower'] };
}

/**
 * The evaluation grid of the toy experiment (Chao et al. 2022, §6): `n`×`n` points
 * (35×35) on [x0, x1] × [y0, y1] = [−40, 40] × [−25, 25], row-major with x fastest,
 * as a float32 array [n², 2].
 *
 * @example
 * ```ts
 * const grid = evaluationGrid(); // 1225 points; grid[0..1] = (−40, −25)
 * ```
 */
export function evaluationGrid(
  n = 35,
  xRange: readonly [number, number] = [-40, 40],
  yRange: readonly [number, number] = [-25, 25],
): Float32Array {
  const gx = linspace(xRange[0], xRange[1], n);
  const gy = linspace(yRange[0], yRange[1], n);
  const out = new Float32Array(2 * n * n);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      out[2 * (j * n + i)] = gx[i]!;
      out[2 * (j * n + i) + 1] = gy[j]!;
    }
  return out;
}
