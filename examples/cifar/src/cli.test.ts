import { describe, expect, it } from 'vitest';
import { parseArgs, usages } from './cli.js';
import { defaultSubset, presets } from './config.js';

const run = (argv: string[]) => {
  const parsed = parseArgs(argv);
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.config;
};

describe('cifar CLI', () => {
  it('defaults to cpu-small on the 4,000-image subset, one output folder per stage', () => {
    const cfg = run(['train-score']);
    expect(cfg.preset).toBe('cpu-small');
    expect(cfg.data.path).toBe(defaultSubset);
    expect(cfg.out).toBe('out/cifar-small/score');
    expect(cfg.score.model.nf).toBe(16);
    expect(run(['train-classifier', '--loss', 'dlsm']).out).toBe('out/cifar-small/classifier-dlsm');
  });

  it("keeps the paper's settings in the paper preset (method.md §§3–5)", () => {
    const cfg = run(['train-classifier', '--preset', 'paper']);
    expect(cfg.sde).toEqual({ sigmaMin: 0.01, sigmaMax: 50, N: 1000 });
    expect(cfg.classifier).toMatchObject({
      batch: 150,
      steps: 60000,
      lr: 2e-4,
      lambda: 1,
      eps: 1e-5,
    });
    expect(cfg.classifier.model).toMatchObject({ depth: 18, width: 64, classes: 10 });
    expect(cfg.score).toMatchObject({
      batch: 128,
      warmup: 5000,
      ema: 0.999,
      eps: 1e-3,
      flip: true,
    });
    expect(cfg.score.model).toMatchObject({ nf: 128, chMult: [1, 2, 2, 2], numResBlocks: 8 });
    expect(cfg.sample).toMatchObject({ snr: 0.16, eps: 1e-5 });
    expect(cfg.evaluate.k).toBe(3);
  });

  it('applies the command options and --set overrides', () => {
    const cfg = run([
      'sample',
      '--preset',
      'tiny',
      '--classes',
      '1,7',
      '--scale',
      '2.5',
      '--n',
      '9',
      '--score',
      'a',
      '--classifier',
      'b',
      '--set',
      'sample.snr=0.2',
      '--out',
      'x',
    ]);
    expect(cfg.sample).toMatchObject({ classes: [1, 7], scale: 2.5, n: 9, snr: 0.2 });
    expect(cfg.inputs).toEqual({
      resume: false,
      overwrite: false,
      scoreCheckpoint: 'a',
      classifierCheckpoint: 'b',
    });
    expect(cfg.out).toBe('x');
    expect(cfg.command).toBe('sample');
    expect(presets.tiny.sample.snr).toBe(0.16); // presets are not mutated
  });

  it('names the bad option or field, expected vs got', () => {
    expect(() => run(['train-score', '--preset', 'huge'])).toThrow(
      /--preset: expected .* got huge/,
    );
    expect(() => run(['train-score', '--set', 'score.lr=-1'])).toThrow(/score\.lr/);
    expect(() => run(['train-score', '--set', 'score.nope=1'])).toThrow(/unknown field 'nope'/);
    expect(() => run(['sample', '--n', '0'])).toThrow(/sample\.n/);
    expect(() => run(['train-score', '--loss', 'ce'])).toThrow(/not an option of train-score/);
    expect(() => run(['sample', '--scale'])).toThrow(/--scale: missing value/);
    expect(() => run(['train-score', '--preset', 'paper', '--set', 'data.imageSize=16'])).toThrow(
      /score\.model\.imageSize must be data\.imageSize \(16\).*\(was 32\)/,
    );
    expect(() => run(['train-score', '--set', 'data.imageSize=12'])).toThrow(/data\.imageSize/);
    expect(() => run(['train-score', '--image-size', '12'])).toThrow(/data\.imageSize/);
    const at8 = run(['train-score', '--preset', 'paper', '--image-size', '8']);
    expect([at8.data.imageSize, at8.score.model.imageSize]).toEqual([8, 8]);
  });

  it('has a help text for every command', () => {
    for (const c of ['train-score', 'train-classifier', 'sample', 'evaluate'] as const) {
      const parsed = parseArgs([c, '--help']);
      expect(parsed).toEqual({ kind: 'help', text: usages[c] });
      expect(usages[c]).toContain(`npm run cifar -- ${c}`);
    }
    expect(parseArgs([])).toEqual({ kind: 'help', text: usages.main });
  });
});
