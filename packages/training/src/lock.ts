import { unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errorMessage, type ScorekitError } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';

/**
 * The lock file {@link lockDir} creates in an output folder: JSON `{ pid, host, started }` of the
 * process that owns the folder.
 *
 * @example
 * ```ts
 * join('runs/score', lockFile); // 'runs/score/.lock'
 * ```
 */
export const lockFile = '.lock';

/**
 * A held folder lock: `release()` removes the lock file (idempotent; also done at process exit).
 *
 * @example
 * ```ts
 * const lock: DirLock = right; lock.release();
 * ```
 */
export interface DirLock {
  readonly file: string;
  /** Set when a lock of a dead process was taken over: that process's pid. */
  readonly tookOverFrom?: number | undefined;
  readonly release: () => void;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    // EPERM: the process exists but belongs to someone else
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const parseHolder = (text: string): Holder | undefined => {
  try {
    const v = JSON.parse(text) as Partial<Holder>;
    return Number.isInteger(v.pid) && typeof v.host === 'string'
      ? { pid: v.pid!, host: v.host, started: String(v.started) }
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Creates `file` holding `content` atomically: the content goes to a unique temporary file
 * that is then hard-linked to `file` (which fails if `file` exists). `true` when created,
 * `'exists'` when the name was taken, else the error message.
 */
async function createWithContent(file: string, content: string): Promise<true | 'exists' | string> {
  const temp = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await link(temp, file);
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists' : errorMessage(cause);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Takes the exclusive lock of output folder `dir` (created if needed) for this process: the file
 * `<dir>/.lock` is created with O_EXCL, so of two runs pointed at one folder exactly one gets it;
 * the other gets an `IoError` naming the holder's pid and start time. A lock left by a process
 * that no longer runs (same host, pid not alive: killed with `kill -9`, crashed) is taken over,
 * and `onTakeOver` is told whose it was. An unreadable lock file (a crash between create and write)
 * is taken over too. The lock is released by `release()` or when the process exits.
 *
 * @example
 * ```ts
 * const lock = await lockDir('runs/score', (msg) => console.error(msg))();
 * if (E.isRight(lock)) try { … } finally { lock.right.release(); }
 * ```
 */
export function lockDir(
  dir: string,
  onTakeOver: (message: string) => void = () => {},
): TE.TaskEither<ScorekitError, DirLock> {
  const file = join(dir, lockFile);
  const ioError = (message: string): ScorekitError => ({ _tag: 'IoError', file, message });
  return async () => {
    try {
      await mkdir(dir, { recursive: true });
    } catch (cause) {
      return E.left(ioError(`${dir}: cannot create the output folder: ${errorMessage(cause)}`));
    }
    const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    let tookOverFrom: number | undefined;
    const guard = `${file}.takeover`;
    for (let attempt = 0; attempt < 200; attempt++) {
      // create the lock with its content in one step (link fails if the name exists), so no
      // other taker ever reads a half-written lock and mistakes it for a crashed one
      const created = await createWithContent(file, `${JSON.stringify(me)}\n`);
      if (created === true) {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          process.off('exit', release);
          try {
            unlinkSync(file);
          } catch {
            // already gone (the folder was removed): nothing to release
          }
        };
        process.on('exit', release);
        return E.right({ file, tookOverFrom, release });
      }
      if (created !== 'exists')
        return E.left(ioError(`${file}: cannot create the lock: ${created}`));
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue; // released meanwhile: try again
      }
      const holder = parseHolder(text);
      if (holder && holder.pid === process.pid && holder.host === me.host)
        return E.left(ioError(`${dir}: already locked by this process (another run in it?)`));
      if (holder && (holder.host !== me.host || alive(holder.pid)))
        return E.left(
          ioError(
            `${dir}: in use by another run (pid ${holder.pid} on ${holder.host}, since ${holder.started}); wait for it to finish, stop it, or choose another --out`,
          ),
        );
      // stale: only the holder of the take-over guard may remove it, and only while it is still
      // the same stale file; everyone then races on the create above, which exactly one wins
      const guarded = await createWithContent(guard, `${JSON.stringify(me)}\n`);
      if (guarded !== true) {
        if (guarded !== 'exists')
          return E.left(ioError(`${guard}: cannot create the take-over guard: ${guarded}`));
        const other = parseHolder(await readFile(guard, 'utf8').catch(() => ''));
        // a guard left by a taker that died mid-take-over (its pid is gone) is removed
        if (other && other.host === me.host && !alive(other.pid))
          await unlink(guard).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
        continue;
      }
      try {
        const now = await readFile(file, 'utf8').catch(() => undefined);
        if (now !== text) continue; // changed hands meanwhile: look again
        await unlink(file).catch(() => undefined);
      } finally {
        await unlink(guard).catch(() => undefined);
      }
      tookOverFrom = holder?.pid ?? -1;
      onTakeOver(
        holder
          ? `${dir}: taking over the lock of process ${holder.pid} (started ${holder.started}), which is no longer running`
          : `${dir}: taking over an unreadable lock file (a crash while it was created)`,
      );
    }
    return E.left(ioError(`${dir}: could not take the lock (it changed hands repeatedly)`));
  };
}
