import { ncsnppCifar10, resnetClassifierConfig, scoreUnetConfig, unetTiny } from '@scorekit/models';
import { type } from 'arktype';

/** The CLI's subcommands (one per stage of Chao et al. 2022, §5). */
export const commands = ['train-score', 'train-classifier', 'sample', 'evaluate'] as const;
/** A subcommand name. */
export type Command = (typeof commands)[number];

/**
 * The configuration of one CIFAR run (Chao et al. 2022 §5; method.md §§2–5, 7): data, the VE
 * SDE, the score model and its DSM training, the classifier and its CE / DLSM / total
 * training, the PC sampler with classifier guidance and the evaluation. Each command reads
 * the sections it needs; the whole resolved config is saved beside its outputs (and in every
 * checkpoint's `config.json`, whose `command` field says which model a checkpoint holds).
 *
 * @example
 * ```ts
 * parseConfig(cifarConfig, { ...presets.tiny, command: 'sample' }, 'cifar config');
 * ```
 */
export const cifarConfig = type({
  '+': 'reject',
  command: "'train-score' | 'train-classifier' | 'sample' | 'evaluate'",
  preset: "'paper' | 'cpu-small' | 'tiny'",
  seed: 'number.integer',
  out: 'string > 0',
  backend: "'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'",
  quiet: 'boolean',
  /** Checkpoints kept in a training folder: the newest N (0 = all). Absent in older configs: 0. */
  keepLast: 'number.integer >= 0 = 0',
  data: {
    '+': 'reject',
    /** A CIFAR-10 `.bin` file, an official `cifar-10-batches-bin` folder or a class-folder PNG tree. */
    path: 'string > 0',
    /** Training images used (0 = all). */
    limit: 'number.integer >= 0',
    /** Held-out images (the last of a file / folder; the official test split of a batches folder). */
    heldOut: 'number.integer >= 0',
    /** Side of the images the models see: 32 (CIFAR), or 16 / 8 (box-filter down-sampled). */
    imageSize: ['32 | 16 | 8', '=', 32],
  },
  /** The VE SDE (Song et al. 2021, eq. 9): σ(t) = σ_min (σ_max / σ_min)^t. */
  sde: { '+': 'reject', sigmaMin: 'number > 0', sigmaMax: 'number > 0', N: 'number.integer > 0' },
  score: {
    '+': 'reject',
    model: scoreUnetConfig,
    steps: 'number.integer >= 0',
    batch: 'number.integer > 0',
    lr: 'number > 0',
    warmup: 'number.integer >= 0',
    gradClip: 'number > 0',
    ema: '0 <= number < 1',
    /** t ~ U(ε, 1) of DSM (1e-3 for score training). */
    eps: '0 <= number < 1',
    flip: 'boolean',
    checkpointEvery: 'number.integer > 0',
  },
  classifier: {
    '+': 'reject',
    model: resnetClassifierConfig,
    loss: "'ce' | 'dlsm' | 'total'",
    steps: 'number.integer >= 0',
    batch: 'number.integer > 0',
    lr: 'number > 0',
    /** Linear learning-rate warm-up (steps; 0 = none). Absent in older configs: 0. */
    warmup: 'number.integer >= 0 = 0',
    gradClip: 'number > 0',
    /** λ of L_DLSM + λ L_CE (1 for CIFAR). */
    lambda: 'number >= 0',
    /** t ~ U(ε, 1) of CE / DLSM (1e-5 for CIFAR). */
    eps: '0 <= number < 1',
    flip: 'boolean',
    checkpointEvery: 'number.integer > 0',
    /** The noise level of the held-out accuracy (classifier in inference mode). */
    evalSigma: 'number > 0',
  },
  sample: {
    '+': 'reject',
    classes: 'number.integer >= 0 []',
    /** Guidance scale α of S = s + α ∇ log p(y | x̃). */
    scale: 'number >= 0',
    /** Samples per class. */
    n: 'number.integer > 0',
    /** Images sampled at once. */
    batch: 'number.integer > 0',
    snr: 'number > 0',
    eps: '0 < number < 1',
  },
  evaluate: {
    '+': 'reject',
    /** k of the k-NN manifolds of precision / recall / density / coverage (3 on CIFAR). */
    k: 'number.integer > 0',
    /** Splits of the Inception score (10 in the papers; fewer for small sample sets). */
    splits: 'number.integer > 0',
    /** The noise level at which a scorekit classifier extracts features. */
    extractorSigma: 'number > 0',
    /** Training steps and batch of the CAS classifier (trained on the generated samples). */
    casSteps: 'number.integer >= 0',
    casBatch: 'number.integer > 0',
    casLr: 'number > 0',
    batch: 'number.integer > 0',
  },
  /** Command inputs given on the command line. */
  inputs: {
    '+': 'reject',
    resume: 'boolean',
    /** Start a fresh run in a folder that holds checkpoints, deleting them. */
    overwrite: 'boolean = false',
    'scoreCheckpoint?': 'string > 0',
    'classifierCheckpoint?': 'string > 0',
    'samples?': 'string > 0',
    'extractor?': 'string > 0',
  },
}).narrow((c, ctx) =>
  c.score.model.imageSize === c.data.imageSize
    ? true
    : ctx.reject({
        path: ['score', 'model', 'imageSize'],
        expected: `data.imageSize (${c.data.imageSize}): the score U-Net must see the images' side`,
        actual: String(c.score.model.imageSize),
      }),
);

/** A resolved CIFAR run configuration (see {@link cifarConfig}). */
export type CifarConfig = typeof cifarConfig.infer;
/** The preset names. */
export type PresetName = CifarConfig['preset'];

/** Default data of the CPU presets, relative to the repository root (4,000 real training images). */
export const defaultSubset =
  '../shared/data/cifar10/cifar-10-batches-bin-subset/data_batch_1_first4000.bin';

const sde = { sigmaMin: 0.01, sigmaMax: 50, N: 1000 };
const inputs = { resume: false, overwrite: false };

/**
 * The presets. `paper` is the paper's protocol (Chao et al. 2022 §5; method.md §§3–5: NCSN++,
 * ResNet-18, batch 128 / 150, warm-up 5000, 60k classifier steps, N = 1000) and needs a CUDA
 * machine through tfjs-node-gpu; `cpu-small` trains a small U-Net and a narrow group-norm
 * ResNet on the 4,000-image subset, down-sampled to 16×16, for minutes on 2 CPU cores; `tiny`
 * is for the integration test.
 *
 * @example
 * ```ts
 * presets['cpu-small'].score.steps; // 1500
 * ```
 */
export const presets: Record<PresetName, Omit<CifarConfig, 'command'>> = {
  paper: {
    preset: 'paper',
    seed: 0,
    out: 'out/cifar-paper',
    backend: 'auto',
    quiet: false,
    keepLast: 0,
    data: { path: 'data/cifar-10-batches-bin', limit: 0, heldOut: 10000, imageSize: 32 },
    sde,
    score: {
      model: scoreUnetConfig.assert({ ...ncsnppCifar10 }),
      steps: 1_300_000,
      batch: 128,
      lr: 2e-4,
      warmup: 5000,
      gradClip: 1,
      ema: 0.999,
      eps: 1e-3,
      flip: true,
      checkpointEvery: 10000,
    },
    classifier: {
      model: resnetClassifierConfig.assert({ depth: 18, width: 64, classes: 10 }),
      loss: 'total',
      steps: 60000,
      batch: 150,
      lr: 2e-4,
      warmup: 0,
      gradClip: 1,
      lambda: 1,
      eps: 1e-5,
      flip: true,
      checkpointEvery: 5000,
      evalSigma: 0.01,
    },
    sample: {
      classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      scale: 1,
      n: 5000,
      batch: 500,
      snr: 0.16,
      eps: 1e-5,
    },
    evaluate: {
      k: 3,
      splits: 10,
      extractorSigma: 0.01,
      casSteps: 20000,
      casBatch: 128,
      casLr: 2e-4,
      batch: 500,
    },
    inputs,
  },
  'cpu-small': {
    preset: 'cpu-small',
    seed: 0,
    out: 'out/cifar-small',
    backend: 'auto',
    quiet: false,
    keepLast: 0,
    // 16×16 (box-filtered) so that a 2-core CPU sees ~9 epochs in minutes
    data: { path: defaultSubset, limit: 0, heldOut: 500, imageSize: 16 },
    // σ_max = 25: Song & Ermon 2020, technique 1 (the largest pairwise distance of the 16×16
    // training images is 23.4; 46.9 at 32×32, hence the paper's 50)
    sde: { sigmaMin: 0.01, sigmaMax: 25, N: 100 },
    score: {
      model: scoreUnetConfig.assert({ ...unetTiny, imageSize: 16, chMult: [1, 2, 2] }),
      steps: 1500,
      batch: 32,
      lr: 1e-3,
      warmup: 100,
      gradClip: 1,
      ema: 0.995,
      eps: 1e-3,
      flip: true,
      checkpointEvery: 250,
    },
    classifier: {
      // group norm: per-sample statistics (batch norm over batches mixing σ = 0.01 … 25 learns
      // far slower: 17.8 % vs 31.0 % held-out accuracy after 600 CE steps here)
      model: resnetClassifierConfig.assert({ depth: 18, width: 8, classes: 10, norm: 'group' }),
      loss: 'total',
      steps: 600,
      batch: 32,
      lr: 1e-3,
      warmup: 0,
      gradClip: 1,
      lambda: 1,
      eps: 1e-5,
      flip: true,
      checkpointEvery: 200,
      evalSigma: 0.01,
    },
    sample: {
      classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      scale: 1,
      n: 10,
      batch: 100,
      snr: 0.16,
      eps: 1e-5,
    },
    evaluate: {
      k: 3,
      splits: 2,
      extractorSigma: 0.01,
      casSteps: 200,
      casBatch: 32,
      casLr: 1e-3,
      batch: 100,
    },
    inputs,
  },
  tiny: {
    preset: 'tiny',
    seed: 0,
    out: 'out/cifar-tiny',
    backend: 'auto',
    quiet: true,
    keepLast: 0,
    data: { path: defaultSubset, limit: 64, heldOut: 32, imageSize: 16 },
    sde: { ...sde, N: 10 },
    score: {
      model: scoreUnetConfig.assert({ ...unetTiny, imageSize: 16, nf: 8 }),
      steps: 4,
      batch: 8,
      lr: 1e-3,
      warmup: 2,
      gradClip: 1,
      ema: 0.999,
      eps: 1e-3,
      flip: true,
      checkpointEvery: 2,
    },
    classifier: {
      model: resnetClassifierConfig.assert({ depth: 18, width: 4, classes: 10 }),
      loss: 'total',
      steps: 2,
      batch: 8,
      lr: 1e-3,
      warmup: 0,
      gradClip: 1,
      lambda: 1,
      eps: 1e-5,
      flip: true,
      checkpointEvery: 2,
      evalSigma: 0.01,
    },
    sample: { classes: [0, 3], scale: 1, n: 6, batch: 6, snr: 0.16, eps: 1e-5 },
    evaluate: {
      k: 3,
      splits: 2,
      extractorSigma: 0.01,
      casSteps: 2,
      casBatch: 8,
      casLr: 1e-3,
      batch: 32,
    },
    inputs,
  },
};
