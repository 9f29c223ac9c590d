import { parseConfig } from '@scorekit/core';
import { applyOverride, parseValue, setPath } from '@scorekit/example-kit';
import { presets, type ToyConfig, toyConfig } from './config.js';

/** Usage text of the toy-moons CLI. */
export const usage = `scorekit toy-moons — the two-moons experiment of Chao et al. (ICLR 2022), end to end

Usage: npm run demo -- [options]

  --preset quick|paper|tiny   protocol preset (default quick: a few minutes on 2 CPU cores)
  --seed N                    random seed (same seed ⇒ same table on the same backend)
  --out DIR                   output folder (default out/toy-moons)
  --alpha A                   guidance scale of the "scaling" method
  --learning-curve K          also record D_L and CE every K classifier steps (Fig. 5)
  --backend auto|wasm|cpu|tensorflow
  --set path=value            override any config field, e.g. --set score.steps=500
  --jobs N                    train up to N independent models at once in child processes
                              (default 2; 1 trains everything in this process)
  --resume                    continue an interrupted run from DIR.checkpoints (finished
                              models are loaded, the interrupted one resumes from its checkpoint)
  --overwrite                 discard the checkpoints of an earlier run in DIR.checkpoints
  --quiet                     no progress bars
  --help                      this text

Writes DIR/results.json, DIR/results.md, DIR/config.json, DIR/samples.svg,
DIR/likelihood-field.svg (and DIR/learning-curve.svg) as one folder, atomically; every model
checkpoints into DIR.checkpoints. Ctrl-C stops after the current step (exit 130) and says how
to resume.`;

/** How to run (not what): flags that change neither the models nor the results. */
export interface RunFlags {
  readonly resume: boolean;
  readonly overwrite: boolean;
  /** Child processes training independent models at once (1: everything in this process). */
  readonly jobs: number;
}

/** Reads `--resume`, `--overwrite` and `--jobs N` from the command line. */
export function parseRunFlags(argv: readonly string[]): RunFlags {
  const at = argv.lastIndexOf('--jobs');
  const raw = at >= 0 ? argv[at + 1] : '2';
  const jobs = Number(raw);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new Error(`--jobs: expected an integer from 1 to 64, got ${raw ?? 'nothing'}`);
  return { resume: argv.includes('--resume'), overwrite: argv.includes('--overwrite'), jobs };
}

/**
 * Parses the command line into a validated {@link ToyConfig}, or `'help'`. Errors name the
 * option or config field.
 */
export function parseArgs(argv: readonly string[]): ToyConfig | 'help' {
  const args = [...argv];
  const presetAt = args.lastIndexOf('--preset'); // the last one wins (npm run demo -- --preset paper)
  const presetName = presetAt >= 0 ? args[presetAt + 1] : 'quick';
  if (presetName !== 'quick' && presetName !== 'paper' && presetName !== 'tiny') {
    throw new Error(`--preset: expected quick, paper or tiny, got ${presetName ?? 'nothing'}`);
  }
  const draft = structuredClone(presets[presetName]) as unknown as Record<string, unknown>;
  let outGiven = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a}: missing value`);
      return v;
    };
    switch (a) {
      case '--help':
      case '-h':
        return 'help';
      case '--preset':
        value();
        break;
      case '--seed':
        draft['seed'] = parseValue(value());
        break;
      case '--out':
        draft['out'] = value();
        outGiven = true;
        break;
      case '--alpha':
        setPath(draft, 'evaluation.alpha', parseValue(value()));
        break;
      case '--learning-curve':
        setPath(draft, 'learningCurve.every', parseValue(value()));
        break;
      case '--backend':
        draft['backend'] = value();
        break;
      case '--quiet':
        draft['quiet'] = true;
        break;
      case '--resume':
      case '--overwrite':
        break;
      case '--jobs':
        value();
        break;
      case '--set': {
        if (applyOverride(draft, value()) === 'out') outGiven = true;
        break;
      }
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (!outGiven) draft['out'] = presets[presetName].out;
  return parseConfig(toyConfig, draft, 'toy-moons config');
}
