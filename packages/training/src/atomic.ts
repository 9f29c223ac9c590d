import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage, type ScorekitError } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';

let counter = 0;
/** A name suffix unique across processes and concurrent calls: pid, a counter and random bits. */
const unique = (): string =>
  `${process.pid}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

const codeOf = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException).code;

const ioError =
  (file: string, what: string) =>
  (cause: unknown): ScorekitError => ({
    _tag: 'IoError',
    file,
    message: `${file}: ${what}: ${errorMessage(cause)}`,
  });

/**
 * Writes `data` to `file` and fsyncs it before closing, so that a later rename publishes
 * complete bytes (the durability half of an atomic write; POSIX `fsync(2)`).
 *
 * @example
 * ```ts
 * await writeFileDurable('/tmp/x.bin', new Uint8Array([1, 2]))();
 * ```
 */
export function writeFileDurable(
  file: string,
  data: Uint8Array | string,
): TE.TaskEither<ScorekitError, void> {
  return TE.tryCatch(
    async () => {
      const handle = await open(file, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    ioError(file, 'could not write'),
  );
}

/**
 * Fsyncs a directory (POSIX `fsync(2)` on the directory) so that renames and new entries
 * inside it survive a crash. Platforms that cannot open a directory (Windows) are ignored.
 *
 * @example
 * ```ts
 * await fsyncDir('/tmp/run')();
 * ```
 */
export function fsyncDir(dir: string): TE.TaskEither<ScorekitError, void> {
  return TE.tryCatch(
    async () => {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(dir, 'r');
        await handle.sync();
      } catch {
        // Directory fsync is unsupported on some platforms; the rename is still atomic.
      } finally {
        await handle?.close();
      }
    },
    ioError(dir, 'could not fsync'),
  );
}

/**
 * Replaces `file` atomically: writes `.tmp-<name>-<unique>` in the same directory, fsyncs it, renames it
 * over `file` (POSIX rename(2) is atomic within one file system) and fsyncs the directory. Readers see
 * the old content or the new one, never a partial file.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/tmp/run/latest', 'step-000100\n')();
 * ```
 */
export function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
): TE.TaskEither<ScorekitError, void> {
  const tmp = join(dirname(file), `.tmp-${basename(file)}-${unique()}`);
  return async () => {
    const written = await writeFileDurable(tmp, data)();
    if (E.isLeft(written)) {
      await rm(tmp, { force: true });
      return written;
    }
    try {
      await rename(tmp, file);
    } catch (cause) {
      await rm(tmp, { force: true });
      return E.left(ioError(file, 'could not rename into place')(cause));
    }
    return fsyncDir(dirname(file))();
  };
}

const occupied = (cause: unknown) => {
  const code = codeOf(cause);
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR';
};

/** Renames directory `tmp` to `dir`, moving an existing `dir` aside first (retrying under races). */
async function placeDir(tmp: string, dir: string): Promise<void> {
  const parent = dirname(dir);
  const name = basename(dir);
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(tmp, dir);
      return;
    } catch (cause) {
      if (!occupied(cause) || attempt >= 1000) throw cause;
    }
    const aside = join(parent, `.tmp-${name}-old-${unique()}`);
    try {
      await rename(dir, aside);
    } catch (cause) {
      if (codeOf(cause) === 'ENOENT') continue; // another writer moved it first: retry
      throw cause;
    }
    try {
      await rename(tmp, dir);
      return;
    } catch (cause) {
      if (!occupied(cause)) throw cause;
    } finally {
      await rm(aside, { recursive: true, force: true });
    }
  }
}

/**
 * Removes what crashed atomic writes left in `dir`: its `.tmp-*` files and folders (temporary
 * checkpoint folders, moved-aside old ones, temporary files of {@link writeFileAtomic}). Call it
 * only while no other writer uses `dir` (e.g. holding {@link lockDir}'s lock). Returns the names
 * removed; a missing `dir` removes nothing.
 *
 * @example
 * ```ts
 * await removeLeftovers('runs/score')(); // Right(['.tmp-step-000100-a1B2c3'])
 * ```
 */
export function removeLeftovers(dir: string): TE.TaskEither<ScorekitError, string[]> {
  return async () => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (cause) {
      if (codeOf(cause) === 'ENOENT') return E.right([]);
      return E.left(ioError(dir, 'could not list')(cause));
    }
    const removed: string[] = [];
    for (const n of names.filter((n) => n.startsWith('.tmp-')).sort()) {
      try {
        await rm(join(dir, n), { recursive: true, force: true });
        removed.push(n);
      } catch (cause) {
        return E.left(
          ioError(join(dir, n), 'could not remove a leftover of a crashed write')(cause),
        );
      }
    }
    return E.right(removed);
  };
}

/**
 * Creates directory `dir` atomically (POSIX rename(2) of a fully written, fsynced temporary
 * directory): `fill(tmpDir)` writes the contents into a fresh temporary
 * directory in the same parent (`.tmp-<name>-<unique>`, created with the usual mode: 0777 minus the umask), which is fsynced and then renamed to
 * `dir`. If `fill` fails, the temporary directory is removed and `dir` is untouched, so no
 * partial directory is ever visible under its final name. An existing `dir` is replaced (moved
 * aside to `.tmp-<name>-old-…`, the new one renamed in, the old one removed; between those two
 * renames `dir` is briefly absent). Concurrent writers of one `dir` do not fail each other: a
 * rename that finds `dir` re-created by another writer retries, the last writer wins, and no
 * temporary or `.old` folder is left behind (a crash may leave `.tmp-*` entries, which
 * {@link removeLeftovers} deletes).
 *
 * @example
 * ```ts
 * await writeDirAtomic('/tmp/run/step-000100', (tmp) => writeFileDurable(`${tmp}/a.txt`, 'hi'))();
 * ```
 */
export function writeDirAtomic(
  dir: string,
  fill: (tmpDir: string) => TE.TaskEither<ScorekitError, void>,
): TE.TaskEither<ScorekitError, void> {
  const parent = dirname(dir);
  const name = basename(dir);
  return async () => {
    // mkdir, not mkdtemp: the folder gets the usual mode (0777 minus the umask), not 0700
    const tmp = join(parent, `.tmp-${name}-${unique()}`);
    try {
      await mkdir(tmp);
    } catch (cause) {
      return E.left(ioError(parent, 'could not create a temporary directory')(cause));
    }
    const filled = await fill(tmp)();
    if (E.isLeft(filled)) {
      await rm(tmp, { recursive: true, force: true });
      return filled;
    }
    try {
      await fsyncDir(tmp)();
      await placeDir(tmp, dir);
      await fsyncDir(parent)();
      return E.right(undefined);
    } catch (cause) {
      await rm(tmp, { recursive: true, force: true });
      return E.left(ioError(dir, 'could not rename into place')(cause));
    }
  };
}
