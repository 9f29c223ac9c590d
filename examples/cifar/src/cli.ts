import { join } from 'node:path';
import { parseConfig } from '@scorekit/core';
import { applyOverride, parseValue, setPath } from '@scorekit/example-kit';
import { type CifarConfig, type Command, cifarConfig, commands, presets } from './config.js';
import { shardOptionsUsage } from './shardUsage.js';

const common = `Common options:
  --preset paper|cpu-small|tiny   protocol preset (default cpu-small)
  --data PATH                     CIFAR-10 data: a .bin file, a cifar-10-batches-bin folder or a
                                  <class>/*.png tree (cpu-small default: the 4,000-image subset
                                  ../shared/data/cifar10/cifar-10-batches-bin-subset/data_batch_1_first4000.bin)
  --out DIR                       output folder (default <preset out>/<stage>)
  --seed N                        random seed
  --backend auto|wasm|cpu|tensorflow
  --image-size 32|16|8            side of the images the models see (data.imageSize and
                                  score.model.imageSize; cpu-small 16, paper 32)
  --set path=value                override any config field, e.g. --set score.steps=200
  --quiet                         no progress bars
  --help                          this text`;

const training = `  --resume         continue from the latest checkpoint in --out (refused if the saved config
                   differs in anything but steps, checkpointEvery, keepLast, backend, logging)
  --overwrite      start afresh in an --out that holds checkpoints, deleting them
  --keep-last N    keep only the newest N checkpoints (default 0: all)
  Ctrl-C / SIGTERM stops after the current step with a checkpoint and prints how to resume.`;

/** The usage text of each subcommand (and of the whole CLI). */
export const usages: Record<Command | 'main', string> = {
  main: `scorekit cifar — the CIFAR-10 experiment of Chao et al. (ICLR 2022): DLSM classifier guidance

Usage: npm run cifar -- <command> [options]

Commands:
  train-score        train the unconditional score model (DSM, VE SDE), with checkpoints
  train-classifier   train the noise-conditioned ResNet classifier (--loss ce|dlsm|total)
  sample             class-conditional PC sampling with classifier guidance → PNG grids
  evaluate           FD / IS / P,R,D,C / class-wise metrics / CAS of samples vs real images

Run "<command> --help" for its options.`,
  'train-score': `Usage: npm run cifar -- train-score [options]

Trains the score model with DSM (λ = σ², ε = 1e-3) on the VE SDE (σ from sde.sigmaMin 0.01 to
sde.sigmaMax: 50 in paper, 25 in cpu-small), Adam with
warm-up, clip 1.0, EMA, random flips; checkpoints into --out (default <preset out>/score).
  --steps N        training steps (score.steps)
${training}

${common}`,
  'train-classifier': `Usage: npm run cifar -- train-classifier --loss ce|dlsm|total --score CKPT [options]

Trains the noise-conditioned ResNet classifier against the frozen score model (EMA weights):
ce = cross-entropy ("base"), dlsm = DLSM alone, total = DLSM + λ·CE (the paper, λ = 1).
Reports held-out accuracy at σ = classifier.evalSigma (default 0.01). Checkpoints into --out
(default <preset out>/classifier-<loss>).
  --loss ce|dlsm|total   the objective (default total)
  --score CKPT           score checkpoint (folder with 'latest', or a step folder); not needed for ce
  --steps N              training steps (classifier.steps)
${training}

${common}`,
  sample: `Usage: npm run cifar -- sample --score CKPT --classifier CKPT [options]

Class-conditional PC sampling (reverse diffusion + Langevin, snr 0.16, ε 1e-5, denoised) with
classifier guidance S = s + α ∇ log p(y | x). Writes class-<c>.png grids, classes.png (a row
per class) and samples.safetensors (samples float32 [n,s,s,3] in [0,1], s = the image side;
labels int32 [n]) into --out (default <preset out>/samples).
  --score CKPT        score checkpoint
  --classifier CKPT   classifier checkpoint
  --classes 0,3       classes to sample (indices of the classifier's classes)
  --scale A           guidance scale α (default 1)
  --n N               samples per class
  --steps N           sampler steps (sde.N)

${shardOptionsUsage}

${common}`,
  evaluate: `Usage: npm run cifar -- evaluate --samples PATH --extractor SPEC [options]

Metrics of generated vs real (training) images: Fréchet distance, Inception-style score,
precision / recall / density / coverage (k = 3), class-wise FD and PRDC, CAS (a classifier
trained on the samples, tested on held-out real images) and, with a classifier extractor, that
classifier's accuracy on the samples against their labels (sampleAccuracy). Writes metrics.json
into --out (default <preset out>/evaluation). Metrics on non-Inception features are labelled
FD_<name>.
  --samples PATH      samples.safetensors, or the folder the sample command wrote
  --extractor SPEC    classifier:<checkpoint>  a scorekit classifier at σ = evaluate.extractorSigma
                      graph:<model.json>       a converted FID Inception graph (pool_3, softmax/logits,
                                               input node Mul, 299×299 in [-1, 1])

${shardOptionsUsage}

${common}`,
};

const stageDir = (command: Command, loss: string): string =>
  command === 'train-score'
    ? 'score'
    : command === 'train-classifier'
      ? `classifier-${loss}`
      : command === 'sample'
        ? 'samples'
        : 'evaluation';

/** A parsed command line: a validated config to run, or the usage text to print. */
export type ParsedArgs =
  | { readonly kind: 'run'; readonly config: CifarConfig }
  | { readonly kind: 'help'; readonly text: string };

/**
 * Parses `<command> [options]` into a validated {@link CifarConfig} (arktype, before any work)
 * or a help text. Errors name the option or the config field, expected vs got.
 *
 * @example
 * ```ts
 * parseArgs(['sample', '--preset', 'tiny', '--classes', '0,3', '--scale', '2']);
 * ```
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...args] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { kind: 'help', text: usages.main };
  if (!(commands as readonly string[]).includes(first))
    throw new Error(`unknown command '${first}': expected one of ${commands.join(', ')}`);
  const command = first as Command;
  if (args.includes('--help') || args.includes('-h'))
    return { kind: 'help', text: usages[command] };
  const presetAt = args.indexOf('--preset');
  const presetName = presetAt >= 0 ? args[presetAt + 1] : 'cpu-small';
  if (presetName !== 'paper' && presetName !== 'cpu-small' && presetName !== 'tiny')
    throw new Error(`--preset: expected paper, cpu-small or tiny, got ${presetName ?? 'nothing'}`);
  const preset = presets[presetName];
  const draft = structuredClone({ ...preset, command }) as unknown as Record<string, unknown>;
  const inputs = draft['inputs'] as Record<string, unknown>;
  let out: string | undefined;
  const onlyFor = (option: string, ...allowed: Command[]) => {
    if (!allowed.includes(command))
      throw new Error(`${option} is not an option of ${command} (see ${command} --help)`);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a}: missing value`);
      return v;
    };
    switch (a) {
      case '--preset':
        value();
        break;
      case '--seed':
        draft['seed'] = parseValue(value(), a);
        break;
      case '--out':
        out = value();
        break;
      case '--data':
        setPath(draft, 'data.path', value());
        break;
      case '--image-size': {
        const v = parseValue(value(), a);
        setPath(draft, 'data.imageSize', v);
        setPath(draft, 'score.model.imageSize', v);
        break;
      }
      case '--backend':
        draft['backend'] = value();
        break;
      case '--quiet':
        draft['quiet'] = true;
        break;
      case '--resume':
        onlyFor(a, 'train-score', 'train-classifier');
        inputs['resume'] = true;
        break;
      case '--overwrite':
        onlyFor(a, 'train-score', 'train-classifier');
        inputs['overwrite'] = true;
        break;
      case '--keep-last':
        onlyFor(a, 'train-score', 'train-classifier');
        draft['keepLast'] = parseValue(value(), a);
        break;
      case '--steps': {
        const v = parseValue(value(), a);
        if (command === 'train-score') setPath(draft, 'score.steps', v);
        else if (command === 'train-classifier') setPath(draft, 'classifier.steps', v);
        else if (command === 'sample') setPath(draft, 'sde.N', v);
        else onlyFor(a, 'train-score', 'train-classifier', 'sample');
        break;
      }
      case '--loss':
        onlyFor(a, 'train-classifier');
        setPath(draft, 'classifier.loss', value());
        break;
      case '--score':
        onlyFor(a, 'train-classifier', 'sample');
        inputs['scoreCheckpoint'] = value();
        break;
      case '--classifier':
        onlyFor(a, 'sample');
        inputs['classifierCheckpoint'] = value();
        break;
      case '--classes': {
        onlyFor(a, 'sample');
        const v = value();
        const list = v.split(',').map((s) => s.trim());
        if (list.some((s) => !/^\d+$/.test(s)))
          throw new Error(`--classes: expected comma-separated class indices like 0,3, got '${v}'`);
        setPath(draft, 'sample.classes', list.map(Number));
        break;
      }
      case '--scale':
        onlyFor(a, 'sample');
        setPath(draft, 'sample.scale', parseValue(value(), a));
        break;
      case '--n':
        onlyFor(a, 'sample');
        setPath(draft, 'sample.n', parseValue(value(), a));
        break;
      case '--samples':
        onlyFor(a, 'evaluate');
        inputs['samples'] = value();
        break;
      case '--extractor':
        onlyFor(a, 'evaluate');
        inputs['extractor'] = value();
        break;
      case '--set':
        applyOverride(draft, value());
        break;
      default:
        throw new Error(`unknown option ${a} (see ${command} --help)`);
    }
  }
  if (inputs['resume'] === true && inputs['overwrite'] === true)
    throw new Error(
      '--resume and --overwrite exclude each other: continue the run, or start again',
    );
  const loss = (draft['classifier'] as { loss: string }).loss;
  draft['out'] = out ?? join(preset.out, stageDir(command, loss));
  const config = parseConfig(cifarConfig, draft, `cifar ${command} config`);
  return { kind: 'run', config };
}
