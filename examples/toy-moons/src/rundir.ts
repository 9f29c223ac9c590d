import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { unwrap } from '@scorekit/core';
import { lockDir, lockFile, writeFileAtomic } from '@scorekit/training';
import type { ToyConfig } from './config.js';

/** The files the demo writes into its results folder (and nothing else may be there). */
export const outputFiles = [
  'config.json',
  'results.json',
  'results.md',
  'samples.svg',
  'likelihood-field.svg',
  'learning-curve.svg',
] as const;

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * Checks the results folder `out` before any work: a non-empty path; not a file; if it exists,
 * holding only a previous run's results (it is replaced as a whole); and its parent creatable
 * and writable (probed by creating and removing a temporary folder there, which is where the
 * results are assembled before they are renamed into place). Throws a one-line `--out: …` error.
 */
export async function checkOutputFolder(out: string): Promise<void> {
  if (out.trim() === '')
    throw new Error(`--out: expected a folder path, got ${JSON.stringify(out)}`);
  const path = resolve(out);
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) throw new Error(`--out: ${path} is a file, expected a folder`);
  if (info) {
    const foreign = (await readdir(path)).filter(
      (n) => !(outputFiles as readonly string[]).includes(n),
    );
    if (foreign.length > 0)
      throw new Error(
        `--out: ${path} holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); the results folder is replaced as a whole, so give a new or empty folder`,
      );
  }
  const parent = dirname(path);
  try {
    await mkdir(parent, { recursive: true });
    const probe = await mkdtemp(join(parent, '.tmp-probe-'));
    await rm(probe, { recursive: true, force: true });
  } catch (e) {
    throw new Error(`--out: ${path}: cannot write there (${code(e)})`);
  }
}

/** The checkpoint folder of a results folder: `<out>.checkpoints` beside it. */
export const checkpointFolderOf = (out: string): string =>
  `${resolve(out).replace(/[/\\]+$/, '')}.checkpoints`;

/** Config fields that may differ on `--resume`: they change neither training nor its checkpoints. */
const resumable = ['quiet', 'evaluation', 'checkpointEvery', 'out'];

const differences = (old: unknown, now: unknown, path: string, out: string[]) => {
  if (typeof old === 'object' && old !== null && typeof now === 'object' && now !== null) {
    const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
    for (const k of keys)
      differences(
        (old as Record<string, unknown>)[k],
        (now as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
        out,
      );
  } else if (old !== now) {
    out.push(`${path} ${JSON.stringify(old)} → ${JSON.stringify(now)}`);
  }
};

/** An open checkpoint folder: its path and the lock to release at the end. */
export interface OpenRun {
  readonly dir: string;
  /** Whether models were found there to resume. */
  readonly resumed: boolean;
  release(): Promise<void>;
}

/**
 * Opens the checkpoint folder of a run (`<out>.checkpoints`): takes its exclusive lock (a
 * `lock` file holding the pid; a stale lock of a dead process is taken over with a message);
 * a fresh run into a non-empty folder is refused unless `overwrite` (which empties it) or
 * `resume`; `resume` compares the saved config with `cfg` and refuses every difference that
 * changes training, naming each field (old → new).
 */
export async function openRun(
  cfg: ToyConfig,
  options: { resume: boolean; overwrite: boolean; log?: (line: string) => void },
): Promise<OpenRun> {
  const dir = checkpointFolderOf(cfg.out);
  const runFile = join(dir, 'run.json');
  await mkdir(dir, { recursive: true });
  // one run per folder: training's lock (a stale lock of a dead process is taken over with a message)
  const held = await unwrap(lockDir(dir, (message) => options.log?.(message)));
  const release = async () => held.release();
  try {
    const entries = (await readdir(dir)).filter((n) => !n.startsWith(lockFile));
    if (entries.length > 0 && !options.resume) {
      if (!options.overwrite)
        throw new Error(
          `${dir} holds checkpoints of an earlier run: continue it with --resume, or start over with --overwrite`,
        );
      for (const n of entries) await rm(join(dir, n), { recursive: true, force: true });
    }
    let resumed = false;
    if (options.resume && entries.length > 0) {
      let saved: unknown;
      try {
        saved = JSON.parse(await readFile(runFile, 'utf8'));
      } catch (e) {
        throw new Error(`${runFile}: cannot read the saved config (${code(e)}); use --overwrite`);
      }
      const diffs: string[] = [];
      for (const k of new Set([...Object.keys(saved as object), ...Object.keys(cfg)]))
        if (!resumable.includes(k))
          differences(
            (saved as Record<string, unknown>)[k],
            (cfg as Record<string, unknown>)[k],
            k,
            diffs,
          );
      if (diffs.length > 0)
        throw new Error(
          `--resume: the run in ${dir} was made with another config: ${diffs.join('; ')} (use the same options, or --overwrite)`,
        );
      resumed = true;
    }
    await unwrap(writeFileAtomic(runFile, `${JSON.stringify(cfg, null, 2)}\n`));
    return { dir, resumed, release };
  } catch (e) {
    await release();
    throw e;
  }
}
