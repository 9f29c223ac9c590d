/// <reference lib="dom" />
import * as tf from '@tensorflow/tfjs-core';
import { type BackendChoice, pickBackend } from './backend.js';
import { colours, drawCurves, drawData, drawField, drawSamples } from './draw.js';
import {
  type ClassifierName,
  type CurvePoint,
  type Fields,
  type Phase,
  Session,
} from './session.js';
import { formatState, type PageState, parseState } from './urlState.js';

/** What the page reports to scripts (the end-to-end test reads it via `window.playground`). */
export interface PlaygroundStatus {
  readonly phase: Phase | 'loading' | 'error';
  readonly step: number;
  readonly backend: BackendChoice | null;
  readonly curves: Record<ClassifierName, readonly CurvePoint[]>;
  /** Steps per second of each phase since it started or last resumed (classifier steps: one of each classifier). */
  readonly rates: { score: number | null; classifiers: number | null };
  /** Live tensors before the first session, now, and after each D_L evaluation. */
  readonly tensors: { baseline: number; now: number; afterEvaluations: number[] };
  readonly samplesDrawn: boolean;
  readonly error: string | null;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no element #${id}`);
  return el as T;
};

const canvases = {
  data: $<HTMLCanvasElement>('data'),
  curves: $<HTMLCanvasElement>('curves'),
  fieldOracle: $<HTMLCanvasElement>('fieldOracle'),
  fieldCe: $<HTMLCanvasElement>('fieldCe'),
  fieldTotal: $<HTMLCanvasElement>('fieldTotal'),
  samplesCe: $<HTMLCanvasElement>('samplesCe'),
  samplesTotal: $<HTMLCanvasElement>('samplesTotal'),
};
const inputs = {
  sigma: $<HTMLInputElement>('sigma'),
  alpha: $<HTMLInputElement>('alpha'),
  label: $<HTMLSelectElement>('label'),
  lambda: $<HTMLInputElement>('lambda'),
  scoreSteps: $<HTMLInputElement>('scoreSteps'),
  clfSteps: $<HTMLInputElement>('clfSteps'),
  seed: $<HTMLInputElement>('seed'),
};

let state: PageState;
let session: Session | null = null;
let backend: BackendChoice | null = null;
let paused = false;
let resetRequested = false;
let fieldsStale = true;
let samplesStale = true;
let fields: Fields | null = null;
let samples: { crossEntropy: Float32Array | null; total: Float32Array | null } = {
  crossEntropy: null,
  total: null,
};
let baseline = 0;
let afterEvaluations: number[] = [];
let errorText: string | null = null;
let wake: () => void = () => {};
/** The loop waits for a control change (nothing to train or sample). */
let idle = false;
/** The page's session was disposed by a script: the loop ends. */
let stopped = false;
const rates: { score: number | null; classifiers: number | null } = {
  score: null,
  classifiers: null,
};
/** Timing of the running phase since it started or training last resumed. */
let phaseClock = { phase: '' as Phase | '', start: 0, steps: 0 };

const poke = () => wake();

/** Yields to the page (events, painting) without setTimeout's 4 ms clamp. */
const yieldNow = () =>
  new Promise<void>((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });

function showError(e: unknown): void {
  errorText = e instanceof Error ? e.message : String(e);
  $('error').textContent = errorText;
  document.body.dataset['phase'] = 'error';
  console.error(e);
}

function writeUrl(): void {
  const url = `${location.pathname}${formatState(state)}`;
  history.replaceState(null, '', url);
  $<HTMLAnchorElement>('share').href = url;
}

function readInputs(): void {
  const num = (el: HTMLInputElement, fallback: number) => {
    const v = Number(el.value);
    return Number.isFinite(v) ? v : fallback;
  };
  state = {
    ...state,
    sigma: num(inputs.sigma, state.sigma),
    alpha: num(inputs.alpha, state.alpha),
    label: Number(inputs.label.value) === 1 ? 1 : 0,
    lambda: Math.max(0, num(inputs.lambda, state.lambda)),
    scoreSteps: Math.max(0, Math.round(num(inputs.scoreSteps, state.scoreSteps))),
    classifierSteps: Math.max(1, Math.round(num(inputs.clfSteps, state.classifierSteps))),
    seed: Math.max(0, Math.round(num(inputs.seed, state.seed))),
  };
  $('sigmaOut').textContent = String(state.sigma);
  $('alphaOut').textContent = String(state.alpha);
  writeUrl();
}

function writeInputs(): void {
  inputs.sigma.value = String(state.sigma);
  inputs.alpha.value = String(state.alpha);
  inputs.label.value = String(state.label);
  inputs.lambda.value = String(state.lambda);
  inputs.scoreSteps.value = String(state.scoreSteps);
  inputs.clfSteps.value = String(state.classifierSteps);
  inputs.seed.value = String(state.seed);
  $('sigmaOut').textContent = String(state.sigma);
  $('alphaOut').textContent = String(state.alpha);
}

function newSession(): Session {
  afterEvaluations = [];
  rates.score = null;
  rates.classifiers = null;
  phaseClock = { phase: '', start: 0, steps: 0 };
  fields = null;
  samples = { crossEntropy: null, total: null };
  fieldsStale = true;
  samplesStale = true;
  return new Session(
    {
      seed: state.seed,
      perClass: state.perClass,
      scoreSteps: state.scoreSteps,
      classifierSteps: state.classifierSteps,
      lambda: state.lambda,
      every: state.every,
      batch: state.batch,
      samplerSteps: state.samplerSteps,
    },
    state.sigma,
  );
}

/** Measures steps per second of the running phase. */
function clockTick(s: Session): void {
  const now = performance.now();
  if (phaseClock.phase !== s.phase) {
    phaseClock = { phase: s.phase, start: now, steps: 0 };
    return;
  }
  phaseClock.steps++;
  const rate = (phaseClock.steps * 1000) / Math.max(1, now - phaseClock.start);
  if (s.phase === 'score') rates.score = rate;
  if (s.phase === 'classifiers' || s.phase === 'done') rates.classifiers = rate;
}

function dataOf(s: Session, label?: number) {
  if (label === undefined) return { xy: s.data.x, labels: s.data.labels };
  const c = s.classes[label]!;
  return { xy: c.x, labels: c.labels };
}

function drawAll(s: Session): void {
  drawData(canvases.data, s.data.x, s.data.labels);
  drawCurves(canvases.curves, s.curves, s.config.classifierSteps, s.curveSigma);
  if (fields) {
    const norms = (f: Float32Array | null) => {
      let m = 0;
      for (let i = 0; f && i < f.length; i += 2) m = Math.max(m, Math.hypot(f[i]!, f[i + 1]!));
      return m;
    };
    // one arrow scale for the three panels: the oracle's longest arrow spans 1.5 grid cells
    const unit = (1.5 * (80 / 20)) / Math.max(1e-9, norms(fields.oracle));
    const data = dataOf(s);
    const head = `y = ${fields.label}, σ = ${fields.sigma}`;
    drawField(
      canvases.fieldOracle,
      `oracle, ${head}`,
      fields.grid,
      fields.oracle,
      unit,
      colours.oracle,
      data,
    );
    drawField(
      canvases.fieldCe,
      `CE, α = ${fields.alpha}, ${head}`,
      fields.grid,
      fields.crossEntropy,
      unit,
      colours.crossEntropy,
      data,
    );
    drawField(
      canvases.fieldTotal,
      `DLSM + λ·CE, α = ${fields.alpha}, ${head}`,
      fields.grid,
      fields.total,
      unit,
      colours.total,
      data,
    );
  }
  const classData = dataOf(s, state.label);
  drawSamples(
    canvases.samplesCe,
    `CE-guided samples, y = ${state.label}, α = ${state.alpha}`,
    samples.crossEntropy,
    colours.crossEntropy,
    classData,
  );
  drawSamples(
    canvases.samplesTotal,
    `DLSM + λ·CE-guided samples, y = ${state.label}, α = ${state.alpha}`,
    samples.total,
    colours.total,
    classData,
  );
}

function drawStatus(s: Session): void {
  const total = s.config.scoreSteps + s.config.classifierSteps;
  const done =
    s.phase === 'score' ? s.step : s.phase === 'classifiers' ? s.config.scoreSteps + s.step : total;
  const phaseName = {
    score: 'training the score model (DSM)',
    classifiers: 'training the classifiers (CE | DLSM + λ·CE)',
    done: samplesStale ? 'sampling' : 'done',
  }[s.phase];
  $('phase').textContent = `${paused ? 'paused: ' : ''}${phaseName}, step ${s.step}`;
  const bar = $<HTMLProgressElement>('progress');
  bar.max = total;
  bar.value = done;
  const fmt = (r: number | null) => (r === null ? '–' : r.toFixed(1));
  $('rate').textContent =
    `score ${fmt(rates.score)} steps/s · classifiers ${fmt(rates.classifiers)} steps/s`;
  $('losses').textContent = Object.entries(s.losses)
    .map(([k, v]) => `${k}: ${v.toFixed(4)}`)
    .join(' · ');
  const mem = tf.memory();
  $('tensors').textContent = String(mem.numTensors);
  $('tensorsBase').textContent = String(baseline);
  $('bytes').textContent = `${(mem.numBytes / 1e6).toFixed(2)} MB`;
  document.body.dataset['phase'] = samplesStale && s.phase === 'done' ? 'sampling' : s.phase;
}

async function refreshSamples(s: Session): Promise<void> {
  const seed = state.seed + 1;
  samples = {
    crossEntropy: await s.samples('crossEntropy', state.sigma, state.alpha, state.label, seed),
    total: await s.samples('total', state.sigma, state.alpha, state.label, seed),
  };
  samplesStale = false;
}

/** The one loop that owns the session: trains, evaluates, samples, draws, then waits. */
async function loop(): Promise<void> {
  let lastDraw = 0;
  for (;;) {
    if (resetRequested) {
      resetRequested = false;
      session?.dispose();
      session = newSession();
      document.body.dataset['phase'] = session.phase;
    }
    const s = session!;
    if (!paused && s.phase !== 'done') {
      const evaluations = s.curves.total.length;
      await s.tick();
      clockTick(s);
      if (s.curves.total.length !== evaluations) {
        fieldsStale = true;
        if (s.phase !== 'score') afterEvaluations.push(tf.memory().numTensors);
      }
      if (fieldsStale) {
        fields = s.fields(state.sigma, state.alpha, state.label);
        fieldsStale = false;
        drawAll(s);
      }
      // tick() may have moved the phase on (TypeScript still narrows it to the old one)
      if (performance.now() - lastDraw > 150 || (s.phase as Phase) === 'done') {
        drawStatus(s);
        lastDraw = performance.now();
      }
      await yieldNow();
      continue;
    }
    if (fieldsStale) {
      fields = s.fields(state.sigma, state.alpha, state.label);
      fieldsStale = false;
    }
    if (s.phase === 'done' && samplesStale && !paused) {
      drawAll(s);
      drawStatus(s);
      await refreshSamples(s);
    }
    drawAll(s);
    drawStatus(s);
    idle = true;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    idle = false;
    if (stopped) return;
  }
}

function onViewChange(): void {
  readInputs();
  session?.setCurveSigma(state.sigma);
  fieldsStale = true;
  samplesStale = true;
  poke();
}

function wireControls(): void {
  for (const el of [inputs.sigma, inputs.alpha, inputs.label])
    el.addEventListener('change', onViewChange);
  for (const el of [inputs.sigma, inputs.alpha])
    el.addEventListener('input', () => {
      $('sigmaOut').textContent = inputs.sigma.value;
      $('alphaOut').textContent = inputs.alpha.value;
    });
  for (const el of [inputs.lambda, inputs.scoreSteps, inputs.clfSteps, inputs.seed])
    el.addEventListener('change', readInputs);
  $('pause').addEventListener('click', () => {
    paused = !paused;
    if (!paused) phaseClock = { phase: '', start: 0, steps: 0 }; // rates restart on resume
    state = { ...state, run: !paused };
    $('pause').textContent = paused ? 'resume' : 'pause';
    writeUrl();
    if (session) drawStatus(session);
    poke();
  });
  $('reset').addEventListener('click', () => {
    readInputs();
    resetRequested = true;
    poke();
  });
  $('resample').addEventListener('click', () => {
    samplesStale = true;
    poke();
  });
}

function status(): PlaygroundStatus {
  return {
    phase: errorText ? 'error' : session ? session.phase : 'loading',
    step: session?.step ?? 0,
    backend,
    curves: session ? session.curves : { crossEntropy: [], total: [] },
    rates: { ...rates },
    tensors: {
      baseline,
      now: backend ? tf.memory().numTensors : 0,
      afterEvaluations: [...afterEvaluations],
    },
    samplesDrawn: !!session && session.phase === 'done' && !samplesStale,
    error: errorText,
  };
}

declare global {
  interface Window {
    /** Read-only hooks for scripts and the end-to-end test. */
    playground?: {
      status(): PlaygroundStatus;
      /**
       * Ends the page's loop and frees the session; returns the live tensor count afterwards
       * (the baseline when nothing leaked). Only while the page is idle (trained and sampled).
       */
      dispose(): number;
    };
  }
}

async function main(): Promise<void> {
  window.playground = {
    status,
    dispose: () => {
      if (!idle) throw new Error('playground.dispose: the page is still training or sampling');
      stopped = true;
      session?.dispose();
      session = null;
      wake();
      return tf.memory().numTensors;
    },
  };
  try {
    state = parseState(location.search);
  } catch (e) {
    showError(e);
    return;
  }
  writeInputs();
  writeUrl();
  wireControls();
  paused = !state.run;
  $('pause').textContent = paused ? 'resume' : 'pause';
  try {
    backend = await pickBackend(state.backend);
  } catch (e) {
    showError(e);
    return;
  }
  const skipped = backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  $('backend').textContent = backend.name;
  $('backendDetail').textContent =
    `${backend.name}: ${backend.detail}${skipped ? `. Not used: ${skipped}` : ''}`;
  baseline = tf.memory().numTensors;
  resetRequested = true;
  loop().catch(showError);
}

main().catch(showError);
