import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputDir } from '@scorekit/example-kit';
import { encodeSafetensors, readSafetensors } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarSubset, tinyConfig } from '../examples/cifar/src/fixtures.js';
import {
  type CifarConfig,
  loadFrozen,
  parseArgs,
  trainScore,
} from '../examples/cifar/src/index.js';

// The output folder of a CIFAR training run (issue 14 items 3–6, 9): checked before any work,
// locked against a second run, never silently reused, resumed only with the same config.

const data = cifarSubset;
const out = mkdtempSync(join(tmpdir(), 'scorekit-runfolder-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const dir = (name: string) => join(out, name);

const config = (argv: string[]): CifarConfig => tinyConfig(argv, data);
const score = (out: string, ...more: string[]) =>
  config(['train-score', '--out', out, '--steps', '2', ...more]);
const deadPid = (): number =>
  Number(
    String(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout),
  );

describe('output paths are validated before any work', () => {
  it('refuses "", a file, a path under a file and an unwritable path, leaving nothing behind', async () => {
    const file = join(out, 'a-file');
    writeFileSync(file, 'x');
    await expect(checkOutputDir('')).rejects.toThrow(
      /--out: expected a folder path, got an empty string/,
    );
    await expect(checkOutputDir(file)).rejects.toThrow(
      `--out ${file}: is a file, expected a folder`,
    );
    await expect(checkOutputDir(join(file, 'sub', 'dir'))).rejects.toThrow(
      `--out ${join(file, 'sub', 'dir')}: ${file} is a file, so no folder can be created under it`,
    );
    await expect(checkOutputDir('/sys/scorekit-out')).rejects.toThrow(
      /--out \/sys\/scorekit-out: not writable: /,
    );
    await expect(checkOutputDir('/proc/scorekit-out/score')).rejects.toThrow(
      /--out \/proc\/scorekit-out\/score: not writable: /,
    );
    const fresh = join(out, 'fresh', 'nested');
    await checkOutputDir(fresh);
    expect(existsSync(join(out, 'fresh'))).toBe(false);
    // a training run with --out a file fails on --out before reading any data (a bad --data too)
    const bad = parseArgs([
      'train-score',
      '--preset',
      'tiny',
      '--data',
      join(out, 'none.bin'),
      '--out',
      file,
    ]);
    if (bad.kind !== 'run') throw new Error('unexpected help');
    await expect(trainScore(bad.config)).rejects.toThrow(
      `--out ${file}: is a file, expected a folder`,
    );
  });

  it('rejects Infinity, NaN, out-of-range numbers and __proto__ instead of clamping or accepting', async () => {
    expect(() => score(dir('n'), '--set', 'score.lr=1e999')).toThrow(
      /--set score\.lr: 1e999: expected a finite number, got Infinity/,
    );
    expect(() => score(dir('n'), '--set', 'score.lr=NaN')).toThrow(/score\.lr/);
    expect(() => score(dir('n'), '--set', '__proto__.polluted=1')).toThrow(
      /'__proto__' is not a config field/,
    );
    expect(() => score(dir('n'), '--set', 'score.constructor=1')).toThrow(/not a config field/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(() => score(dir('n'), '--keep-last', '-1')).toThrow(/keepLast/);
    expect(() => score(dir('n'), '--resume', '--overwrite')).toThrow(/exclude each other/);
    // a batch larger than the data is refused (it used to be clamped to the 64 images)
    await expect(trainScore(score(dir('n'), '--set', 'score.batch=1000000000'))).rejects.toThrow(
      'score.batch: expected at most the 64 training images, got 1000000000',
    );
  });
});

describe('one run per output folder', () => {
  it('refuses a fresh run into checkpoints unless --overwrite; --resume refuses a changed run', async () => {
    const before = tf.memory().numTensors;
    const run = dir('reuse');
    await trainScore(score(run));
    expect(readFileSync(join(run, 'latest'), 'utf8').trim()).toBe('step-000002');
    await expect(trainScore(score(run))).rejects.toThrow(
      `${run} already holds checkpoints (newest ${join(run, 'step-000002')}): add --resume to continue that run, --overwrite to delete them and start again, or choose another --out`,
    );
    // a changed seed, learning rate, batch, σ_max or image size changes the run: refused, named
    await expect(
      trainScore(
        score(
          run,
          '--resume',
          '--seed',
          '3',
          '--set',
          'score.lr=0.002',
          '--set',
          'score.batch=4',
          '--set',
          'sde.sigmaMax=30',
          '--image-size',
          '8',
          '--set',
          'score.model.imageSize=8',
        ),
      ),
    ).rejects.toThrow(
      /--resume: .*step-000002 was trained with another config; these changes would alter the run: seed 0 → 3; data\.imageSize 16 → 8; sde\.sigmaMax 50 → 30; score\.model\.imageSize 16 → 8; score\.batch 8 → 4; score\.lr 0\.001 → 0\.002/,
    );
    // more steps, another checkpoint interval and logging are fine
    const more = await trainScore(
      score(
        run,
        '--resume',
        '--steps',
        '3',
        '--set',
        'score.checkpointEvery=1',
        '--keep-last',
        '2',
      ),
    );
    expect(more.resumedFrom).toBe(2);
    expect(
      readdirSync(run)
        .filter((n) => n.startsWith('step-'))
        .sort(),
    ).toEqual(['step-000002', 'step-000003']);
    const logs: string[] = [];
    await trainScore(score(run, '--overwrite'), { log: (l) => logs.push(l) });
    expect(logs).toContain(`--overwrite: deleted 2 checkpoint(s) in ${run}`);
    expect(readdirSync(run).filter((n) => n.startsWith('step-'))).toEqual(['step-000002']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("a second run into a locked folder is refused; a dead run's lock and leftovers are cleaned", async () => {
    const run = dir('locked');
    mkdirSync(run, { recursive: true });
    // a live holder: our parent process
    writeFileSync(
      join(run, '.lock'),
      JSON.stringify({ pid: process.ppid, host: hostname(), started: 'earlier' }),
    );
    await expect(trainScore(score(run))).rejects.toThrow(
      `${run}: in use by another run (pid ${process.ppid} on ${hostname()}, since earlier)`,
    );
    // the holder died (kill -9) mid-save: its lock and temporary folders are taken over / removed
    const pid = deadPid();
    writeFileSync(join(run, '.lock'), JSON.stringify({ pid, host: hostname(), started: 'then' }));
    mkdirSync(join(run, '.tmp-step-000002-dead01'));
    writeFileSync(join(run, '.tmp-step-000002-dead01', 'params.safetensors'), 'half');
    writeFileSync(join(run, '.tmp-latest-1-0-dead'), 'step-0');
    const logs: string[] = [];
    await trainScore(score(run), { log: (l) => logs.push(l) });
    expect(logs).toContain(
      `${run}: taking over the lock of process ${pid} (started then), which is no longer running`,
    );
    expect(logs).toContain(
      `${run}: removed 2 leftover(s) of interrupted writes: .tmp-latest-1-0-dead, .tmp-step-000002-dead01`,
    );
    expect(readdirSync(run).sort()).toEqual([
      'config.json',
      'latest',
      'report.json',
      'step-000002',
    ]);
  });

  it('a checkpoint with NaN weights or an Infinity in its config is refused at load, naming it', async () => {
    const run = dir('poisoned');
    await trainScore(score(run));
    const step = join(run, 'step-000002');
    const cfgFile = join(step, 'config.json');
    const good = readFileSync(cfgFile, 'utf8');
    writeFileSync(cfgFile, good.replace(/"lr": [^,]+,/, '"lr": 1e999,'));
    const bad = await loadFrozen(run, 'score')();
    expect(E.isLeft(bad) && bad.left.message).toMatch(
      /config\.json: cannot read: .*config\.json\.score\.lr: expected a finite number, got Infinity/,
    );
    writeFileSync(cfgFile, good);
    // every EMA weight NaN (what `sample` loads): refused, naming the file and tensor
    const emaFile = join(step, 'ema.safetensors');
    const decoded = await readSafetensors(emaFile)();
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    const tensors = Object.fromEntries(
      Object.entries(decoded.right.tensors).map(([n, t]) => [
        n,
        { ...t, values: new Float32Array(t.values.length).fill(Number.NaN) },
      ]),
    );
    writeFileSync(emaFile, encodeSafetensors({ tensors, metadata: decoded.right.metadata }));
    const nan = await loadFrozen(run, 'score')();
    expect(E.isLeft(nan) && nan.left.message).toMatch(
      new RegExp(
        `^${emaFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: tensor '[^']+' holds NaN at index 0; this checkpoint cannot be used$`,
      ),
    );
  });
});
