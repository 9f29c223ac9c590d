import { ScorekitException } from '@scorekit/core';
import { throwIfAborted, yieldToEventLoop } from './control.js';

/**
 * The right-hand side dy/dt = f(t, y) of an ODE over a flat float64 state (the batch of
 * samples flattened, as score_sde hands its states to scipy). Must return a fresh array; may
 * return it as a promise (an async read of GPU tensors: webgpu has no synchronous read).
 */
export type OdeFunction = (t: number, y: Float64Array) => Float64Array | Promise<Float64Array>;

/** Options of an {@link OdeSolver}. */
export interface OdeSolveOptions {
  /** Number of steps of the fixed-step methods (Euler, Heun); ignored by RK45. */
  readonly steps: number;
  /** Relative and absolute tolerances of RK45 (scipy's `rtol`, `atol`). */
  readonly rtol: number;
  readonly atol: number;
  /** Names the caller in errors ("probabilityFlow: …"). */
  readonly what: string;
  readonly signal?: AbortSignal;
  /** Called after each accepted step; the total is `Infinity` for RK45. */
  readonly onStep?: (step: number, total: number) => void;
}

/** The state at t1 and the cost of getting there. */
export interface OdeSolution {
  readonly y: Float64Array;
  /** Evaluations of the right-hand side (scipy's `nfev`). */
  readonly nfe: number;
  /** Accepted steps. */
  readonly steps: number;
  /** Rejected RK45 steps. */
  readonly rejected: number;
}

/** Integrates y' = f(t, y) from (t0, y0) to t1 (t1 may be below t0). */
export type OdeSolver = (
  fun: OdeFunction,
  t0: number,
  t1: number,
  y0: Float64Array,
  options: OdeSolveOptions,
) => Promise<OdeSolution>;

const axpy = (y: Float64Array, a: number, x: Float64Array): Float64Array => {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i]! + a * x[i]!;
  return out;
};

/**
 * Explicit Euler with `steps` equal steps from t0 to t1: y ← y + h f(t, y). One evaluation per
 * step (Song et al. 2021, §4.3 solves the probability-flow ODE; Euler is its simplest solver).
 *
 * @example
 * ```ts
 * const { y } = await euler((t, y) => y.map((v) => -v), 0, 1, Float64Array.of(1), { steps: 100, rtol: 0, atol: 0, what: 'demo' });
 * // y[0] ≈ (1 − 0.01)^100
 * ```
 */
export async function euler(
  fun: OdeFunction,
  t0: number,
  t1: number,
  y0: Float64Array,
  options: OdeSolveOptions,
): Promise<OdeSolution> {
  const { steps, signal, onStep, what } = options;
  const h = (t1 - t0) / steps;
  let y = y0;
  for (let i = 0; i < steps; i++) {
    throwIfAborted(signal, what, i, steps);
    y = axpy(y, h, await fun(t0 + i * h, y));
    onStep?.(i + 1, steps);
    await yieldToEventLoop();
  }
  return { y, nfe: steps, steps, rejected: 0 };
}

/**
 * Heun's method (explicit trapezoid, 2nd order) with `steps` equal steps:
 * k₁ = f(t, y), k₂ = f(t + h, y + h k₁), y ← y + h (k₁ + k₂) / 2. Two evaluations per step.
 *
 * @example
 * ```ts
 * const { y, nfe } = await heun(fun, 1, 1e-3, y0, { steps: 50, rtol: 0, atol: 0, what: 'demo' }); // nfe = 100
 * ```
 */
export async function heun(
  fun: OdeFunction,
  t0: number,
  t1: number,
  y0: Float64Array,
  options: OdeSolveOptions,
): Promise<OdeSolution> {
  const { steps, signal, onStep, what } = options;
  const h = (t1 - t0) / steps;
  let y = y0;
  for (let i = 0; i < steps; i++) {
    throwIfAborted(signal, what, i, steps);
    const t = t0 + i * h;
    const k1 = await fun(t, y);
    const k2 = await fun(t + h, axpy(y, h, k1));
    const next = new Float64Array(y.length);
    for (let j = 0; j < y.length; j++) next[j] = y[j]! + 0.5 * h * (k1[j]! + k2[j]!);
    y = next;
    onStep?.(i + 1, steps);
    await yieldToEventLoop();
  }
  return { y, nfe: 2 * steps, steps, rejected: 0 };
}

// Dormand–Prince 5(4) tableau (Dormand & Prince 1980), as in scipy.integrate.RK45.
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1] as const;
const A: readonly (readonly number[])[] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84] as const;
const E = [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40] as const;
const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
const ERROR_ORDER = 4;
const ERROR_EXPONENT = -1 / (ERROR_ORDER + 1);

const rms = (v: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s / Math.max(v.length, 1));
};

/** Spacing from x to the next float64 away from zero (numpy's `nextafter(x, ±inf) − x`). */
const ulp = (x: number): number =>
  x === 0 ? Number.MIN_VALUE : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52);

/** scipy's `select_initial_step` (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4). */
async function initialStep(
  fun: OdeFunction,
  t0: number,
  t1: number,
  y0: Float64Array,
  f0: Float64Array,
  rtol: number,
  atol: number,
): Promise<number> {
  const interval = Math.abs(t1 - t0);
  if (y0.length === 0) return interval;
  const direction = Math.sign(t1 - t0);
  const scaled = (v: Float64Array) => v.map((vi, i) => vi / (atol + Math.abs(y0[i]!) * rtol));
  const d0 = rms(scaled(y0));
  const d1 = rms(scaled(f0));
  let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  h0 = Math.min(h0, interval);
  const f1 = await fun(t0 + h0 * direction, axpy(y0, h0 * direction, f0));
  const d2 = rms(scaled(f1.map((v, i) => v - f0[i]!))) / h0;
  const h1 =
    d1 <= 1e-15 && d2 <= 1e-15
      ? Math.max(1e-6, h0 * 1e-3)
      : (0.01 / Math.max(d1, d2)) ** (1 / (ERROR_ORDER + 1));
  return Math.min(100 * h0, h1, interval);
}

/**
 * Adaptive Runge–Kutta 5(4) of Dormand & Prince with scipy's `solve_ivp(method='RK45')`
 * step-size control: initial step by `select_initial_step`, error
 * ‖h Σ E_j k_j / (atol + max(|y|, |y_new|) rtol)‖_rms, accept when < 1, new step
 * h · min(10, 0.9 err^(−1/5)) (never growing right after a rejection), shrink by
 * max(0.2, 0.9 err^(−1/5)) on rejection. First-same-as-last: 6 evaluations per step plus 2 to
 * start. This is the solver score_sde uses for the probability-flow ODE (Song et al. 2021, §4.3,
 * App. D.2, rtol = atol = 1e-5).
 *
 * @example
 * ```ts
 * const { y, nfe } = await rk45((t, y) => y.map((v) => -v), 0, 1, Float64Array.of(1), { steps: 0, rtol: 1e-8, atol: 1e-8, what: 'demo' });
 * // y[0] ≈ e^{-1}
 * ```
 */
export async function rk45(
  fun: OdeFunction,
  t0: number,
  t1: number,
  y0: Float64Array,
  options: OdeSolveOptions,
): Promise<OdeSolution> {
  const { rtol, atol, signal, onStep, what } = options;
  const direction = Math.sign(t1 - t0);
  const n = y0.length;
  let t = t0;
  let y = y0;
  if (direction === 0) return { y, nfe: 0, steps: 0, rejected: 0 };
  let f = await fun(t, y);
  let hAbs = await initialStep(fun, t0, t1, y0, f, rtol, atol);
  let nfe = 2;
  let steps = 0;
  let rejectedTotal = 0;
  const K: Float64Array[] = Array.from({ length: 7 }, () => new Float64Array(n));
  while (direction * (t - t1) < 0) {
    throwIfAborted(signal, what, steps, Number.POSITIVE_INFINITY);
    const minStep = 10 * ulp(t);
    if (hAbs < minStep) hAbs = minStep;
    let accepted = false;
    let rejected = false;
    let yNew = y;
    let fNew = f;
    let tNew = t;
    while (!accepted) {
      if (hAbs < minStep)
        throw new ScorekitException({
          _tag: 'NumericError',
          message: `${what}: RK45 step size fell below ${minStep} at t = ${t} (required step too small)`,
          step: steps,
        });
      tNew = t + hAbs * direction;
      if (direction * (tNew - t1) > 0) tNew = t1;
      const h = tNew - t;
      hAbs = Math.abs(h);
      // Stages k_0 … k_5, then the 5th-order solution and k_6 = f(t + h, y_new) (FSAL).
      K[0]!.set(f);
      for (let s = 1; s < 6; s++) {
        const a = A[s]!;
        const ys = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let j = 0; j < s; j++) acc += K[j]![i]! * a[j]!;
          ys[i] = y[i]! + h * acc;
        }
        K[s]!.set(await fun(t + C[s]! * h, ys));
      }
      yNew = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < 6; j++) acc += K[j]![i]! * B[j]!;
        yNew[i] = y[i]! + h * acc;
      }
      fNew = await fun(tNew, yNew);
      K[6]!.set(fNew);
      nfe += 6;
      const err = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < 7; j++) acc += K[j]![i]! * E[j]!;
        err[i] = (h * acc) / (atol + Math.max(Math.abs(y[i]!), Math.abs(yNew[i]!)) * rtol);
      }
      const errorNorm = rms(err);
      if (!Number.isFinite(errorNorm))
        throw new ScorekitException({
          _tag: 'NumericError',
          message: `${what}: the ODE right-hand side is not finite near t = ${t}`,
          step: steps,
        });
      if (errorNorm < 1) {
        let factor =
          errorNorm === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * errorNorm ** ERROR_EXPONENT);
        if (rejected) factor = Math.min(1, factor);
        hAbs *= factor;
        accepted = true;
      } else {
        hAbs *= Math.max(MIN_FACTOR, SAFETY * errorNorm ** ERROR_EXPONENT);
        rejected = true;
        rejectedTotal++;
      }
    }
    t = tNew;
    y = yNew;
    f = fNew;
    steps++;
    onStep?.(steps, Number.POSITIVE_INFINITY);
    await yieldToEventLoop();
  }
  return { y, nfe, steps, rejected: rejectedTotal };
}

/**
 * The ODE solvers a config may name (`method: 'rk45'`), a closed record.
 *
 * @example
 * ```ts
 * const solve = odeSolvers['heun'];
 * ```
 */
export const odeSolvers = { euler, heun, rk45 } as const satisfies Record<string, OdeSolver>;

/** The name of a solver in {@link odeSolvers}. */
export type OdeMethod = keyof typeof odeSolvers;

/** The solver names, for schemas and CLIs. */
export const odeMethodNames = Object.keys(odeSolvers) as OdeMethod[];
