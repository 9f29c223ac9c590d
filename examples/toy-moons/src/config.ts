import { type } from 'arktype';

const trainSchema = type({
  steps: 'number.integer >= 0',
  batch: 'number.integer > 0',
  lr: 'number > 0',
});

/**
 * The toy experiment's configuration (Chao et al. 2022, §5.1 and App. A.1; method.md §6).
 * Every run saves the resolved config beside its results.
 */
export const toyConfig = type({
  preset: "'quick' | 'paper' | 'tiny' | 'custom'",
  seed: 'number.integer',
  out: 'string',
  backend: "'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'",
  data: {
    /** Points per class of the noiseless two-moons set (5000 in the paper). */
    perClass: 'number.integer > 10',
    /** The moons are centred and multiplied by this (20 in the paper). */
    scale: 'number > 0',
  },
  /** σ is log-uniform in [sigmaMin, sigmaMax]: the VE SDE's σ(t) with t ~ U(0, 1). */
  sde: { sigmaMin: 'number > 0', sigmaMax: 'number > 0' },
  /** Unconditional score model and the per-class score models of posterior score matching. */
  score: trainSchema.and({
    /** DSM weighting λ(σ) = σ^(2w) on ‖s − target‖² (w = 2 in the paper's toy). */
    w: 'number',
    ema: '0 <= number < 1',
  }),
  classifier: {
    steps: 'number.integer >= 0',
    batch: 'number.integer > 0',
    /** Learning rates: CE ("base") and DLSM + λ·CE ("ours") 1e-5, DLSM alone 2e-5 in the paper. */
    lrCe: 'number > 0',
    lrDlsm: 'number > 0',
    lrTotal: 'number > 0',
    /** λ of L_DLSM + λ L_CE (0.125 for the toy). */
    lambda: 'number >= 0',
    /** DLSM weighting σ^(2w) (w = 2 for the toy). */
    w: 'number',
  },
  evaluation: {
    /** The noise level of D_P, D_L and the sample-quality metrics (7.5 in the paper). */
    sigma: 'number > 0',
    /** Grid points per axis on [−40, 40] × [−25, 25] (35 in the paper). */
    grid: 'number.integer > 1',
    /** Guidance scale α of the "scaling" method (base classifier × α). */
    alpha: 'number > 0',
    samplesPerClass: 'number.integer > 5',
    samplerSteps: 'number.integer > 0',
    correctorSteps: 'number.integer >= 0',
    snr: 'number > 0',
    /** Langevin step-size rule: the reference's batch-averaged norms, or per sample. */
    langevinNorms: "'batch' | 'sample'",
    /** k of the k-NN manifolds of precision / recall (5 in the paper). */
    k: 'number.integer > 0',
  },
  /** Learning-curve mode (the paper's Fig. 5): evaluate every `every` classifier steps (0 = off). */
  learningCurve: { every: 'number.integer >= 0' },
  /** Every model writes a checkpoint every this many steps (the demo's `--resume` restarts there). */
  checkpointEvery: 'number.integer > 0',
  quiet: 'boolean',
});

/** A resolved toy configuration. */
export type ToyConfig = typeof toyConfig.infer;

const shared = {
  seed: 0,
  backend: 'auto',
  data: { perClass: 5000, scale: 20 },
  sde: { sigmaMin: 1e-3, sigmaMax: 10 },
  evaluation: {
    sigma: 7.5,
    grid: 35,
    alpha: 5,
    k: 5,
    snr: 0.16,
    correctorSteps: 1,
    langevinNorms: 'batch',
  },
  learningCurve: { every: 0 },
  quiet: false,
} as const;

/**
 * The presets. `paper` is the paper's protocol (batch 4000, 40k steps, its learning rates and
 * weightings). `quick` keeps the protocol but trains for a few minutes on 2 CPU cores: fewer
 * steps, smaller batches and learning rates raised to match (stated in the results). `tiny`
 * is for the integration test.
 */
export const presets: Record<'quick' | 'paper' | 'tiny', ToyConfig> = {
  paper: {
    ...shared,
    preset: 'paper',
    checkpointEvery: 1000,
    out: 'out/toy-moons-paper',
    score: { steps: 40000, batch: 4000, lr: 6.5e-4, w: 2, ema: 0.999 },
    classifier: {
      steps: 40000,
      batch: 4000,
      lrCe: 1e-5,
      lrDlsm: 2e-5,
      lrTotal: 1e-5,
      lambda: 0.125,
      w: 2,
    },
    evaluation: { ...shared.evaluation, samplesPerClass: 2000, samplerSteps: 1000 },
  },
  quick: {
    ...shared,
    preset: 'quick',
    checkpointEvery: 200,
    out: 'out/toy-moons',
    score: { steps: 1200, batch: 512, lr: 6.5e-4, w: 2, ema: 0.99 },
    classifier: {
      steps: 700,
      batch: 512,
      lrCe: 1e-3,
      lrDlsm: 2e-3,
      lrTotal: 1e-3,
      lambda: 0.125,
      w: 2,
    },
    evaluation: { ...shared.evaluation, samplesPerClass: 500, samplerSteps: 150 },
  },
  tiny: {
    ...shared,
    preset: 'tiny',
    checkpointEvery: 50,
    out: 'out/toy-moons-tiny',
    data: { perClass: 500, scale: 20 },
    score: { steps: 300, batch: 256, lr: 6.5e-4, w: 2, ema: 0.9 },
    classifier: {
      steps: 200,
      batch: 256,
      lrCe: 2e-3,
      lrDlsm: 4e-3,
      lrTotal: 2e-3,
      lambda: 0.125,
      w: 2,
    },
    evaluation: { ...shared.evaluation, grid: 15, samplesPerClass: 100, samplerSteps: 30 },
  },
};
