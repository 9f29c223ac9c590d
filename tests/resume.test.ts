import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarSubset, spawnCli } from '../examples/cifar/src/fixtures.js';
import {
  type CifarConfig,
  parseArgs,
  trainClassifier,
  trainScore,
} from '../examples/cifar/src/index.js';

// Exact resume (issue 14 item 1): 12 steps straight vs 6 + --resume + 6 give bit-identical
// params, EMA, optimizer state and buffers, for both training commands, after a clean stop and
// after kill -9, with warm-up spanning the resume point and global-norm clipping active.

const data = cifarSubset;
const out = mkdtempSync(join(tmpdir(), 'scorekit-resume-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const dir = (name: string) => join(out, name);

// warm-up over 8 steps (so it is still active after the resume at 6) and a clip of 0.05 (far
// below the gradient norms of these losses, so every step is clipped: checked below)
const scoreArgs = ['--set', 'score.warmup=8', '--set', 'score.gradClip=0.05'];
const classifierArgs = [
  '--loss',
  'ce',
  '--set',
  'classifier.warmup=8',
  '--set',
  'classifier.gradClip=0.05',
];
const common = (out: string) => [
  '--preset',
  'tiny',
  '--data',
  data,
  '--quiet',
  '--out',
  out,
  '--set',
  'score.checkpointEvery=6',
  '--set',
  'classifier.checkpointEvery=6',
];
const config = (argv: string[]): CifarConfig => {
  const parsed = parseArgs(argv);
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.config;
};
const argvOf = (command: 'train-score' | 'train-classifier', out: string, steps: number) => [
  command,
  ...common(out),
  '--steps',
  String(steps),
  ...(command === 'train-score' ? scoreArgs : classifierArgs),
];
const train = (command: 'train-score' | 'train-classifier', argv: string[]) =>
  command === 'train-score' ? trainScore(config(argv)) : trainClassifier(config(argv));

/** Names of the tensors whose bits differ between the two checkpoints (every file compared). */
async function differingTensors(a: string, b: string): Promise<string[]> {
  const files = readdirSync(a).filter((f) => f.endsWith('.safetensors'));
  expect(files.sort()).toEqual(
    readdirSync(b)
      .filter((f) => f.endsWith('.safetensors'))
      .sort(),
  );
  expect(files).toEqual(
    expect.arrayContaining(['params.safetensors', 'optimizer.safetensors', 'buffers.safetensors']),
  );
  const differ: string[] = [];
  for (const f of files) {
    const [x, y] = await Promise.all([
      readSafetensors(join(a, f))(),
      readSafetensors(join(b, f))(),
    ]);
    if (E.isLeft(x) || E.isLeft(y)) throw new Error(`${f}: unreadable`);
    expect(Object.keys(x.right.tensors).sort()).toEqual(Object.keys(y.right.tensors).sort());
    for (const [name, t] of Object.entries(x.right.tensors)) {
      const u = y.right.tensors[name]!;
      const bx = new Uint32Array(t.values.buffer, t.values.byteOffset, t.values.length);
      const by = new Uint32Array(u.values.buffer, u.values.byteOffset, u.values.length);
      if (bx.length !== by.length || bx.some((v, i) => v !== by[i])) differ.push(`${f}:${name}`);
    }
  }
  const state = (p: string) => JSON.parse(readFileSync(join(p, 'state.json'), 'utf8'));
  expect(state(b)).toEqual(state(a));
  return differ;
}

/** Runs the CLI in a child process and kills it (SIGKILL) once `latest` names step 6. */
function killAfterStep6(argv: string[], out: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawnCli(argv, tf.getBackend());
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const poll = setInterval(() => {
      const latest = join(out, 'latest');
      if (existsSync(latest) && readFileSync(latest, 'utf8').trim() === 'step-000006') {
        clearInterval(poll);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      if (signal === 'SIGKILL') done();
      else fail(new Error(`the child was not killed (exit ${code}): ${stderr}`));
    });
  });
}

describe('bit-exact resume of the CIFAR training commands (tiny preset)', () => {
  for (const command of ['train-score', 'train-classifier'] as const) {
    it(`${command}: 12 steps straight = 6 + --resume + 6 = kill -9 after 6 + --resume`, async () => {
      const before = tf.memory().numTensors;
      const straight = dir(`${command}-straight`);
      const report = await train(command, argvOf(command, straight, 12));
      expect(report.steps).toBe(12);
      // clipping active: the last step's gradient norm exceeds the clip of 0.05
      expect(report.lastGradNorm).toBeGreaterThan(0.05);

      const stopped = dir(`${command}-stopped`);
      await train(command, argvOf(command, stopped, 6));
      const resumed = await train(command, [...argvOf(command, stopped, 12), '--resume']);
      expect(resumed.resumedFrom).toBe(6);
      // the step-6 checkpoints agree; the step-12 ones must too, to the bit
      expect(
        await differingTensors(join(straight, 'step-000006'), join(stopped, 'step-000006')),
      ).toEqual([]);
      expect(
        await differingTensors(join(straight, 'step-000012'), join(stopped, 'step-000012')),
      ).toEqual([]);

      const killed = dir(`${command}-killed`);
      await killAfterStep6(argvOf(command, killed, 12), killed);
      const afterKill = await train(command, [...argvOf(command, killed, 12), '--resume']);
      expect(afterKill.resumedFrom).toBeGreaterThanOrEqual(6);
      expect(
        await differingTensors(join(straight, 'step-000012'), join(killed, 'step-000012')),
      ).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    }, 300_000); // ~10 s alone; child processes on a loaded 2-core machine take longer
  }
});
