import type { SessionConfig } from './session.js';

/** The tfjs backends the page can run on, best first. */
export const backendOrder = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** A tfjs backend of the page. */
export type PageBackend = (typeof backendOrder)[number];

/** Everything a shared link restores: the training settings and the view. */
export interface PageState extends SessionConfig {
  /** The noise level of the fields, D_L and the samples (7.5 in the paper). */
  readonly sigma: number;
  /** Guidance scale α of the drawn fields and samples (1 = Bayes' rule). */
  readonly alpha: number;
  /** The class y of the fields and samples: 0 upper moon, 1 lower moon. */
  readonly label: number;
  readonly backend: PageBackend | 'auto';
  /** Start training when the page opens. */
  readonly run: boolean;
}

/** The defaults: the paper's σ = 7.5, λ = 0.125, α = 1; about a minute of training on wasm. */
export const defaults: PageState = {
  seed: 0,
  perClass: 5000,
  scoreSteps: 800,
  classifierSteps: 400,
  lambda: 0.125,
  every: 20,
  batch: 512,
  samplerSteps: 150,
  sigma: 7.5,
  alpha: 1,
  label: 0,
  backend: 'auto',
  run: true,
};

type NumericKey = Exclude<keyof PageState, 'backend' | 'run'>;

const limits: Record<NumericKey, { min: number; max: number; integer: boolean }> = {
  seed: { min: 0, max: 2 ** 31 - 1, integer: true },
  perClass: { min: 50, max: 20000, integer: true },
  scoreSteps: { min: 0, max: 100000, integer: true },
  classifierSteps: { min: 1, max: 100000, integer: true },
  lambda: { min: 0, max: 100, integer: false },
  every: { min: 1, max: 10000, integer: true },
  batch: { min: 2, max: 8192, integer: true },
  samplerSteps: { min: 1, max: 5000, integer: true },
  sigma: { min: 0.01, max: 10, integer: false },
  alpha: { min: 0, max: 50, integer: false },
  label: { min: 0, max: 1, integer: true },
};

/** The short URL parameter of each field. */
const param: Record<keyof PageState, string> = {
  seed: 'seed',
  perClass: 'n',
  scoreSteps: 'scoreSteps',
  classifierSteps: 'clfSteps',
  lambda: 'lambda',
  every: 'every',
  batch: 'batch',
  samplerSteps: 'samplerSteps',
  sigma: 'sigma',
  alpha: 'alpha',
  label: 'class',
  backend: 'backend',
  run: 'run',
};

/**
 * Reads the page state from a URL query string. Absent parameters take {@link defaults};
 * a malformed or out-of-range one is an error naming the parameter, what was expected and
 * what was given (the page shows it instead of silently ignoring the link).
 */
export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const out: Record<string, unknown> = { ...defaults };
  for (const name of Object.keys(limits) as NumericKey[]) {
    const raw = q.get(param[name]);
    if (raw === null || raw === '') continue;
    const v = Number(raw);
    const { min, max, integer } = limits[name];
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
      throw new RangeError(
        `URL parameter '${param[name]}': expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${raw}'`,
      );
    out[name] = v;
  }
  const backend = q.get(param.backend);
  if (backend !== null && backend !== '') {
    if (backend !== 'auto' && !(backendOrder as readonly string[]).includes(backend))
      throw new RangeError(
        `URL parameter 'backend': expected one of auto, ${backendOrder.join(', ')}, got '${backend}'`,
      );
    out['backend'] = backend;
  }
  const run = q.get(param.run);
  if (run !== null && run !== '') {
    if (run !== '0' && run !== '1')
      throw new RangeError(`URL parameter 'run': expected 0 or 1, got '${run}'`);
    out['run'] = run === '1';
  }
  return out as unknown as PageState;
}

/** The query string of a state: only the fields that differ from {@link defaults}. */
export function formatState(state: PageState): string {
  const q = new URLSearchParams();
  for (const name of Object.keys(param) as (keyof PageState)[]) {
    if (state[name] === defaults[name]) continue;
    const v = state[name];
    q.set(param[name], typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
