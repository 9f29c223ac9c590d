// The demo CLI as a user runs it: a child process of `node --import tsx main.ts`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'scorekit-toy-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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
    ['--conditions=@scorekit/source', '--import', 'tsx', mainTs, '--backend', 'cpu', ...args],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
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
      const r = await demo(['--preset', 'tiny', '--out', out]);
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
    const r = await demo(['--preset', 'tiny', '--out', out], (text, child) => {
      // interrupt once training has started
      if (!sent && /score model/.test(text)) {
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
