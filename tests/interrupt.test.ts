import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarSubset, spawnCli } from '../examples/cifar/src/fixtures.js';
import { parseArgs } from '../examples/cifar/src/index.js';

// SIGINT / SIGTERM stop a CIFAR training command after the current step (issue 14 item 2): a
// checkpoint of that step is written, the process exits 130 / 143 and its last line says how to
// resume.

const data = cifarSubset;
const out = mkdtempSync(join(tmpdir(), 'scorekit-interrupt-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs the CLI; once training started (config.json written) and 300 ms passed, sends `signal`. */
function interrupt(argv: string[], dir: string, signal: 'SIGINT' | 'SIGTERM'): Promise<Exit> {
  return new Promise((done) => {
    const child = spawnCli(argv, tf.getBackend());
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const poll = setInterval(() => {
      if (existsSync(join(dir, 'config.json'))) {
        clearInterval(poll);
        setTimeout(() => child.kill(signal), 300);
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      done({ code, stderr });
    });
  });
}

describe('a signal stops CIFAR training after the current step, with a checkpoint', () => {
  for (const [command, signal, code] of [
    ['train-score', 'SIGINT', 130],
    ['train-classifier', 'SIGTERM', 143],
  ] as const) {
    it(`${command} on ${signal}: exit ${code}, checkpoint of the step reached, one resume line`, async () => {
      const dir = join(out, command);
      const argv = [
        command,
        '--preset',
        'tiny',
        '--data',
        data,
        '--quiet',
        '--out',
        dir,
        '--steps',
        '200',
        ...(command === 'train-classifier' ? ['--loss', 'ce'] : []),
        '--set',
        `${command === 'train-score' ? 'score' : 'classifier'}.checkpointEvery=1000`,
      ];
      const exit = await interrupt(argv, dir, signal);
      const lines = exit.stderr.trim().split('\n');
      expect(exit.code, exit.stderr).toBe(code);
      const last = lines[lines.length - 1]!;
      const m =
        /^interrupted after step (\d+); checkpoint (\S+); resume with: npm run cifar -- (.*)$/.exec(
          last,
        );
      expect(m, last).not.toBeNull();
      const step = Number(m![1]);
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThan(200);
      expect(m![2]).toBe(join(dir, `step-${String(step).padStart(6, '0')}`));
      expect(readFileSync(join(dir, 'latest'), 'utf8').trim()).toBe(
        `step-${String(step).padStart(6, '0')}`,
      );
      // the printed command is this one plus --resume
      const again = m![3]!.split(' ');
      expect(again).toEqual([...argv, '--backend', tf.getBackend(), '--resume']);
      const parsed = parseArgs(again);
      expect(parsed.kind === 'run' && parsed.config.inputs.resume).toBe(true);
      expect(existsSync(join(dir, 'report.json'))).toBe(false);
    });
  }
});
