// The demo CLI as a user runs it: a child process of `node --import tsx main.ts`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'scorekit-toy-cli-'));
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A very small run (a few seconds of training): the tiny preset with fewer steps and samples. */
const small = [
  '--preset',
  'tiny',
  '--set',
  'data.perClass=100',
  '--set',
  'score.steps=40',
  '--set',
  'score.batch=64',
  '--set',
  'classifier.steps=30',
  '--set',
  'classifier.batch=64',
  '--set',
  'checkpointEvery=10',
  '--set',
  'evaluation.grid=6',
  '--set',
  'evaluation.samplesPerClass=20',
  '--set',
  'evaluation.samplerSteps=4',
];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the demo; `onStderr` sees the accumulated stderr after every chunk. */
function demo(
  args: readonly string[],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Exit> {
  const child = spawn(
    process.execPath,
    ['--conditions=@scorekit/source', '--import', 'tsx', mainTs, ...args],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, child);
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('demo output paths are checked before any work', () => {
  const file = join(scratch, 'a-file');
  writeFileSync(file, 'not a folder');
  for (const [what, out, expected] of [
    ['a file', file, /--out: .*a-file is a file, expected a folder/],
    ['under /sys', '/sys/kernel/scorekit-toy', /--out: \/sys\/kernel\/scorekit-toy: cannot write/],
    ['empty', '', /--out: expected a folder path, got ""/],
  ] as const) {
    it(`refuses --out ${what} with one line, exit 2, before training`, async () => {
      const r = await demo([...small, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(/two moons:|score model|\n\s+at /);
    });
  }
});

describe('Ctrl-C', () => {
  it('stops cleanly: exit 130, one line saying how to resume, no stack, no half folder', async () => {
    const out = join(scratch, 'interrupted');
    let sent = false;
    const r = await demo([...small, '--jobs', '1', '--out', out], (text, child) => {
      // interrupt once training has started (its progress line is printed)
      if (!sent && /score model .*\d+\/40 steps/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).not.toMatch(/AbortError|\n\s+at /);
    expect(r.stderr).toMatch(/interrupted .*--resume/);
    // the results folder is all or nothing: interrupted while training, nothing is written
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(scratch).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});

/** Every file of the results that must not depend on how the run was scheduled or interrupted. */
function resultsOf(out: string) {
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  return {
    results: json.results,
    floor: json.zeroGradientFloor,
    losses: json.finalTrainingLosses,
    samples: readFileSync(join(out, 'samples.svg'), 'utf8'),
    fields: readFileSync(join(out, 'likelihood-field.svg'), 'utf8'),
  };
}

describe('parallel training and --resume', () => {
  it('a run killed (-9) mid-training and resumed gives the results of an uninterrupted one', async () => {
    const straight = join(scratch, 'straight');
    const a = await demo([...small, '--jobs', '2', '--out', straight]);
    expect(a.stderr).not.toMatch(/error/);
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/classifier \(DLSM\+CE\): training in a child process/);

    const killed = join(scratch, 'killed');
    const ckpt = `${killed}.checkpoints`;
    let children: number[] = [];
    const run = demo([...small, '--jobs', '2', '--out', killed]);
    const child = [...started].at(-1)!;
    // kill the whole run once the CE classifier has written its first checkpoint (stage 2 under way)
    const poll = setInterval(() => {
      if (children.length === 0 && existsSync(join(ckpt, 'classifier-crossEntropy', 'latest'))) {
        children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], {
          encoding: 'utf8',
        })
          .split(/\s+/)
          .filter(Boolean)
          .map(Number);
        child.kill('SIGKILL');
      }
    }, 50);
    const b = await run;
    clearInterval(poll);
    expect(b.signal).toBe('SIGKILL');
    expect(existsSync(killed)).toBe(false);
    // the training children notice their parent is gone and exit at their next step
    for (let i = 0; i < 600 && children.some(alive); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(children.filter(alive)).toEqual([]);

    const c = await demo([...small, '--jobs', '2', '--out', killed, '--resume']);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/taking over the lock of process \d+/);
    expect(c.stderr).toMatch(/score model: already trained, loading it/);
    expect(c.stderr).toMatch(/classifier \(.*\): finished in \d+ s \(resumed from step [1-9]\d*\)/);
    expect(resultsOf(killed)).toEqual(resultsOf(straight));

    // a changed run is refused on --resume, naming the field
    const d = await demo([...small, '--jobs', '2', '--out', killed, '--resume', '--seed', '1']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/--resume: .*seed 0 → 1/);
    // and a fresh run into its checkpoints is refused
    const e = await demo([...small, '--out', killed]);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/holds checkpoints of an earlier run: continue it with --resume/);
  }, 600_000); // four small runs of 1 + 6 processes each: slow only on a loaded machine
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
