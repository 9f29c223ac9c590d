import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrap } from '@scorekit/core';
import {
  type DirLock,
  latestCheckpoint,
  latestFile,
  lockDir,
  removeLeftovers,
} from '@scorekit/training';
import { type CheckpointKind, checkpointConfig } from './checkpoints.js';
import type { CifarConfig } from './config.js';

/**
 * The config fields a `--resume` may change without changing the run: how long it trains, how
 * often and how many checkpoints it keeps, where and how it logs, which backend and which
 * folder. Every other field of the saved config must equal the requested one.
 *
 * @example
 * ```ts
 * harmlessChanges.has('score.steps'); // true
 * ```
 */
export const harmlessChanges: ReadonlySet<string> = new Set([
  'score.steps',
  'classifier.steps',
  'score.checkpointEvery',
  'classifier.checkpointEvery',
  'keepLast',
  'quiet',
  'backend',
  'out',
  'preset',
  'inputs.resume',
  'inputs.overwrite',
]);

/** The sections of the config a training command of `kind` uses (the rest cannot change its run). */
const sectionsOf: Record<CheckpointKind, readonly string[]> = {
  score: ['seed', 'data', 'sde', 'score'],
  classifier: ['seed', 'data', 'sde', 'classifier', 'inputs.scoreCheckpoint'],
};

const flatten = (v: unknown, at: string, out: Map<string, unknown>): Map<string, unknown> => {
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    for (const [k, child] of Object.entries(v)) flatten(child, at ? `${at}.${k}` : k, out);
  else out.set(at, v);
  return out;
};

/**
 * The differences between a saved run config and the requested one that change a training run
 * of `kind` (every field of its sections except {@link harmlessChanges}), as `field old → new`.
 *
 * @example
 * ```ts
 * runChanges(saved, cfg, 'score'); // ['seed 0 → 1', 'score.lr 0.001 → 0.002']
 * ```
 */
export function runChanges(
  saved: CifarConfig,
  requested: CifarConfig,
  kind: CheckpointKind,
): string[] {
  const a = flatten(saved, '', new Map());
  const b = flatten(requested, '', new Map());
  const fields = [...new Set([...a.keys(), ...b.keys()])].filter(
    (f) =>
      !harmlessChanges.has(f) && sectionsOf[kind].some((s) => f === s || f.startsWith(`${s}.`)),
  );
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
  return fields
    .filter((f) => JSON.stringify(a.get(f)) !== JSON.stringify(b.get(f)))
    .map((f) => `${f} ${show(a.get(f))} → ${show(b.get(f))}`);
}

const stepFolder = /^step-\d+$/;

/**
 * Makes `cfg.out` the folder of this training run, before any training work: takes its
 * exclusive lock (a stale lock of a dead process is taken over, with a message), removes the
 * leftovers of crashed saves (`.tmp-*`), and then
 * - with `--resume`: requires a checkpoint and refuses a saved config that differs in anything
 *   that changes the run, naming each field old → new;
 * - without: refuses a folder that already holds checkpoints unless `--overwrite`, which deletes
 *   them (step folders, `latest`, `report.json`).
 * Returns the lock (the caller releases it when the run ends; it is released at exit anyway).
 *
 * @example
 * ```ts
 * const lock = await prepareTrainingFolder(cfg, 'score', log);
 * try { … } finally { lock.release(); }
 * ```
 */
export async function prepareTrainingFolder(
  cfg: CifarConfig,
  kind: CheckpointKind,
  log: (line: string) => void,
): Promise<DirLock> {
  const lock = await unwrap(lockDir(cfg.out, log));
  try {
    const removed = await unwrap(removeLeftovers(cfg.out));
    if (removed.length > 0)
      log(
        `${cfg.out}: removed ${removed.length} leftover(s) of interrupted writes: ${removed.join(', ')}`,
      );
    const latest = await unwrap(latestCheckpoint(cfg.out));
    const steps = (await readdir(cfg.out)).filter((n) => stepFolder.test(n)).sort();
    if (cfg.inputs.resume) {
      if (latest === undefined) throw new Error(`--resume: no checkpoint in ${cfg.out}`);
      const saved = await unwrap(checkpointConfig(latest, kind));
      const changes = runChanges(saved, cfg, kind);
      if (changes.length > 0)
        throw new Error(
          `--resume: ${latest} was trained with another config; these changes would alter the run: ${changes.join('; ')} (only ${[...harmlessChanges].join(', ')} may change)`,
        );
    } else if (latest !== undefined || steps.length > 0) {
      const what = latest ?? join(cfg.out, steps[steps.length - 1]!);
      if (!cfg.inputs.overwrite)
        throw new Error(
          `${cfg.out} already holds checkpoints (newest ${what}): add --resume to continue that run, --overwrite to delete them and start again, or choose another --out`,
        );
      for (const n of [...steps, latestFile, 'report.json'])
        await rm(join(cfg.out, n), { recursive: true, force: true });
      log(`--overwrite: deleted ${steps.length} checkpoint(s) in ${cfg.out}`);
    }
    return lock;
  } catch (e) {
    lock.release();
    throw e;
  }
}
